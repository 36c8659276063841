"""Shell completion (issue 19): the scripts `pathlab completion SHELL` prints, run by bash, zsh and fish
themselves, complete commands and PathLab's names: labs, nodes, roles, and the database's learners."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.shell_completion import ShellComplete

from planner.cli import main
from tests.conftest import FIXTURE_CURRICULUM

BIN = Path(sys.executable).parent  # the venv's bin, where `pathlab` is installed


def _values(args: list[str], incomplete: str, env_db: Path) -> list[str]:
    os.environ["_PATHLAB_COMPLETE"] = "in-process"
    try:
        comp = ShellComplete(main, {}, "pathlab", "_PATHLAB_COMPLETE")
        base = ["--db", str(env_db), "--data", str(FIXTURE_CURRICULUM)]
        return [c.value for c in comp.get_completions([*base, *args], incomplete)]
    finally:
        del os.environ["_PATHLAB_COMPLETE"]


@pytest.fixture
def db_with_learners(run_cli, db_path):
    for name in ("Ada", "Ann", "Bob"):
        run_cli("learner", "add", name)  # the fixture curriculum: a few nodes, labs and one role
    return db_path


def test_names_complete_from_the_curriculum_and_the_database(db_with_learners):
    db = db_with_learners
    assert _values(["lab", "run"], "gd", db) == ["gd-linear"]
    assert _values(["lab", "grade"], "", db) == ["capstone-ml-engineer", "ffnn-digits", "gd-linear",
                                                 "model-size"]
    assert _values(["quiz"], "ff", db) == ["ffnn"]
    assert _values(["plan", "--role"], "", db) == ["ml-engineer"]
    assert _values(["plan", "--learner"], "A", db) == ["Ada", "Ann"]
    assert _values(["learner", "delete"], "B", db) == ["Bob"]
    assert _values(["report", "--node"], "gr", db) == ["gradient-descent"]
    assert _values([], "la", db) == ["lab"]


def test_completing_never_creates_a_database(tmp_path):
    missing = tmp_path / "none.sqlite"
    assert _values(["plan", "--learner"], "", missing) == []
    assert not missing.exists()


def _shell_env(db: Path) -> dict[str, str]:
    return {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}", "PATHLAB_DB": str(db),
            "PATHLAB_DATA": str(FIXTURE_CURRICULUM)}


def _script(shell: str, tmp_path: Path) -> Path:
    from click.testing import CliRunner

    out = CliRunner().invoke(main, ["completion", shell], catch_exceptions=False).stdout
    path = tmp_path / f"pathlab.{shell}"
    path.write_text(out)
    return path


SHELL_RUNS = {
    # each shell's own completion entry point, driven without a terminal
    "bash": 'source {s}; COMP_WORDS=(pathlab lab run gd); COMP_CWORD=3; _pathlab_completion pathlab; '
            'echo "${{COMPREPLY[@]}}"; COMPREPLY=(); COMP_WORDS=(pathlab plan --learner A); COMP_CWORD=3; '
            '_pathlab_completion pathlab; echo "${{COMPREPLY[@]}}"',
    "zsh": 'compdef() {{ : }}; source {s}; _describe() {{ print -l -- ${{(P)3}}; }}; '
           'compadd() {{ print -l -- ${{(P)${{@[-1]}}}}; }}; words=(pathlab lab run gd); CURRENT=4; '
           '_pathlab_completion; words=(pathlab plan --learner A); CURRENT=4; _pathlab_completion',
    "fish": 'source {s}; complete --do-complete "pathlab lab run gd"; '
            'complete --do-complete "pathlab plan --learner A"',
}


@pytest.mark.parametrize("shell", sorted(SHELL_RUNS))
def test_the_shells_own_scripts_complete_labs_and_learners(shell, db_with_learners, tmp_path):
    if shutil.which(shell) is None:
        pytest.skip(f"{shell} is not installed here (.ci/run installs it)")
    script = _script(shell, tmp_path)
    argv = [shell, "-f", "-c"] if shell == "zsh" else [shell, "-c"]
    out = subprocess.run(argv + [SHELL_RUNS[shell].format(s=script)], capture_output=True, text=True,
                         env=_shell_env(db_with_learners), timeout=60).stdout
    assert "gd-linear" in out
    assert "Ada" in out and "Ann" in out and "Bob" not in out
