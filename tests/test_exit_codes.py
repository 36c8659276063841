"""One exit-code table for every command (README, "Exit codes"): 2 when the command line is wrong and
nothing ran, 1 when the command ran and the answer is no or its data is unusable. Each row is a real
invocation on a fresh database; the kind of mistake, not the command, decides the code."""

from __future__ import annotations

import pytest

from tests.conftest import FIXTURE_CURRICULUM as ROOT  # small and stable: the fixture curriculum

UNKNOWN_NAMES = [  # (args, words of the one-line message)
    (["lab", "show", "nope"], "unknown lab 'nope'"),
    (["lab", "run", "nope"], "unknown lab 'nope'"),
    (["lab", "start", "nope"], "has no build task"),
    (["lab", "grade", "nope"], "has no build task"),
    (["quiz", "nope"], "unknown node 'nope'"),
    (["plan", "--role", "nope"], "unknown role 'nope'"),
    (["learner", "set", "Ada", "--role", "nope"], "unknown role 'nope'"),
    (["learner", "add", "Cy", "--role", "nope"], "unknown role 'nope'"),
    (["learner", "set", "Nobody", "--hours-per-week", "3"], "no learner named 'Nobody'"),
    (["nodes", "--learner", "Nobody"], "no learner named 'Nobody'"),
    (["plan", "--learner", "Nobody"], "no learner named 'Nobody'"),
    (["roles", "--learner", "Nobody"], "no learner named 'Nobody'"),
    (["report", "--learner", "Nobody"], "no learner named 'Nobody'"),
    (["report", "--learner", "Ada", "--node", "nope"], "unknown node 'nope'"),
    (["export-progress", "-", "--learner", "Nobody"], "no learner named 'Nobody'"),
]

BAD_COMMAND_LINES = [
    ["bogus"],
    ["--bogus"],
    ["lab", "run", "gd-linear", "--learner", "Ada", "--set", "lr=abc"],
    ["lab", "run", "gd-linear", "--learner", "Ada", "--set", "bogus=1"],
    ["lab", "run", "gd-linear", "--learner", "Ada", "--seed", "-1"],
    ["import-progress", "/nonexistent/progress.json"],
    ["quiz", "gradient-descent", "--learner", "Ada", "--answers", "/nonexistent/answers.json"],
]


@pytest.fixture
def cli(run_cli):
    run_cli("learner", "add", "Ada", data=ROOT)

    def run(*args: str):
        return run_cli(*args, data=ROOT)

    return run


@pytest.mark.parametrize("args,words", UNKNOWN_NAMES, ids=[" ".join(a) for a, _ in UNKNOWN_NAMES])
def test_a_name_that_is_not_there_exits_2_with_one_line(cli, args, words):
    result = cli(*args)
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ") and words in lines[0]
    assert result.stdout == ""


@pytest.mark.parametrize("args", BAD_COMMAND_LINES, ids=" ".join)
def test_a_wrong_command_line_exits_2(cli, args):
    result = cli(*args)
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("Error: ") and "Traceback" not in result.output


def test_several_learners_without_a_choice_is_a_usage_error_and_no_learner_yet_is_not(run_cli):
    none = run_cli("nodes", data=ROOT)
    assert none.exit_code == 1 and "pathlab learner add NAME" in none.stderr  # the state, not the line
    run_cli("learner", "add", "Ada", data=ROOT)
    run_cli("learner", "add", "Bob", data=ROOT)
    several = run_cli("plan", data=ROOT)
    assert several.exit_code == 2 and "choose one with --learner NAME" in several.stderr


def test_unusable_data_exits_1(cli, tmp_path):
    broken = tmp_path / "progress.json"
    broken.write_text("{ not json")
    result = cli("import-progress", str(broken))
    assert result.exit_code == 1 and str(broken) in result.stderr
    missing_folder = tmp_path / "no" / "r.md"
    assert cli("report", "--learner", "Ada", "-o", str(missing_folder)).exit_code == 1


def test_a_locked_lab_is_a_usage_error_and_a_failed_run_exits_1(cli):
    locked = cli("lab", "run", "gd-linear", "--learner", "Ada", "--set", "steps=1")
    assert locked.exit_code == 2 and "--practice" in locked.stderr  # nothing ran
    failed = cli("lab", "run", "gd-linear", "--learner", "Ada", "--set", "steps=1", "--practice")
    assert failed.exit_code == 1 and "Error" not in failed.stderr
    assert cli("nodes", "--learner", "Ada", "--json").exit_code == 0
