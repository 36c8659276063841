"""planner: the PathLab application — curriculum, progress, planning, storage, reports, CLI and TUI.

Imports flow one way: UI (cli, tui) -> domain (curriculum, progress, plan, service, reports) -> storage
(store), and planner -> labs, never the reverse.
"""

from labs import __version__

__all__ = ["__version__"]
