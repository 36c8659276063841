"""Evidence in the report (issue 13 §4): what the learner built, when, after how many gradings, with what
help, test-outs marked, and with --with-code the passing file itself. Attempts are recorded through the
store (one graded for real by the sandboxed grader), hint and solution views through the commands' door."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta

import jsonschema
import pytest
from click.testing import CliRunner

from labs.implement import get_task, solution_source
from planner.cli import main
from planner.reports import build_report_data, render
from planner.reports.jsonreport import SCHEMA_PATH
from planner.store import Store

from .conftest import record_quiz

LAB, NODE = "ffnn-digits", "ffnn"
T0 = datetime(2026, 4, 1, 9, 0, tzinfo=UTC)


def record_build(store, learner_id, path, *, passed: bool, when: datetime) -> int:
    """A build attempt as planner.implement.grade_and_record writes it: the file's path and sha256."""
    code_hash = hashlib.sha256(path.read_bytes()).hexdigest()
    attempt_id = store.start_attempt(learner_id, LAB, NODE, mode="implement", params={"file": str(path)},
                                     seed=None, pid=None, app_version="test", code_hash=code_hash, started_at=when)
    store.finish_attempt(attempt_id, status="passed" if passed else "failed", score=100.0 if passed else 60.0,
                         passed=passed, metrics={}, feedback="Sandbox: test", checks=[], duration_s=2.0,
                         finished_at=when + timedelta(seconds=2))
    return attempt_id


@pytest.fixture
def built(store, tmp_path, full_graph):
    """Ada built ffnn while it was locked: one failing grading, hints 1 and 2 (1 twice), then a pass,
    the quiz, and after the pass the solution and hint 3."""
    ada = store.add_learner("Ada", target_role="ml-engineer", hours_per_week=5)
    path = tmp_path / "work" / get_task(LAB).filename
    path.parent.mkdir()
    path.write_text("def linear_forward(x, W, b):\n    return x @ W  # <b> & ``` inside\n", encoding="utf-8")
    record_build(store, ada.id, path, passed=False, when=T0)
    for number, minutes in ((1, 1), (2, 2), (1, 3)):
        store.record_help_view(ada.id, LAB, "hint", number, viewed_at=T0 + timedelta(minutes=minutes))
    path.write_text("def linear_forward(x, W, b):\n    return x @ W + b  # <b> & ``` inside\n", encoding="utf-8")
    passing = record_build(store, ada.id, path, passed=True, when=T0 + timedelta(minutes=10))
    store.record_help_view(ada.id, LAB, "solution", viewed_at=T0 + timedelta(minutes=20))
    store.record_help_view(ada.id, LAB, "hint", 3, viewed_at=T0 + timedelta(minutes=21))
    record_quiz(store, ada.id, NODE, 1.0, T0 + timedelta(minutes=30))
    return store, ada, path, passing


def ffnn(data):
    return next(n for n in data.nodes() if n.id == NODE)


def test_a_completed_build_node_says_what_was_built_and_with_what_help(built, full_graph):
    store, ada, path, passing = built
    node = ffnn(build_report_data(store, full_graph, ada, today=T0.date()))
    assert (node.state, node.test_out, node.has_build, node.missing_work) == ("completed", True, True, [])
    b = node.build
    assert b.functions == [f.name for f in get_task(LAB).functions] and b.filename == "ffnn_digits.py"
    assert (b.attempt_id, b.gradings_until_pass) == (passing, 2)
    assert b.passed_at == T0 + timedelta(minutes=10, seconds=2)
    assert (b.hints_before_pass, b.solution_before_pass, b.matches_reference) == (2, False, False)
    assert b.code is None and b.code_note is None  # only with --with-code


def test_with_code_attaches_the_passing_file_or_says_it_changed(built, full_graph):
    store, ada, path, _ = built
    passing_text = path.read_text(encoding="utf-8")
    b = ffnn(build_report_data(store, full_graph, ada, with_code=True)).build
    assert b.code == passing_text and b.code_note is None
    md = render(build_report_data(store, full_graph, ada, with_code=True), "md")
    assert "## What was built" in md and "test-out: own build passed" in md and "2 hints" in md
    assert "````python\n" + passing_text.rstrip("\n") + "\n````" in md  # a fence longer than the ``` inside
    html = render(build_report_data(store, full_graph, ada, with_code=True), "html")
    assert "x @ W + b  # &lt;b&gt; &amp; ``` inside" in html and "<b> &" not in html
    assert "completed (test-out)" in html
    document = json.loads(render(build_report_data(store, full_graph, ada, with_code=True), "json"))
    jsonschema.validate(document, json.loads(SCHEMA_PATH.read_text()))
    path.write_text("# edited after the pass\n", encoding="utf-8")
    changed = ffnn(build_report_data(store, full_graph, ada, with_code=True)).build
    assert changed.code is None and changed.code_note.startswith("file changed since the pass")
    assert "file changed since the pass" in render(build_report_data(store, full_graph, ada, with_code=True), "md")
    backup = path.with_name(path.name + ".20260401-100000.bak")  # what `lab start --force` keeps
    backup.write_text(passing_text, encoding="utf-8")
    assert ffnn(build_report_data(store, full_graph, ada, with_code=True)).build.code == passing_text


def test_a_node_completed_by_a_lab_run_says_so_and_has_no_build(store, full_graph):
    from .conftest import record_attempt

    ada = store.add_learner("Ada")
    record_attempt(store, ada.id, "model-size", "large-models", 100.0)
    record_quiz(store, ada.id, "large-models", 1.0, T0)
    data = build_report_data(store, full_graph, ada)
    node = next(n for n in data.nodes() if n.id == "large-models")
    md = render(data, "md")
    if node.has_build:  # a build task for model-size has been added: the lab run is an experiment only
        assert node.state == "in_progress" and node.missing_work == ["build"]
    else:
        assert node.state == "completed" and node.build is None
        assert "lab run passed (no build task yet)" in md


def test_the_reference_solution_graded_for_real_is_marked_and_attached(store, full_graph, tmp_path):
    from planner.implement import grade_and_record, learner_file
    from planner.service import Service

    ada = store.add_learner("Ada")
    service = Service(store, full_graph)
    learner_file(LAB, tmp_path).write_text(solution_source(LAB), encoding="utf-8")
    graded = grade_and_record(service, ada, LAB, NODE, tmp_path)
    assert graded.passed, graded.feedback
    b = ffnn(build_report_data(store, full_graph, ada, with_code=True)).build
    assert b.matches_reference and b.gradings_until_pass == 1 and b.code == solution_source(LAB)
    assert "the file is the reference solution" in render(build_report_data(store, full_graph, ada), "md")


def test_report_with_code_on_the_command_line(built, db_path):
    store, ada, path, _ = built
    store.close()
    result = CliRunner().invoke(main, ["--db", str(db_path), "report", "--format", "json", "--with-code"],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    node = next(n for t in json.loads(result.stdout)["tracks"] for n in t["nodes"] if n["id"] == NODE)
    assert node["build"]["code"] == path.read_text(encoding="utf-8") and node["test_out"] is True
    plain = CliRunner().invoke(main, ["--db", str(db_path), "report", "--format", "json"], catch_exceptions=False)
    node = next(n for t in json.loads(plain.stdout)["tracks"] for n in t["nodes"] if n["id"] == NODE)
    assert node["build"]["code"] is None and node["build"]["gradings_until_pass"] == 2


def test_hint_and_solution_views_are_recorded_by_the_commands(tmp_path):
    from planner.implement import grade_and_record, learner_file
    from planner.service import Service
    from planner.curriculum import load_curriculum

    db = tmp_path / "views.sqlite"
    work = tmp_path / "ws"

    def cli(*args):
        return CliRunner().invoke(main, ["--db", str(db), *args], catch_exceptions=False)

    cli("learner", "add", "Ada")
    assert cli("lab", "hint", LAB, "--dir", str(work)).exit_code == 0
    assert cli("lab", "hint", LAB, "3", "--dir", str(work)).exit_code == 0
    with Store.open(db) as store:
        ada = store.get_learner("Ada")
        assert [(v.kind, v.number) for v in store.help_views(ada.id)] == [("hint", 1), ("hint", 3)]
        learner_file(LAB, work).write_text(solution_source(LAB), encoding="utf-8")
        assert grade_and_record(Service(store, load_curriculum()), ada, LAB, NODE, work).passed
    assert cli("lab", "solution", LAB).exit_code == 0
    with Store.open(db) as store:
        assert [v.kind for v in store.help_views(store.get_learner("Ada").id)] == ["hint", "hint", "solution"]


def test_with_code_reads_only_the_tasks_file_and_says_when_it_is_gone(store, full_graph, tmp_path):
    ada = store.add_learner("Ada")
    elsewhere = tmp_path / "secret.txt"  # an imported history could name any path: only ffnn_digits.py is read
    elsewhere.write_text("not the learner's code\n", encoding="utf-8")
    record_build(store, ada.id, elsewhere, passed=True, when=T0)
    b = ffnn(build_report_data(store, full_graph, ada, with_code=True)).build
    assert b.code is None and b.code_note == "the build's file was not recorded"
    gone = tmp_path / "gone" / get_task(LAB).filename
    gone.parent.mkdir()
    gone.write_text("x = 1\n", encoding="utf-8")
    record_build(store, ada.id, gone, passed=True, when=T0 - timedelta(days=1))  # now the first pass
    gone.unlink()
    b = ffnn(build_report_data(store, full_graph, ada, with_code=True)).build
    assert b.code is None and b.code_note == f"file not found ({gone})"
