"""Writing a report to disk so a reader never sees half of one, and never losing what the path was.

A regular file (new or existing) is written atomically: the text goes to a temporary file in the
destination's folder (same file system), is flushed to disk, then `os.replace`d over the destination in
one step. If anything fails or the process is interrupted before that step, the temporary file is
removed and an existing report is left exactly as it was.

The path may also be
- a symlink: the file it points to is written (atomically, in *its* folder); the link stays a link;
- not a regular file (a terminal, `/dev/stdout`, `/dev/null`, a named pipe): it is written to directly,
  opened without truncation, because replacing a device node or a pipe with a file would break it (and as
  root it would succeed). A pipe that no program reads is refused rather than waited on for ever.
"""

from __future__ import annotations

import errno
import os
import stat
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


def _refuse(path: Path, why: str) -> ReportError:
    return ReportError(f"cannot write the report to {path}: {why}")


def _stat(path: Path) -> os.stat_result | None:
    """What `path` is once symlinks are followed; None when nothing is there yet."""
    try:
        return os.stat(path)
    except FileNotFoundError:
        return None
    except OSError as exc:  # a name too long, a loop of symlinks, a path through a file
        raise _refuse(path, exc.strerror or str(exc)) from None


def _write_to_special(path: Path, text: str) -> None:
    """Write into a device or pipe as it is (no temporary file, no rename, no truncation)."""
    try:
        # O_NONBLOCK only for the open: a fifo with no reader fails at once (ENXIO) instead of hanging.
        fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0))
    except OSError as exc:
        if exc.errno == errno.ENXIO:
            raise _refuse(path, "it is a pipe that no program is reading") from None
        raise _refuse(path, exc.strerror or str(exc)) from None
    try:
        os.set_blocking(fd, True)
        with os.fdopen(fd, "w", encoding="utf-8", newline="", closefd=True) as out:
            out.write(text)
            out.flush()
    except OSError as exc:
        raise _refuse(path, exc.strerror or str(exc)) from None


def write_atomic(path: Path | str, text: str) -> Path:
    """Write `text` (UTF-8) to `path` (see the module docstring); an unwritable path raises ReportError
    naming it. Returns the path as given."""
    path = Path(path).expanduser()
    found = _stat(path)
    if found is not None and stat.S_ISDIR(found.st_mode):
        raise _refuse(path, "it is a folder")
    if found is not None and not stat.S_ISREG(found.st_mode):
        _write_to_special(path, text)
        return path
    target = Path(os.path.realpath(path)) if path.is_symlink() else path  # replace the link's file, not the link
    folder = target.parent
    if not folder.is_dir():
        raise _refuse(path, f"the folder {folder} does not exist")
    try:  # a short temporary name: the destination's own name may already be near the 255-byte limit
        fd, tmp = tempfile.mkstemp(prefix=".pathlab-", suffix=".tmp", dir=folder)
    except OSError as exc:
        raise _refuse(path, exc.strerror or str(exc)) from None
    try:
        os.chmod(tmp, _mode_for(target))
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, target)
    except BaseException as exc:  # also KeyboardInterrupt: never leave the temporary file behind
        Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise _refuse(path, exc.strerror or str(exc)) from None
        raise
    return path
