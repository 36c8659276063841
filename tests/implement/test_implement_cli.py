"""`pathlab lab start / grade / hint / solution` on a temporary database, through click's CliRunner."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from labs.implement import get_task, scaffold_source, solution_source
from planner.cli import main
from planner.progress import node_progress
from planner.curriculum import load_curriculum
from planner.store import Store

LAB = "ffnn-digits"
JSON_KEYS = {"attempt_id", "lab", "learner", "mode", "status", "passed", "score", "checks", "code_hash",
             "duration_s"}
CHECK_KEYS = {"id", "title", "points", "max_points", "status", "message"}


@pytest.fixture
def cli(tmp_path: Path):
    db = tmp_path / "pathlab.sqlite"
    runner = CliRunner()

    def invoke(*args: str):
        return runner.invoke(main, ["--db", str(db), *args], catch_exceptions=False)

    assert invoke("learner", "add", "Ada").exit_code == 0
    invoke.db = db
    return invoke


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    return tmp_path / "ws"


def test_start_writes_the_scaffold_and_never_overwrites_without_force(cli, workspace):
    done = cli("lab", "start", LAB, "--dir", str(workspace))
    path = workspace / get_task(LAB).filename
    assert done.exit_code == 0 and str(path) in done.output
    assert path.read_text() == scaffold_source(LAB)
    path.write_text("# my work\n")
    refused = cli("lab", "start", LAB, "--dir", str(workspace))
    assert refused.exit_code == 1 and "already exists" in refused.output and "--force" in refused.output
    assert path.read_text() == "# my work\n"


def test_start_with_force_keeps_the_old_file_as_a_backup(cli, workspace):
    cli("lab", "start", LAB, "--dir", str(workspace))
    path = workspace / get_task(LAB).filename
    path.write_text("# my work\n")
    done = cli("lab", "start", LAB, "--dir", str(workspace), "--force")
    backups = list(workspace.glob(f"{path.name}.*.bak"))
    assert done.exit_code == 0 and len(backups) == 1
    assert backups[0].read_text() == "# my work\n" and str(backups[0]) in done.output
    assert path.read_text() == scaffold_source(LAB)


def test_grade_json_records_an_implement_attempt_with_the_code_hash(cli, workspace):
    cli("lab", "start", LAB, "--dir", str(workspace))
    failed = cli("lab", "grade", LAB, "--dir", str(workspace), "--json")
    out = json.loads(failed.output)
    assert failed.exit_code == 1
    assert set(out) == JSON_KEYS and all(set(c) == CHECK_KEYS for c in out["checks"])
    assert (out["lab"], out["learner"], out["mode"], out["status"], out["score"]) == (LAB, "Ada", "implement",
                                                                                     "failed", 0)
    path = workspace / get_task(LAB).filename
    path.write_text(solution_source(LAB))
    passed = cli("lab", "grade", LAB, "--dir", str(workspace), "--json")
    out = json.loads(passed.output)
    assert passed.exit_code == 0 and out["passed"] and out["score"] == 100
    assert out["code_hash"] == hashlib.sha256(path.read_bytes()).hexdigest()
    with Store.open(cli.db) as store:
        attempt = store.attempt(out["attempt_id"])
        assert (attempt.mode, attempt.status, attempt.code_hash) == ("implement", "passed", out["code_hash"])
        assert attempt.node_id == "ffnn" and attempt.dataset_hash
        assert [c.id for c in store.attempt_checks(attempt.id)] == [c["id"] for c in out["checks"]]
        progress = node_progress(load_curriculum(), store.attempts(attempt.learner_id), [])
    # a build pass alone is proficient; mastered also needs a passing experiment (progress.mastery_for_node)
    assert progress["ffnn"].mastery == "proficient" and progress["ffnn"].build_passed_at is not None


def test_grade_shows_checks_in_stage_order_with_messages(cli, workspace):
    cli("lab", "start", LAB, "--dir", str(workspace))
    done = cli("lab", "grade", LAB, "--dir", str(workspace))
    assert done.exit_code == 1
    assert done.output.index("linear_forward: shapes") < done.output.index("linear_backward: gradients")
    assert "linear_forward is not written yet" in done.output and "FAILED: 0/100" in done.output


def test_grade_without_a_file_or_for_an_unknown_lab_says_what_to_do(cli, workspace):
    missing = cli("lab", "grade", LAB, "--dir", str(workspace))
    assert missing.exit_code == 1 and f"pathlab lab start {LAB}" in missing.output
    unknown = cli("lab", "grade", "no-such-lab", "--dir", str(workspace))
    assert unknown.exit_code == 2 and "labs that do: ffnn-digits" in unknown.output


def test_hints_come_one_at_a_time_and_n_picks_one(cli, workspace):
    first = cli("lab", "hint", LAB, "--dir", str(workspace))
    second = cli("lab", "hint", LAB, "--dir", str(workspace))
    assert first.output.startswith("Hint 1 of ") and second.output.startswith("Hint 2 of ")
    assert cli("lab", "hint", LAB, "4", "--dir", str(workspace)).output.startswith("Hint 4 of ")
    assert cli("lab", "hint", LAB, "--dir", str(workspace)).output.startswith("Hint 5 of ")
    wrong = cli("lab", "hint", LAB, "99", "--dir", str(workspace))
    assert wrong.exit_code == 1 and "choose N from 1 to" in wrong.output


def test_solution_opens_only_after_an_implement_pass(cli, workspace):
    refused = cli("lab", "solution", LAB)
    assert refused.exit_code == 1 and "after your own code passes" in refused.output
    workspace.mkdir()
    (workspace / get_task(LAB).filename).write_text(solution_source(LAB))
    assert cli("lab", "grade", LAB, "--dir", str(workspace), "--json").exit_code == 0
    shown = cli("lab", "solution", LAB)
    assert shown.exit_code == 0 and shown.output == solution_source(LAB)


def test_start_notes_a_locked_node_for_the_learner(cli, workspace):
    done = cli("lab", "start", LAB, "--learner", "Ada", "--dir", str(workspace))
    assert done.exit_code == 0
    assert "Note: Feed-forward networks is still locked for Ada" in done.output


def test_watch_grades_again_only_when_the_content_changes(monkeypatch, tmp_path):
    from types import SimpleNamespace

    from planner.cli import lab_implement

    path = tmp_path / "f.py"
    path.write_text("a")
    graded = []
    ticks = iter(["touch", "edit", "stop"])

    def sleep(_seconds):
        tick = next(ticks)
        if tick == "touch":
            path.write_text("a")  # new mtime, same bytes: no new attempt
        elif tick == "edit":
            path.write_text("b")
        else:
            raise KeyboardInterrupt

    def once():
        graded.append(path.read_text())
        return SimpleNamespace(code_hash=path.read_text())

    monkeypatch.setattr(lab_implement.time, "sleep", sleep)
    first = SimpleNamespace(code_hash=hashlib.sha256(b"a").hexdigest())
    last = lab_implement._watch(path, once, first, quiet=True)
    assert graded == ["b"] and last.code_hash == "b"


def test_the_attempt_records_how_the_code_was_confined_and_reports_show_it(cli, workspace):
    workspace.mkdir()
    (workspace / get_task(LAB).filename).write_text(solution_source(LAB))
    graded = cli("lab", "grade", LAB, "--dir", str(workspace))
    assert graded.exit_code == 0
    sandbox = [line for line in graded.output.splitlines() if line.startswith("Sandbox:")]
    assert len(sandbox) == 1  # one check-free line under the grade
    with Store.open(cli.db) as store:
        [attempt] = store.attempts(store.list_learners()[0].id)
    assert attempt.feedback.endswith(sandbox[0]) and "sandbox_unconfined" in attempt.metrics
    for fmt in ("md", "html"):
        report = cli("report", "--format", fmt)
        assert report.exit_code == 0 and sandbox[0].split(";")[0].split("(")[0] in report.output
