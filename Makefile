# Two commands on a fresh clone: `make demo` (main job) and `make test` (whole suite).
# Installs are pinned by requirements/constraints.txt (the Dockerfile and CI use it too).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PIP_INSTALL := $(BIN)/pip install --progress-bar on -c requirements/constraints.txt

.PHONY: demo test bench lint clean

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

test: $(STAMP)
	$(BIN)/lint-imports
	$(BIN)/pytest -q

bench: $(STAMP)
	$(PIP_INSTALL) -e '.[test,bench]'
	for b in bench/bench_*.py; do $(BIN)/python $$b || exit 1; done

# Removes what make built, never planbot's data: the database and the participant secret
# live in PLANBOT_HOME (docs/deploy.md), and only the demo's output is removed from .planbot.
clean:
	rm -rf $(VENV) build *.egg-info .planbot/demo
