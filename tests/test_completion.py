"""Completion asks for the work (issue 13 §3, §5), on real recorded attempts: rows written through the
store (and for the reference solutions, graded by the real grader), read back by Service.progress.

Which labs have a build task comes from the registry (labs.implement.tasks.TASKS), so these tests hold
while build tasks are added: they assert the rule for whichever nodes have one.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from labs.grading import CheckResult
from labs.implement import TASKS, get_task, solution_source
from planner.curriculum import load_curriculum
from planner.demo import correct_answers
from planner.progress import registered_build_labs
from planner.quiz import draw_quiz
from planner.service import Service

REAL_ROOT = Path(__file__).resolve().parents[1] / "data"
EXISTING_BUILDS = ("ffnn-digits", "cnn-digits", "rnn-chars", "transformer-chars")  # the four of issue 13


@pytest.fixture(scope="module")
def real():
    return load_curriculum(REAL_ROOT)


@pytest.fixture
def service(store, real):
    return Service(store, real)


def record_run(store, learner, node, *, passed: bool = True, mode: str = "explore", test_out: bool = False,
               when: datetime | None = None, checks: list[CheckResult] | None = None) -> int:
    """One finished lab attempt, as LabSession or grade_and_record would write it."""
    when = when or datetime.now(UTC)
    attempt_id = store.start_attempt(learner.id, node.lab, node.id, mode=mode, params={}, seed=0, pid=None,
                                     app_version="test", test_out=test_out, started_at=when)
    store.finish_attempt(attempt_id, status="passed" if passed else "failed", score=100.0 if passed else 40.0,
                         passed=passed, metrics={}, feedback="", checks=checks or [], duration_s=3.0,
                         finished_at=when + timedelta(seconds=3))
    return attempt_id


def pass_quiz(service, learner, node_id: str, seed: int = 1) -> None:
    asked = draw_quiz(service.curriculum.quizzes[node_id], seed)
    outcome = service.submit_quiz(learner, node_id, correct_answers(asked), seed=seed)
    assert outcome.passed, node_id


def test_the_registry_is_what_marks_a_build_task(service, store):
    ada = store.add_learner("Ada")
    progress = service.progress(ada)
    for node in service.curriculum.nodes.values():
        assert progress[node.id].has_build == (node.lab in TASKS), node.id
    assert set(EXISTING_BUILDS) <= registered_build_labs()


def _run_everything(service, store, learner, real, *, test_out_locked: bool) -> dict:
    """Every lab run and passed at its defaults and every quiz passed, in study order; a locked lab is
    refused (as the app and `lab run` refuse it) unless `test_out_locked`, then run with --practice."""
    for node_id in real.topological_order():
        node = real.nodes[node_id]
        if node.lab:
            locked = service.progress(learner)[node_id].state == "locked"
            if locked and not test_out_locked:
                continue
            record_run(store, learner, node, mode="practice" if locked else "explore", test_out=locked)
        if node.quiz:
            pass_quiz(service, learner, node_id)
    return service.progress(learner)


def test_pressing_run_at_defaults_everywhere_completes_no_node_with_a_build_task_and_no_role(service, store, real):
    ada = store.add_learner("Ada")
    progress = _run_everything(service, store, ada, real, test_out_locked=False)
    built = [n for n in real.nodes.values() if progress[n.id].has_build]
    assert built, "no node has a build task"
    for node in built:
        assert progress[node.id].state != "completed", node.id
        assert "build" in progress[node.id].missing_work, node.id
    assert [r.id for r in real.roles if progress[r.id].state == "completed"] == []
    # a node whose lab has no build task yet keeps the rule of before: lab pass + quiz
    no_build = [n for n in real.nodes.values() if n.lab and not progress[n.id].has_build
                and n.kind != "role" and not progress[n.id].missing]
    assert all(progress[n.id].state == "completed" for n in no_build)


def test_testing_out_at_defaults_everywhere_completes_no_node_with_a_build_task(service, store, real):
    ada = store.add_learner("Ada")
    progress = _run_everything(service, store, ada, real, test_out_locked=True)
    for node in real.nodes.values():
        if progress[node.id].has_build:
            assert progress[node.id].state != "completed", node.id
            assert progress[node.id].missing_work == ["build"], node.id
            assert progress[node.id].mastery == "familiar", node.id  # experiments raise mastery
    for role in real.roles:  # until every lab has a build task, a role of nodes without one can complete
        if progress[role.id].state == "completed":
            assert all(progress[n].state == "completed" and not progress[n].has_build for n in role.requires)
            assert not progress[role.id].has_build, role.id
    assert progress["ml-engineer"].state == "locked"  # ffnn and cnn have build tasks


def test_a_test_out_with_only_the_lab_completes_nothing(service, store, real):
    ada = store.add_learner("Ada")
    ffnn = real.nodes["ffnn"]
    record_run(store, ada, ffnn, mode="practice", test_out=True)
    pass_quiz(service, ada, "ffnn")
    p = service.progress(ada)["ffnn"]
    assert p.state == "locked" and p.missing_work == ["build"]


def test_reference_solutions_graded_for_real_plus_quizzes_complete_their_nodes(service, store, real, tmp_path):
    from planner.implement import grade_and_record, learner_file

    ada = store.add_learner("Ada")
    nodes = {n.lab: n for n in real.nodes.values() if n.lab in EXISTING_BUILDS}
    assert set(nodes) == set(EXISTING_BUILDS)
    for lab_id, node in nodes.items():
        pass_quiz(service, ada, node.id)
        assert service.progress(ada)[node.id].state != "completed"  # the quiz alone is not the evidence
        learner_file(lab_id, tmp_path).write_text(solution_source(lab_id), encoding="utf-8")
        graded = grade_and_record(service, ada, lab_id, node.id, tmp_path)
        assert graded.passed, (lab_id, graded.feedback)
        assert node.id in graded.outcome.completed
    progress = service.progress(ada)
    for node in nodes.values():  # in study order: ffnn first, while locked; it unlocks the others
        p = progress[node.id]
        assert (p.state, p.missing_work, p.mastery) == ("completed", [], "proficient"), node.id
        assert p.test_out == (node.id == "ffnn"), node.id
    assert [r.id for r in real.roles if progress[r.id].state == "completed"] == []
    assert progress["backpropagation"].state != "completed"  # a test-out skips no other node


def test_an_old_database_with_only_lab_passes_reads_without_error(service, store, real):
    """Rows as PathLab wrote them before build tasks: explore passes and quiz passes everywhere unlocked."""
    ada = store.add_learner("Ada")
    old = datetime(2026, 1, 5, tzinfo=UTC)
    for i, node_id in enumerate(real.topological_order()):
        node = real.nodes[node_id]
        if node.lab:
            record_run(store, ada, node, when=old + timedelta(hours=i))
        if node.quiz:
            pass_quiz(service, ada, node_id)
    progress = service.progress(ada)
    built = [n for n in real.topological_order() if progress[n].has_build]
    first = progress[built[0]]  # the first node on the path whose lab has a build task: unlocked, not done
    assert first.state == "in_progress" and first.missing_work == ["build"]
    assert first.best_score == 100 and first.passes == 1
    for node_id in built:  # the old passes show as experiments: mastery kept, completion not
        assert progress[node_id].state != "completed" and progress[node_id].mastery == "familiar", node_id
    assert len(store.attempts(ada.id)) == sum(1 for n in real.nodes.values() if n.lab)  # every row kept


# -- the commands: nodes --json missing_work, plan's next action --------------------------------------


def _complete(store, service, learner, node) -> None:
    """Whatever the node's completion needs under the rule for its lab, recorded through the store."""
    if node.lab:
        record_run(store, learner, node, mode="implement" if node.lab in registered_build_labs() else "explore")
    if node.quiz:
        pass_quiz(service, learner, node.id)


def test_nodes_json_says_what_completion_still_needs(run_cli, db_path, curriculum):
    from planner.store import Store

    run_cli("learner", "add", "Ada", "--role", "ml-engineer")
    with Store.open(db_path) as store:
        ada = store.get_learner("Ada")
        record_run(store, ada, curriculum.nodes["large-models"], mode="explore")
    by_id = {n["id"]: n for n in json.loads(run_cli("nodes", "--json").stdout)["nodes"]}
    assert by_id["ffnn"]["has_build"] is True and by_id["ffnn"]["missing_work"] == ["build"]
    assert by_id["gradient-descent"]["missing_work"] == (
        ["build", "quiz"] if by_id["gradient-descent"]["has_build"] else ["experiment", "quiz"])
    assert by_id["applications"]["missing_work"] == []
    assert by_id["ml-engineer"]["missing_work"] == ["build" if "capstone-ml-engineer" in TASKS else "experiment"]


def test_plan_names_the_first_function_whose_check_failed_in_the_latest_build(run_cli, db_path, curriculum):
    from planner.store import Store

    run_cli("learner", "add", "Ada", "--role", "ml-engineer")
    with Store.open(db_path) as store:
        service = Service(store, curriculum)
        ada = store.get_learner("Ada")
        for node_id in ("large-models", "gradient-descent"):
            _complete(store, service, ada, curriculum.nodes[node_id])
    data = json.loads(run_cli("plan", "--json").stdout)
    assert data["next_up"][0]["node_id"] == "ffnn"
    assert data["next_action"] == {"node_id": "ffnn", "kind": "build",
                                   "text": "start the build: pathlab lab start ffnn-digits",
                                   "command": "pathlab lab start ffnn-digits"}
    task = get_task("ffnn-digits")
    first, second = task.functions[0].name, task.functions[1].name

    def checks(failing: str) -> list[CheckResult]:
        return [CheckResult(id=s.id, title=s.title, points=0.0 if failing in s.id or s.id == "train" else s.points,
                            max_points=s.points, status="failed" if failing in s.id or s.id == "train" else "passed",
                            message="") for s in task.checks]

    with Store.open(db_path) as store:
        ada = store.get_learner("Ada")
        ffnn = curriculum.nodes["ffnn"]
        record_run(store, ada, ffnn, mode="implement", passed=False, checks=checks(first),
                   when=datetime.now(UTC) - timedelta(minutes=5))
        record_run(store, ada, ffnn, mode="implement", passed=False, checks=checks(second))  # the latest
    data = json.loads(run_cli("plan", "--json").stdout)
    assert data["next_action"]["text"] == f"write {second} in ffnn_digits.py"
    assert data["next_action"]["command"] == "pathlab lab grade ffnn-digits"
    text = run_cli("plan").stdout
    assert f"Next action: write {second} in ffnn_digits.py" in text


def test_a_version_2_database_gains_help_views_and_keeps_every_row(tmp_path, real):
    """A file written before build evidence (schema 2, lab passes only) opens, migrates and reads."""
    import sqlite3

    import sqlite_utils

    from planner.store import SCHEMA_VERSION, Store, _migration_1, _migration_2

    path = tmp_path / "v2.sqlite"
    conn = sqlite3.connect(path)
    db = sqlite_utils.Database(conn)
    _migration_1(db)
    _migration_2(db)
    db.execute("PRAGMA user_version = 2")
    db["learners"].insert({"name": "Ada", "created_at": "2026-01-01T00:00:00+00:00"})
    for i, (lab_id, node_id) in enumerate((("model-size", "large-models"), ("ffnn-digits", "ffnn"))):
        db["attempts"].insert({"learner_id": 1, "lab_id": lab_id, "node_id": node_id, "mode": "explore",
                               "status": "passed", "score": 100.0, "passed": 1, "duration_s": 5.0,
                               "started_at": f"2026-01-0{i + 2}T00:00:00+00:00",
                               "finished_at": f"2026-01-0{i + 2}T00:00:05+00:00"})
    conn.commit()
    conn.close()
    with Store.open(path) as store:
        assert store.schema_version == SCHEMA_VERSION
        ada = store.get_learner("Ada")
        assert len(store.attempts(ada.id)) == 2 and store.help_views(ada.id) == []
        progress = Service(store, real).progress(ada)
        assert progress["ffnn"].state == "locked" and progress["ffnn"].mastery == "familiar"
        store.record_help_view(ada.id, "ffnn-digits", "hint", 1)
        assert [v.number for v in store.help_views(ada.id, "ffnn-digits")] == [1]


def test_plan_for_a_fresh_start_names_a_next_action_too(run_cli):
    data = json.loads(run_cli("plan", "--json").stdout)
    assert data["learner"] is None and data["next_up"][0]["node_id"] == "large-models"
    if "model-size" in TASKS:
        assert data["next_action"]["text"] == "start the build: pathlab lab start model-size"
    else:
        assert data["next_action"] == {"node_id": "large-models", "kind": "experiment",
                                       "text": "run the lab: pathlab lab run model-size",
                                       "command": "pathlab lab run model-size"}


def test_every_reference_build_plus_its_quiz_completes_the_whole_path_and_every_role(service, store, real):
    """The path walked only by building: each node's reference solution graded for real (the session's
    one grading of it, shared with tests/implement) and recorded as the node's build, its quiz passed;
    then every node and every role is completed, and no experiment was ever run."""
    from tests.implement.helpers import graded_reference

    ada = store.add_learner("Ada")
    for node_id in real.topological_order():  # quiz first, then the build: each completes after the last
        node = real.nodes[node_id]
        if node_id in real.quizzes:
            pass_quiz(service, ada, node_id)
        if node.lab:
            assert node.lab in TASKS, f"{node.lab} has no build task"
            graded = graded_reference(node.lab)
            assert graded.status == "passed" and graded.grade.passed, (node.lab, graded.feedback)
            time.sleep(0.15)  # record_run's attempt takes 3 s: it ends 0.1 s ago, after what came before
            record_run(store, ada, node, mode="implement", checks=list(graded.grade.checks),
                       when=datetime.now(UTC) - timedelta(seconds=3.1))
    progress = service.progress(ada)
    assert {n: p.state for n, p in progress.items() if p.state != "completed"} == {}
    assert [n for n, p in progress.items() if p.test_out] == []
    assert all(a.mode == "implement" for a in store.attempts(ada.id))
