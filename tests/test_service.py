"""The shared use cases: a run's events become rows; failures, cancels and locks are recorded honestly."""

from __future__ import annotations

import queue
from typing import Any

import pytest

from labs.events import Failed, Finished, Progress, Sample, Started
from labs.grading import CheckSpec, evaluate, grade
from planner.service import LabLocked, Service

SPEC = CheckSpec(id="fit", title="Loss near the optimum", points=100, required=True)


class ScriptedProcess:
    """Stands in for labs.runner.LabProcess: yields a fixed list of events, can be cancelled."""

    def __init__(self, script: list[Any]):
        self.script = queue.Queue()
        for e in script:
            self.script.put(e)
        self.result = None
        self.started = False

    def start(self) -> "ScriptedProcess":
        self.started = True
        return self

    def events(self, timeout: float | None = None):
        while self.result is None:
            try:
                event = self.script.get(timeout=timeout or 0.01)
            except queue.Empty:
                return
            if isinstance(event, (Finished, Failed)):
                self.result = event
            yield event

    def cancel(self):
        if self.result is None:
            self.result = Failed(kind="cancelled", message="the run was cancelled")
        return self.result


def finished(fraction: float) -> Finished:
    g = grade([evaluate(SPEC, fraction, f"{fraction:.0%} of the way")], pass_mark=70)
    return Finished(status="passed" if g.passed else "failed", grade=g, metrics={"train_loss": 0.5},
                    feedback="done", duration_s=1.5)


def training(n: int = 5) -> list[Any]:
    return [Started(lab_id="gd-linear", total_steps=n, dataset_hash="abc123")] + [
        Progress(step=i, metrics={"train_loss": 1.0 / (i + 1)}) for i in range(n)]


@pytest.fixture
def learner(store):
    return store.add_learner("Ada", target_role="ml-engineer", hours_per_week=5)


def service_with(store, curriculum, script: list[Any]) -> tuple[Service, list[ScriptedProcess]]:
    made: list[ScriptedProcess] = []

    def factory(lab_id, params, seed):
        made.append(ScriptedProcess(script))
        return made[-1]

    return Service(store, curriculum, runner_factory=factory), made


def test_a_passing_run_records_metrics_checks_and_completes_the_node(store, curriculum, learner):
    svc, _ = service_with(store, curriculum, training(5) + [Sample(step=4, text="hello"), finished(1.0)])
    before = svc.progress(learner)["gradient-descent"].state
    from datetime import UTC, datetime  # issue 13: a test-out completes a node only with its quiz too

    store.record_quiz(learner.id, "gradient-descent", seed=0, score=1.0, passed=True, answers=[],
                      started_at=datetime.now(UTC), finished_at=datetime.now(UTC))
    session = svc.start_lab(learner, "gd-linear", {"lr": "0.1"}, seed=3, practice=before == "locked")
    seen = list(session.events())
    outcome = session.outcome
    assert isinstance(seen[-1], Finished) and outcome is not None
    attempt = store.attempt(outcome.attempt_id)
    assert (attempt.status, attempt.passed, attempt.score, attempt.seed) == ("passed", True, 100.0, 3)
    assert attempt.params == {"lr": 0.1, "steps": 300}  # validated and completed with defaults
    assert attempt.dataset_hash == "abc123"
    assert [v for _, v in store.metric_series(outcome.attempt_id)["train_loss"]] == [1.0, 0.5, 1 / 3, 0.25, 0.2]
    assert [s.text for s in store.samples(outcome.attempt_id)] == ["hello"]
    assert [c.id for c in store.attempt_checks(outcome.attempt_id)] == ["fit"]
    if svc.progress(learner)["gradient-descent"].has_build:  # a build task added: an experiment completes nothing
        assert outcome.completed == [] and outcome.mastery_after == "familiar"
        return
    assert "gradient-descent" in outcome.completed
    assert svc.progress(learner)["gradient-descent"].state == "completed"
    assert outcome.mastery_before == "none" and outcome.mastery_after == "proficient"


def test_a_locked_lab_is_refused_naming_what_is_missing(store, curriculum, learner):
    svc, made = service_with(store, curriculum, training(1) + [finished(1.0)])
    assert svc.progress(learner)["ffnn"].state == "locked"
    with pytest.raises(LabLocked) as err:
        svc.start_lab(learner, "ffnn-digits", {}, seed=0)
    assert "gradient-descent" in err.value.missing
    assert "--practice" in str(err.value)
    assert made == [] and store.attempts(learner.id) == []  # nothing ran, nothing recorded


def test_practice_on_a_locked_node_is_a_test_out_that_completes_nothing_without_the_build(store, curriculum,
                                                                                         learner):
    # issue 13: ffnn's lab has a build task, so a test-out experiment is not the evidence (it completed it before)
    svc, _ = service_with(store, curriculum, training(2) + [finished(1.0)])
    session = svc.start_lab(learner, "ffnn-digits", {}, seed=0, practice=True)
    outcome = session.wait()
    attempt = store.attempt(outcome.attempt_id)
    assert attempt.mode == "practice" and attempt.test_out is True
    ffnn = svc.progress(learner)["ffnn"]
    assert ffnn.state == "locked" and ffnn.missing_work == ["build"] and outcome.completed == []


def test_a_failed_worker_is_an_error_with_its_traceback_never_a_pass(store, curriculum, learner):
    crash = Failed(kind="error", message="the lab raised ValueError", traceback="Traceback...\nValueError: boom")
    svc, _ = service_with(store, curriculum, training(2) + [crash])
    outcome = svc.start_lab(learner, "gd-linear", {}, seed=0, practice=True).wait()
    attempt = store.attempt(outcome.attempt_id)
    assert (attempt.status, attempt.passed, attempt.score) == ("error", False, 0.0)
    assert "ValueError: boom" in attempt.feedback
    assert svc.progress(learner)["gradient-descent"].state != "completed"


def test_cancel_records_cancelled_and_keeps_the_points_seen_so_far(store, curriculum, learner):
    svc, made = service_with(store, curriculum, training(3))  # never finishes on its own
    session = svc.start_lab(learner, "gd-linear", {}, seed=0, practice=True)
    assert len(list(session.events(timeout=0.05))) == 4
    outcome = session.cancel()
    assert outcome.status == "cancelled" and not outcome.passed
    assert store.attempt(outcome.attempt_id).status == "cancelled"
    assert len(store.metric_series(outcome.attempt_id)["train_loss"]) == 3


def test_a_failing_grade_is_recorded_as_failed_with_partial_points(store, curriculum, learner):
    svc, _ = service_with(store, curriculum, training(2) + [finished(0.4)])
    outcome = svc.start_lab(learner, "gd-linear", {}, seed=0, practice=True).wait()
    assert (outcome.status, outcome.score, outcome.passed) == ("failed", 40.0, False)
    [check] = store.attempt_checks(outcome.attempt_id)
    assert (check.status, check.points) == ("partial", 40.0)


def test_bad_parameters_never_start_a_worker(store, curriculum, learner):
    from labs.catalog import ParamError

    svc, made = service_with(store, curriculum, [])
    with pytest.raises(ParamError, match="lr"):
        svc.start_lab(learner, "gd-linear", {"lr": "-1"}, seed=0, practice=True)
    assert made == []


def test_a_quiz_submission_is_graded_and_recorded_per_question(store, curriculum, learner):
    svc, _ = service_with(store, curriculum, [])
    node_id, quiz = next(iter(curriculum.quizzes.items()))
    answers = {q.id: _right_answer(q) for q in quiz.questions}
    outcome = svc.submit_quiz(learner, node_id, answers, seed=1)
    assert outcome.passed and outcome.score == 1.0
    [recorded] = store.quiz_attempts(learner.id, node_id)
    assert len(recorded.answers) == len(quiz.questions) and all(a.correct for a in recorded.answers)


def _right_answer(question: Any) -> Any:
    if question.kind == "numeric":
        return question.answer
    right = [i for i, o in enumerate(question.options) if o.correct]
    return right[0] if question.kind == "single" else right


def test_a_transformer_result_is_compared_with_the_learners_best_rnn(store, curriculum, learner):
    def run(lab_id, val_loss, params=None):
        done = Finished(status="passed", grade=grade([evaluate(SPEC, 1.0, "ok")], pass_mark=70),
                        metrics={"train_loss": val_loss - 0.1, "val_loss": val_loss}, feedback="Done.")
        svc, _ = service_with(store, curriculum, [Started(lab_id=lab_id, total_steps=1), done])
        return svc, svc.start_lab(learner, lab_id, params or {}, seed=0, practice=True).wait()

    _, alone = run("transformer-chars", 1.85)
    assert "Run rnn-chars too" in alone.feedback
    run("rnn-chars", 1.90, {"cell": "gru"})
    _, best_rnn = run("rnn-chars", 1.72, {"cell": "lstm"})
    _, gpt = run("transformer-chars", 1.80)
    assert gpt.feedback.startswith("Done.")
    assert f"your best LSTM (attempt {best_rnn.attempt_id})" in gpt.feedback
    assert "1.800 vs 1.720" in gpt.feedback and "0.080 higher (worse)" in gpt.feedback
    assert store.attempt(gpt.attempt_id).feedback == gpt.feedback


def test_at_start_a_running_row_left_under_our_own_pid_is_interrupted(store, curriculum, learner):
    # In a container every `pathlab` can be PID 1: a run killed last time carries the pid of this very
    # process, which is alive, so the row stayed `running` for ever. Before this process has started
    # any run, a row with its pid can only be a leftover.
    import os

    stale = store.start_attempt(learner.id, "gd-linear", "gradient-descent", mode="explore", params={},
                                seed=0, pid=os.getpid(), app_version="t")
    svc = Service(store, curriculum)
    assert svc.recover_interrupted() == 0  # later in a session, our own pid may be a live run
    assert svc.recover_interrupted(at_start=True) == 1
    assert store.attempt(stale).status == "interrupted"
