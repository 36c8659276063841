"""The layering of ARCHITECTURE.md, checked on the source (an import-linter contract in a test):

- `labs` never imports planner, Textual or SQLite;
- `planner` outside `planner/tui` never imports Textual;
- imports go one way inside `planner` too: no domain or storage module imports the front doors
  (`planner.cli`, `planner.tui`);
- `planner/store.py` owns every SQL statement: no other module imports `sqlite_utils`, and the pure
  modules (curriculum, records, progress, plan, quiz) import neither the store, the service nor SQLite.

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


def imported_modules(source: str, module: str) -> set[str]:
    """Dotted names a module's source imports (`from a.b import c` gives a.b and a.b.c; relative
    imports resolved against `module`'s package)."""
    names = set()
    package = module.split(".")[:-1]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package[: len(package) - node.level + 1] + ([base] if base else []))
            names.add(base)
            names |= {f"{base}.{alias.name}" for alias in node.names}
    return names


def _planner_modules() -> dict[str, set[str]]:
    """Every planner module's path (relative, posix) -> the dotted names it imports."""
    out = {}
    for path in sorted((ROOT / "planner").rglob("*.py")):
        rel = path.relative_to(ROOT)
        module = ".".join(rel.with_suffix("").parts)
        out[rel.as_posix()] = imported_modules(path.read_text(encoding="utf-8"), module)
    return out


def _under(name: str, packages: set[str]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in packages)


FRONT_DOORS = {"planner.cli", "planner.tui"}
PURE = {"planner/curriculum.py", "planner/records.py", "planner/progress.py", "planner/plan.py", "planner/quiz.py"}


def test_the_domain_never_imports_the_front_doors():
    found = [f"{path} imports {name}" for path, names in _planner_modules().items()
             if not path.startswith(("planner/cli/", "planner/tui/"))
             for name in sorted(names) if _under(name, FRONT_DOORS)]
    assert found == []


def test_only_the_store_speaks_sql():
    modules = _planner_modules()
    assert "planner/store.py" in modules and {"sqlite_utils"} & modules["planner/store.py"]
    found = [f"{path} imports {name}" for path, names in modules.items() if path != "planner/store.py"
             for name in sorted(names) if _under(name, {"sqlite_utils"})]
    found += [f"{path} imports {name}" for path in sorted(PURE) for name in sorted(modules[path])
              if _under(name, {"planner.store", "planner.service", "sqlite3", "sqlite_utils"})]
    assert found == []


def test_the_dotted_checker_resolves_every_form():
    source = ("import sqlite3\nfrom planner.store import Store\nfrom . import sibling\nfrom ..cli import main\n"
              "def f():\n    import planner.tui.app\n")
    names = imported_modules(source, "planner.reports.data")
    assert {"sqlite3", "planner.store", "planner.store.Store", "planner.reports.sibling", "planner.cli",
            "planner.cli.main", "planner.tui.app"} <= names
    assert _under("planner.tui.app", FRONT_DOORS) and not _under("planner.tuition", FRONT_DOORS)


CLI_WIRING = {"planner/cli/__init__.py", "planner/cli/demo.py"}  # open the store and hand it to the service/app


def test_cli_commands_reach_the_database_only_through_the_service():
    found = [f"{path} imports {name}" for path, names in _planner_modules().items()
             if path.startswith("planner/cli/") and path not in CLI_WIRING
             for name in sorted(names) if _under(name, {"planner.store", "sqlite3", "sqlite_utils"})]
    assert found == []
