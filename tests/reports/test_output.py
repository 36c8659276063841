"""write_atomic: a report file is either the old one or the new one, never half of either."""

from __future__ import annotations

import os
import tempfile

import pytest

from planner.reports import ReportError, write_atomic


def test_writes_and_replaces(tmp_path):
    target = tmp_path / "r.md"
    write_atomic(target, "one\n")
    write_atomic(target, "two ✓\n")
    assert target.read_text(encoding="utf-8") == "two ✓\n"
    assert os.listdir(tmp_path) == ["r.md"]


@pytest.mark.parametrize("failure", [KeyboardInterrupt, OSError(28, "No space left on device")])
def test_an_interrupted_write_keeps_the_old_report(tmp_path, monkeypatch, failure):
    target = tmp_path / "r.html"
    target.write_text("good report")

    def broken_fsync(fd):
        raise failure

    monkeypatch.setattr(os, "fsync", broken_fsync)
    with pytest.raises(ReportError if isinstance(failure, OSError) else KeyboardInterrupt):
        write_atomic(target, "half a rep")
    assert target.read_text() == "good report"
    assert os.listdir(tmp_path) == ["r.html"]  # no temporary file left behind


def test_unwritable_places_are_named(tmp_path):
    with pytest.raises(ReportError, match=r"missing/r\.md.*does not exist"):
        write_atomic(tmp_path / "missing" / "r.md", "x")
    with pytest.raises(ReportError, match="is a folder"):
        write_atomic(tmp_path, "x")


def test_a_folder_without_write_permission_is_named(tmp_path, monkeypatch):
    def refused(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(tempfile, "mkstemp", refused)  # as root, chmod would not stop the write
    with pytest.raises(ReportError, match=r"cannot write the report to .*r\.md: Permission denied"):
        write_atomic(tmp_path / "r.md", "x")


def test_permissions_are_those_of_a_normal_file_or_the_replaced_one(tmp_path):
    umask = os.umask(0o022)
    try:
        fresh = write_atomic(tmp_path / "new.md", "x")
        assert fresh.stat().st_mode & 0o777 == 0o644
        kept = tmp_path / "shared.md"
        kept.write_text("old")
        kept.chmod(0o664)
        write_atomic(kept, "new")
        assert kept.stat().st_mode & 0o777 == 0o664
    finally:
        os.umask(umask)


def test_a_symlink_is_written_through_and_stays_a_link(tmp_path):
    """Before: `-o link.md` replaced the link with a file, and the file it pointed to kept the old report."""
    (tmp_path / "reports").mkdir()
    real = tmp_path / "reports" / "real.md"
    real.write_text("old")
    link = tmp_path / "link.md"
    link.symlink_to(real)
    write_atomic(link, "new ✓\n")
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert real.read_text(encoding="utf-8") == "new ✓\n"
    assert sorted(os.listdir(tmp_path / "reports")) == ["real.md"] and sorted(os.listdir(tmp_path)) == ["link.md", "reports"]


def test_a_dangling_symlink_creates_its_target(tmp_path):
    link = tmp_path / "link.md"
    link.symlink_to(tmp_path / "later.md")
    write_atomic(link, "x")
    assert link.is_symlink() and (tmp_path / "later.md").read_text() == "x"


def test_a_device_is_written_to_not_replaced(tmp_path):
    """Before: `-o /dev/stdout` (as root) renamed a regular file over the device node. Here a link to
    /dev/null stands for any device the test may not replace: it must stay a character device."""
    import stat

    link = tmp_path / "null.md"
    link.symlink_to(os.devnull)
    write_atomic(link, "into the void\n")
    assert stat.S_ISCHR(os.stat(os.devnull).st_mode) and link.is_symlink()
    assert os.listdir(tmp_path) == ["null.md"]


def test_a_terminal_gets_the_text_in_place(tmp_path):
    import pty
    import stat

    leader, follower = pty.openpty()
    try:
        tty = os.ttyname(follower)
        write_atomic(tty, "on the screen\n")
        assert stat.S_ISCHR(os.stat(tty).st_mode)
        assert b"on the screen" in os.read(leader, 1024)
    finally:
        os.close(leader)
        os.close(follower)


def test_a_fifo_is_written_into_and_kept(tmp_path):
    import stat

    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)  # a reader is there; the pipe's buffer holds the text
    try:
        write_atomic(fifo, "through the pipe ✓\n")
        assert os.read(reader, 4096) == "through the pipe ✓\n".encode()
    finally:
        os.close(reader)
    assert stat.S_ISFIFO(os.stat(fifo).st_mode) and os.listdir(tmp_path) == ["pipe"]


def test_a_fifo_nobody_reads_is_refused_at_once(tmp_path):
    """Waiting for a reader would hang the command for ever; say so instead, and leave the pipe alone."""
    import stat

    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(ReportError, match=r"pipe.*: it is a pipe that no program is reading"):
        write_atomic(fifo, "x")
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)


def test_a_name_too_long_is_named(tmp_path):
    with pytest.raises(ReportError, match=r"cannot write the report to .*r{300}\.md: File name too long"):
        write_atomic(tmp_path / ("r" * 300 + ".md"), "x")
