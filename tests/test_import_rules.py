"""The layering of ARCHITECTURE.md, checked on the source (an import-linter contract in a test):

- `labs` never imports planner, Textual or SQLite;
- `planner` outside `planner/tui` never imports Textual.

Every import counts, including those inside functions and `if TYPE_CHECKING:` blocks.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TEXTUAL = {"textual", "textual_plot"}
RULES = {
    "labs": {"planner", "sqlite3", "sqlite_utils"} | TEXTUAL,
    "planner": TEXTUAL,
}
EXEMPT = {"planner/tui"}


def imported_roots(source: str, module: str) -> set[str]:
    """Top-level package names a module's source imports (relative imports resolved to `module`'s package)."""
    roots = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                roots.add(module.split(".")[0])
            elif node.module:
                roots.add(node.module.split(".")[0])
    return roots


def _modules(package: str) -> list[Path]:
    files = sorted((ROOT / package).rglob("*.py"))
    return [f for f in files if not any(f.relative_to(ROOT).as_posix().startswith(e + "/") for e in EXEMPT)]


def violations(package: str) -> list[str]:
    out = []
    for path in _modules(package):
        rel = path.relative_to(ROOT)
        module = ".".join(rel.with_suffix("").parts)
        forbidden = imported_roots(path.read_text(encoding="utf-8"), module) & RULES[package]
        out += [f"{rel} imports {name}" for name in sorted(forbidden)]
    return out


@pytest.mark.parametrize("package", sorted(RULES))
def test_package_respects_its_import_rules(package):
    assert _modules(package), f"no modules found under {package}/"
    assert violations(package) == []


def test_the_checker_sees_every_import_form():
    source = ("import sqlite3\nimport textual.app as t\nfrom planner.store import Store\n"
              "def f():\n    from textual_plot import PlotWidget\n"
              "from . import sibling\n")
    assert imported_roots(source, "labs.thing") == {"sqlite3", "textual", "planner", "textual_plot", "labs"}
    assert imported_roots(source, "labs.thing") & RULES["labs"] == {"sqlite3", "textual", "planner", "textual_plot"}


def test_tui_is_exempt_and_the_rest_of_planner_is_checked():
    checked = {p.relative_to(ROOT).as_posix() for p in _modules("planner")}
    assert "planner/store.py" in checked
    assert not any(p.startswith("planner/tui/") for p in checked)
