"""The source distribution (issue 19): built with the project's own backend, it holds the LICENSE and
every file the README links to or names by path, so a reader of the sdist can follow every link."""

from __future__ import annotations

import re
import tarfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LINK = re.compile(r"\]\(([^)#:\s]+)\)")  # [text](relative/path), not URLs or anchors
NAMED = re.compile(r"`((?:[\w.-]+/)*[\w.-]+\.(?:md|svg|json|toml|py|txt))`")  # `docs/RELIABILITY.md`


def readme_paths() -> set[str]:
    text = (ROOT / "README.md").read_text()
    found = set(LINK.findall(text)) | set(NAMED.findall(text))
    return {p for p in found if (ROOT / p).is_file()}  # names of files in the repo, not examples


def test_the_sdist_holds_the_license_and_everything_the_readme_links(tmp_path):
    from hatchling.builders.sdist import SdistBuilder

    (archive,) = SdistBuilder(str(ROOT)).build(directory=str(tmp_path))
    names = {n.split("/", 1)[1] for n in tarfile.open(archive).getnames() if "/" in n}
    linked = readme_paths()
    assert {"benchmarks/RESULTS.md", "docs/RELIABILITY.md", "ARCHITECTURE.md"} <= linked
    assert "LICENSE" in names and "pyproject.toml" in names
    assert sorted(linked - names) == []
    assert "MIT License" in (ROOT / "LICENSE").read_text()
