"""Shared fixtures. Every test runs with PATHLAB_DB and the platform data folder inside its tmp_path,
so nothing a test does can touch the real user's database."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

# One BLAS thread per test process, as every lab worker and grader already runs (labs.runner): the suite
# runs several processes on two cores (pytest-xdist), and NumPy's own threads would only contend. Set
# before anything imports NumPy.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import pytest  # noqa: E402

FIXTURES = Path(__file__).parent / "fixtures"
FIXTURE_CURRICULUM = FIXTURES / "curriculum"
FIXTURE_LAB_IDS = {"model-size", "gd-linear", "ffnn-digits", "capstone-ml-engineer"}


@pytest.fixture(autouse=True)
def _isolated_user_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATHLAB_DB", str(tmp_path / "user-data" / "pathlab.sqlite"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "db" / "pathlab.sqlite"


@pytest.fixture
def store(db_path: Path):
    from planner.store import Store

    s = Store.open(db_path)
    yield s
    s.close()


@pytest.fixture
def fixture_root() -> Path:
    """A small valid curriculum: large-models -> gradient-descent -> ffnn, applications, ml-engineer."""
    return FIXTURE_CURRICULUM


@pytest.fixture
def curriculum(fixture_root: Path):
    from planner.curriculum import load_curriculum

    return load_curriculum(fixture_root, lab_ids=FIXTURE_LAB_IDS)


@pytest.fixture
def curriculum_copy(tmp_path: Path) -> Path:
    """A writable copy of the fixture curriculum, for tests that break it on purpose."""
    root = tmp_path / "curriculum-copy"
    shutil.copytree(FIXTURE_CURRICULUM, root)
    return root


@pytest.fixture
def run_cli(db_path: Path, fixture_root: Path):
    """Run `pathlab ARGS` in-process against the tmp db and the fixture curriculum."""
    from click.testing import CliRunner

    from planner.cli import main

    def run(*args: str, db: Path | None = None, data: Path | None = None):
        base = ["--db", str(db or db_path), "--data", str(data or fixture_root)]
        return CliRunner().invoke(main, base + list(args), catch_exceptions=False)

    return run
