"""The house rules the code's shape must keep (the project's contribution rules): no class
longer than 200 lines, no function with a cyclomatic complexity above 15 (ruff's mccabe rule,
C901, configured in pyproject.toml), in bot/, storage/ and integrations/."""

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("bot", "storage", "integrations")
MAX_CLASS_LINES = 200


def _classes(path: Path) -> list[tuple[str, int]]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    return [(f"{path.relative_to(ROOT)} {node.name}",
             (node.end_lineno or node.lineno) - node.lineno + 1)
            for node in ast.walk(tree) if isinstance(node, ast.ClassDef)]


def test_no_class_is_longer_than_200_lines():
    classes = [c for package in PACKAGES for path in sorted((ROOT / package).rglob("*.py"))
               for c in _classes(path)]
    assert len(classes) > 50  # the walk found the code
    too_long = [f"{name}: {lines} lines" for name, lines in classes
                if lines > MAX_CLASS_LINES]
    assert not too_long, "\n".join(too_long)


def test_no_function_is_more_complex_than_15():
    ruff = Path(sys.executable).with_name("ruff")
    result = subprocess.run([str(ruff), "check", "--select", "C901", *PACKAGES], cwd=ROOT,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
