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
