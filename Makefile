# Two commands on a fresh clone: `make demo` (main job) and `make test` (whole suite).
# Installs are pinned by requirements/constraints.txt (the Dockerfile and CI use it too).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PIP_INSTALL := $(BIN)/pip install --progress-bar on -c requirements/constraints.txt

.PHONY: demo test test-fast bench lint clean

$(STAMP): pyproject.toml requirements/constraints.txt
	@echo "==> planbot: creating the virtual environment $(VENV) (first run only)"
	$(PYTHON) -m venv $(VENV)
	@echo "==> planbot: upgrading pip"
	$(BIN)/pip install --quiet --upgrade pip
	@echo "==> planbot: installing planbot, its runtime dependencies and the test tools"
	@echo "    (first run: about 50 packages, a few minutes on a slow link; pip's progress follows)"
	$(PIP_INSTALL) -e '.[test]'
	touch $(STAMP)
	@echo "==> planbot: installed in $(VENV)"

demo: $(STAMP)
	@echo "==> planbot demo: local Discord and Slack servers, the real bots, a simulated round"
	$(BIN)/planbot demo

# The layer contracts, the lint (ruff) and the types (mypy), then the whole suite under
# coverage (subprocesses included), which must cover at least 90 % of bot/, storage/ and
# integrations/ (pyproject.toml, [tool.coverage]).
test: $(STAMP)
	$(BIN)/lint-imports
	$(BIN)/ruff check
	$(BIN)/mypy
	$(BIN)/coverage erase
	$(BIN)/coverage run -m pytest -q
	$(BIN)/coverage combine -q
	$(BIN)/coverage report

# The inner loop: the suite without the end-to-end tests (marker e2e), no lint, no coverage.
test-fast: $(STAMP)
	$(BIN)/pytest -q -m "not e2e"

# The lint and the type check alone (configured in pyproject.toml).
lint: $(STAMP)
	$(BIN)/ruff check
	$(BIN)/mypy

bench: $(STAMP)
	$(PIP_INSTALL) -e '.[test,bench]'
	for b in bench/bench_*.py; do $(BIN)/python $$b || exit 1; done

# Removes what make built and what `make demo` wrote (PLANBOT_HOME/demo), never planbot's
# data: the database and the participant secret stay in PLANBOT_HOME (docs/deploy.md).
clean:
	rm -rf $(VENV) build *.egg-info "$${PLANBOT_HOME:-$$HOME/.local/share/planbot}/demo"
