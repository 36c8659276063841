"""Writing a report to disk so a reader never sees half of one.

The text goes to a temporary file in the destination's folder (same file system), is flushed to disk,
then `os.replace`d over the destination in one step. If anything fails or the process is interrupted
before that step, the temporary file is removed and an existing report is left exactly as it was.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from planner.reports.errors import ReportError


def _mode_for(path: Path) -> int:
    """The replaced file's permissions, or what a plain `open()` would give (mkstemp's are owner-only)."""
    try:
        return path.stat().st_mode & 0o777
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def write_atomic(path: Path | str, text: str) -> Path:
    """Write `text` (UTF-8) to `path` atomically; an unwritable path raises ReportError naming it."""
    path = Path(path).expanduser()
    folder = path.parent
    if path.is_dir():
        raise ReportError(f"cannot write the report to {path}: it is a folder")
    if not folder.is_dir():
        raise ReportError(f"cannot write the report to {path}: the folder {folder} does not exist")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    except OSError as exc:
        raise ReportError(f"cannot write the report to {path}: {exc.strerror or exc}") from None
    try:
        os.chmod(tmp, _mode_for(path))
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException as exc:  # also KeyboardInterrupt: never leave the temporary file behind
        Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise ReportError(f"cannot write the report to {path}: {exc.strerror or exc}") from None
        raise
    return path
