"""Fixtures for the TUI tests: a temp database, the UI's own small curriculum, and app factories.

Nothing here touches the user's data folder (tests/conftest.py also points PATHLAB_DB into tmp_path).
The `async def` tests run under pytest-asyncio (`asyncio_mode = "auto"` in pyproject.toml), as
Textual's testing guide does.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any, Callable

import pytest

FIXTURE = Path(__file__).parent / "fixture"
TODAY = date(2026, 1, 5)


@pytest.fixture
def ui_curriculum() -> Any:
    from planner.curriculum import load_curriculum

    return load_curriculum(FIXTURE)


@pytest.fixture
def ui_store(tmp_path: Path) -> Any:
    from planner.store import Store

    store = Store.open(tmp_path / "ui.sqlite")
    yield store
    store.close()


@pytest.fixture
def ada(ui_store: Any) -> Any:
    learner = ui_store.add_learner("Ada", target_role="ml-engineer", hours_per_week=5)
    ui_store.set_state("last_learner", str(learner.id))
    return learner


@pytest.fixture
def make(ui_store: Any, ui_curriculum: Any) -> Callable[..., Any]:
    """make(runner=None) -> a PathLabApp over the temp store, with a fixed 'today'."""
    from planner.tui import make_app

    def build(runner: Any = None) -> Any:
        app = make_app(ui_store, ui_curriculum, runner=runner)
        app.today = lambda: TODAY
        app.prewarm_labs = False  # a spare worker per test would only cost CPU (tested in test_prewarm)
        return app

    return build
