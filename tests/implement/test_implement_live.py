"""The learner's own network trains live (issue 13 §1): the checker throttles a check's reports into
sealed progress lines, the grader hands them on as Started/Progress events, grade_and_record records them
as the attempt's metric points (the lab runs' LabSession) and passes them on, and a grading can be
cancelled (an Event from the app, Ctrl-C on the command line) keeping the points earned before."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from labs.events import Progress, Started
from labs.implement import get_task, grade_file, solution_source
from labs.implement.checker import Throttle
from labs.implement.tasks import TRAIN
from planner import implement
from planner.curriculum import load_curriculum
from planner.service import Service
from planner.store import Store
from tests.implement.helpers import by_id, write

LAB, NODE = "ffnn-digits", "ffnn"
SLOW = "cnn-digits"
ROOT = Path(__file__).resolve().parents[2]
BEFORE_TRAINING = 100 - get_task(LAB).check(TRAIN).points
"""what the reference earns when grading is cancelled during training"""


class _Lines:
    def __init__(self):
        self.points: list[dict] = []

    def progress(self, point: dict) -> None:
        self.points.append(point)


def test_throttle_writes_at_most_its_rate_and_always_the_last_report():
    now = [0.0]
    lines = _Lines()
    report = Throttle(lines, per_s=10, clock=lambda: now[0])
    for step in range(1, 101):  # 100 reports in 0.5 s
        now[0] = step * 0.005
        report(step, 100, {"train_loss": 1.0 / step, "bad": float("nan")})
    report.flush()
    steps = [p["step"] for p in lines.points]
    assert steps[0] == 1 and steps[-1] == 100  # the first at once, the last always
    assert len(steps) <= 0.5 * 10 + 2
    assert all(set(p["metrics"]) == {"train_loss"} for p in lines.points)  # non-finite numbers never travel
    report.flush()
    assert len(lines.points) == len(steps)  # nothing held back: flushing again writes nothing


def test_grade_file_streams_the_training_of_the_learners_network(tmp_path):
    events = []
    result = grade_file(LAB, write(tmp_path, LAB, solution_source(LAB)), on_event=events.append)
    assert result.status == "passed" and result.grade.score == 100
    starts = [e for e in events if isinstance(e, Started)]
    progress = [e for e in events if isinstance(e, Progress)]
    assert len(starts) == 1 and starts[0].total_steps > 0 and starts[0].lab_id == LAB
    assert events[0] is starts[0]
    steps = [p.step for p in progress]
    assert steps == sorted(steps) and steps[-1] == starts[0].total_steps  # the curve ends where training did
    assert all("train_loss" in p.metrics for p in progress)
    assert progress[-1].metrics["train_loss"] < progress[0].metrics["train_loss"]
    assert len(progress) <= result.duration_s * 10 + 2  # throttled to 10 a second


def test_a_cancelled_grading_stops_within_a_second_and_keeps_the_points_earned(tmp_path):
    cancel, cancelled_at = threading.Event(), []

    def on_event(event):
        if isinstance(event, Progress) and not cancel.is_set():
            cancelled_at.append(time.monotonic())
            cancel.set()

    result = grade_file(LAB, write(tmp_path, LAB, solution_source(LAB)), on_event=on_event, cancel=cancel)
    stopped_after = time.monotonic() - cancelled_at[0]
    assert result.status == "cancelled" and "cancelled" in result.feedback
    assert result.grade.score == BEFORE_TRAINING  # every check before training
    assert by_id(result)[TRAIN].status == "skipped"
    assert stopped_after < 2.0  # within a second, with headroom for a loaded 2-core machine


@pytest.fixture
def recorded(tmp_path: Path):
    db, workspace = tmp_path / "pathlab.sqlite", tmp_path / "ws"
    workspace.mkdir()
    write(workspace, LAB, solution_source(LAB))
    store = Store.open(db)
    learner = store.add_learner("Ada", target_role=None, hours_per_week=None)
    yield Service(store, load_curriculum()), learner, workspace
    store.close()


def test_grade_and_record_records_the_curve_as_metric_points_and_passes_the_events_on(recorded):
    service, learner, workspace = recorded
    seen = []
    graded = implement.grade_and_record(service, learner, LAB, NODE, workspace, on_event=seen.append)
    assert graded.status == "passed" and graded.score == 100
    curve = service.store.metric_series(graded.attempt_id)["train_loss"]
    shown = [(e.step, e.metrics["train_loss"]) for e in seen if isinstance(e, Progress)]
    # every point passed on is recorded (how many pass the 10-a-second throttle depends on the machine;
    # the first and the last always do)
    assert curve == pytest.approx(shown) and len(curve) >= 2
    attempt = service.store.attempt(graded.attempt_id)
    assert (attempt.mode, attempt.code_hash, attempt.seed) == ("implement", graded.code_hash, None)
    assert attempt.dataset_hash and attempt.feedback.splitlines()[-1].startswith("Sandbox:")
    assert "Against your best" not in attempt.feedback  # no lab-run comparison for a build


def test_grade_and_record_cancelled_is_recorded_with_the_points_earned(recorded):
    service, learner, workspace = recorded
    cancel = threading.Event()
    graded = implement.grade_and_record(
        service, learner, LAB, NODE, workspace, cancel=cancel,
        on_event=lambda e: cancel.set() if isinstance(e, Progress) else None)
    attempt = service.store.attempt(graded.attempt_id)
    assert (graded.status, attempt.status, attempt.passed) == ("cancelled", "cancelled", False)
    assert attempt.score == graded.score == BEFORE_TRAINING
    assert {c.id: c.status for c in service.store.attempt_checks(attempt.id)}[TRAIN] == "skipped"


def test_ctrl_c_stops_lab_grade_within_a_second_and_records_it_cancelled(tmp_path: Path):
    """On a lab whose training lasts several seconds, so that Ctrl-C surely comes while it trains."""
    db, workspace = tmp_path / "pathlab.sqlite", tmp_path / "ws"
    workspace.mkdir()
    write(workspace, SLOW, solution_source(SLOW))
    with Store.open(db) as store:
        learner = store.add_learner("Ada", target_role=None, hours_per_week=None)
    env = {**os.environ, "PATHLAB_DB": str(db)}
    pathlab = Path(sys.executable).parent / "pathlab"
    proc = subprocess.Popen([str(pathlab), "lab", "grade", SLOW, "--dir", str(workspace)],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # training has begun once its first points are recorded
            with Store.open(db) as store:
                attempts = store.attempts(learner.id)
                if attempts and store.metric_series(attempts[0].id):
                    break
            time.sleep(0.1)
        else:
            pytest.fail("the training check never started")
        sent = time.monotonic()
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
        took = time.monotonic() - sent
    finally:
        proc.kill()
    assert proc.returncode == 1, err
    assert "CANCELLED" in out.decode() and "Traceback" not in err.decode()
    assert took < 3.0  # the checker's tree is killed at the next poll; wide headroom for a busy machine
    with Store.open(db) as store:
        [attempt] = store.attempts(learner.id)
        assert (attempt.status, attempt.score) == ("cancelled", 100 - get_task(SLOW).check(TRAIN).points)
