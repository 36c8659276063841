"""planner.tui: the Textual front door. `make_app(store, curriculum, runner=...)` builds the app.

Only this package imports Textual; it calls the domain (`planner.service`, `planner.plan`, ...) and shows.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from planner.tui.app import PathLabApp


def make_app(store: Any, curriculum: Any, runner: Any = None) -> "PathLabApp":
    """See `planner.tui.app.make_app` (imported here lazily so `import planner.tui` stays cheap)."""
    from planner.tui.app import make_app as _make_app

    return _make_app(store, curriculum, runner)


__all__ = ["make_app"]
