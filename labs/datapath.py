"""Where the bundled data lives, in a source checkout and in an installed wheel alike.

The wheel carries `data/` inside the `labs` package as `labs/_data` (see pyproject.toml); a checkout or
editable install reads `data/` beside the packages. Everything that reads bundled files goes through here.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path


@cache
def data_dir() -> Path:
    here = Path(__file__).resolve().parent
    for candidate in (here / "_data", here.parent / "data"):
        if (candidate / "curriculum").is_dir():
            return candidate
    raise FileNotFoundError(
        f"PathLab's bundled data was not found (looked in {here / '_data'} and {here.parent / 'data'}); "
        "reinstall the package"
    )
