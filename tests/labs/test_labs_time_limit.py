"""At its time limit a run stops training and is graded on what it trained (issue 11 §5), and a seed
outside [0, 2**32) is refused with one clear line before anything runs (issue 11 §4)."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from labs.catalog import ParamError, SeedError, all_labs, get_lab, validate_seed
from labs.catalog.base import MAX_SEED, RunContext
from labs.events import Failed, Finished, Progress, Started
from labs.runner import LabProcess, kill_grace_s, run_lab

FAKE = str(Path(__file__).with_name("fake_labs.py"))
TINY_LIMIT_S = 1e-3  # the deadline has passed before the first step ends: every loop stops after one
# Small settings where the defaults would make the test slow even for one step (the language labs'
# first step includes counting the n-gram baselines and one evaluation; that is fine).
SMALL = {
    "scaling-laws": {"widths": "8,12,16", "layers": 1},
    "capstone-llm-engineer": {"layers": 1, "width": 16, "heads": 2, "context": 16},
    "transformer-chars": {"layers": 1, "width": 16, "heads": 2, "context": 16},
    "rnn-chars": {"hidden": 16, "embedding": 8, "seq_len": 16},
    "capstone-research-scientist": {"seeds": 3},  # its default, one seed, leaves nothing to stop
}
TRAINING_LABS = sorted(lab.id for lab in all_labs() if lab.dataset != "none")


def train(lab_id: str, time_limit_s: float | None, **raw):
    lab = get_lab(lab_id)
    events: list = []
    # the good settings: a default is a beginner's mistake now, and one that diverges never meets the clock
    settings = {**lab.good_settings, **SMALL.get(lab_id, {}), **raw}
    finished = lab.train(lab.validate_params(settings), 0, events.append,
                         time_limit_s=time_limit_s)
    return events, finished


@pytest.mark.parametrize("lab_id", TRAINING_LABS)
def test_every_training_loop_stops_at_the_deadline_and_the_run_is_still_graded(lab_id):
    events, finished = train(lab_id, TINY_LIMIT_S)
    started = events[0]
    assert isinstance(started, Started) and isinstance(finished, Finished)
    assert finished.stopped_at_limit
    assert finished.stopped_at_step is not None and 1 <= finished.stopped_at_step < started.total_steps
    assert {c.id for c in finished.grade.checks} == {c.id for c in get_lab(lab_id).checks}
    assert finished.feedback.startswith(f"Stopped after {finished.stopped_at_step} of {started.total_steps} "
                                        f"{started.unit}s at the {TINY_LIMIT_S:g} s time limit")
    assert "graded on what was trained" in finished.feedback
    steps = [e.step for e in events if isinstance(e, Progress)]
    assert steps == sorted(steps) and max(steps) <= started.total_steps


def test_a_lab_that_trains_twice_compares_like_for_like_when_cut_short():
    # mlops trains the same model twice and demands identical weights: the second training must stop
    # where the first did, or the clock would fail a check that is about reproducibility.
    _, finished = train("capstone-mlops-engineer", TINY_LIMIT_S)
    assert finished.stopped_at_limit
    assert next(c for c in finished.grade.checks if c.id == "reproducible").status == "passed"


def test_a_run_that_finishes_in_time_is_not_marked_and_keeps_its_feedback():
    _, finished = train("ffnn-digits", None, epochs=3)
    assert not finished.stopped_at_limit and finished.stopped_at_step is None
    assert not finished.feedback.startswith("Stopped")


def test_the_deadline_leaves_a_margin_before_the_limit_for_grading():
    lab = get_lab("gd-linear")
    ctx = RunContext(lab, lab.default_params(), 0, lambda e: None)
    assert ctx.time_limit_s == lab.time_limit_s
    assert 0.8 * lab.time_limit_s <= ctx.deadline_s < lab.time_limit_s
    assert not ctx.deadline_reached(1, 10)
    short = RunContext(lab, lab.default_params(), 0, lambda e: None, time_limit_s=TINY_LIMIT_S)
    time.sleep(0.002)
    assert not short.deadline_reached(10, 10)  # the last step: nothing was cut
    assert short.deadline_reached(3, 10) and short.skipped_steps == 7


# -- through the runner: the learner's path --------------------------------------------------------
def test_a_real_lab_at_its_limit_finishes_graded_not_failed():
    # ffnn-digits at width 256 for 200 epochs takes several seconds; with a 0.5 s limit the worker stops
    # it after a few epochs. The generous grace keeps the backstop out of the way on a loaded machine.
    events: list = []  # over the good settings: the defaults (sigmoids, plain SGD) stay at chance
    good = get_lab("ffnn-digits").good_settings
    result = run_lab("ffnn-digits", {**good, "epochs": 200, "width": 256}, seed=0, on_event=events.append,
                     time_limit_s=0.5, grace_s=60)
    assert isinstance(result, Finished), result
    assert result.stopped_at_limit and 1 <= result.stopped_at_step < 200
    assert "Stopped after" in result.feedback and "0.5 s time limit" in result.feedback
    assert result.metrics["test_accuracy"] > 0.1  # it was graded on a trained model


def test_a_fake_lab_that_honours_the_deadline_finishes_with_its_grade():
    result = run_lab("", {"steps": 100}, seed=0, lab_ref=f"{FAKE}:PATIENT", time_limit_s=0.5, grace_s=60)
    assert isinstance(result, Finished) and result.status == "passed"
    assert result.stopped_at_limit and result.stopped_at_step < 100
    assert result.metrics["steps"] == result.stopped_at_step


def test_a_worker_that_ignores_its_deadline_is_killed_only_after_the_grace():
    t0 = time.monotonic()
    result = run_lab("", {}, seed=0, lab_ref=f"{FAKE}:SLEEPS", time_limit_s=0.5, grace_s=1.0)
    elapsed = time.monotonic() - t0
    assert isinstance(result, Failed) and result.kind == "timeout" and "0.5 s" in result.message
    # A lower bound cannot flake on a slow machine; the upper one only says it was not the fake's
    # 60 s sleep that ended it, with wide headroom for a loaded CI machine.
    assert 1.5 <= elapsed < 30


def test_the_grace_grows_with_the_limit_within_bounds():
    assert kill_grace_s(0.5) == 2.0 and kill_grace_s(60) == pytest.approx(6.0) and kill_grace_s(600) == 30.0


# -- seeds --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("seed", [-1, 2**32, 99999999999999999999999, 10**400,
                                  pytest.param(-10**5000, id="beyond-str-limit")])
def test_a_seed_out_of_range_is_one_clear_error_naming_it(seed):
    with pytest.raises(SeedError, match="out of range") as info:
        validate_seed(seed)
    message = str(info.value)
    assert "\n" not in message and str(MAX_SEED) in message and len(message) < 120
    assert isinstance(info.value, ParamError) and isinstance(info.value, ValueError)


@pytest.mark.parametrize("seed", [1.5, "3", None])
def test_a_seed_that_is_not_a_whole_number_is_refused(seed):
    with pytest.raises(SeedError, match="whole number"):
        validate_seed(seed)


def test_seeds_at_the_edges_and_numpy_ints_are_accepted():
    assert validate_seed(0) == 0 and validate_seed(MAX_SEED) == MAX_SEED
    assert validate_seed(np.int64(7)) == 7 and type(validate_seed(np.int64(7))) is int


def test_a_bad_seed_is_refused_before_a_process_starts_or_a_lab_runs():
    with pytest.raises(SeedError, match="-1"):
        LabProcess("gd-linear", {}, seed=-1)
    lab = get_lab("gd-linear")
    events: list = []
    with pytest.raises(SeedError, match="99999999999999999999999"):
        lab.train(lab.default_params(), 99999999999999999999999, events.append)
    assert events == []  # nothing started, so nothing to record


# -- parameters: validated once ----------------------------------------------------------------------
def test_the_runner_takes_validated_params_as_they_are(monkeypatch):
    lab = get_lab("gd-linear")
    params = lab.validate_params({"lr": "0.1"})

    def again(raw=None):
        raise AssertionError("validated a second time")

    monkeypatch.setattr(lab, "validate_params", again)
    proc = LabProcess("gd-linear", params, seed=0)
    assert proc.params == {"lr": 0.1, "steps": 300}
