"""planner.tui: the Textual front door. `make_app(store, curriculum, runner=...)` builds the app.

Only this package imports Textual; it calls the domain (`planner.service`, `planner.plan`, ...) and shows.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from planner.curriculum import Curriculum
    from planner.store import Store
    from planner.tui.app import PathLabApp


def make_app(store: Store, curriculum: Curriculum, runner: Callable[..., Any] | None = None) -> PathLabApp:
    """See `planner.tui.app.make_app` (imported here lazily so `import planner.tui` stays cheap)."""
    from planner.tui.app import make_app as _make_app

    return _make_app(store, curriculum, runner)


__all__ = ["make_app"]
