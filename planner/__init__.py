"""planner: the PathLab application — curriculum, progress, planning, storage, reports, CLI and TUI.

Imports flow one way: UI (cli, tui) -> domain (curriculum, progress, plan, service, reports) -> storage
(store), and planner -> labs, never the reverse.
"""

try:
    from labs import __version__
except ImportError:  # another project's `labs` shadows ours: `pathlab` says so in one line (cli.check_labs_is_ours)
    __version__ = "unknown"

__all__ = ["__version__"]
