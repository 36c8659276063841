"""The runner's guarantees: ordered events, one terminal event, and no pass from a worker that did not
finish on its own (raised, exited, killed, cancelled, timed out)."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from labs.catalog.base import ParamError
from labs.events import Failed, Finished, Progress, Started
from labs.runner import LabProcess, child_env, run_lab

FAKE = str(Path(__file__).with_name("fake_labs.py"))


def ref(name: str) -> str:
    return f"{FAKE}:{name}"


def collect(proc: LabProcess) -> list:
    return list(proc.events())


def test_events_stream_in_order_and_stdout_noise_is_kept_out():
    events = []
    result = run_lab("", {"steps": 4}, seed=0, on_event=events.append, lab_ref=ref("CHATTY"))
    assert isinstance(events[0], Started) and events[0].lab_id == "fake-chatty" and events[0].pid > 0
    assert [e.step for e in events[1:-1]] == [1, 2, 3, 4]
    assert all(isinstance(e, Progress) for e in events[1:-1])
    assert events[-1] is result and isinstance(result, Finished) and result.status == "passed"


def test_a_failing_check_finishes_as_failed_not_error():
    result = run_lab("", {"passes": "false"}, seed=0, lab_ref=ref("CHATTY"))
    assert isinstance(result, Finished) and result.status == "failed" and not result.grade.passed


def test_a_lab_that_raises_gives_failed_error_with_traceback():
    result = run_lab("", {}, seed=0, lab_ref=ref("RAISES"))
    assert isinstance(result, Failed) and result.kind == "error"
    assert "boom in the lab" in result.message
    assert "Traceback" in result.traceback and "misbehave" in result.traceback


def test_a_worker_that_exits_without_finishing_is_an_error():
    result = run_lab("", {}, seed=0, lab_ref=ref("EXITS"))
    assert isinstance(result, Failed) and result.kind == "error" and "code 3" in result.message


def _wait_started(proc: LabProcess) -> None:
    for event in proc.events(timeout=10):
        if isinstance(event, Progress) and event.step == 3:
            return
    pytest.fail("the fake lab never reached step 3")


def test_cancel_kills_within_a_second():
    proc = LabProcess("", {}, seed=0, lab_ref=ref("SLEEPS")).start()
    _wait_started(proc)
    t0 = time.monotonic()
    result = proc.cancel()
    # cancel() waits at most wait_s=1 s for the killed child, then settles the run itself. The bound
    # only catches a cancel that blocks on the fake's 60 s sleep; the headroom is for a loaded CI machine
    # (the kill itself is proven below: the pid is gone).
    assert time.monotonic() - t0 < 10.0
    assert isinstance(result, Failed) and result.kind == "cancelled"
    assert list(proc.events()) == [] and proc.result is result
    with pytest.raises(ProcessLookupError):
        os.kill(proc.pid, 0)


def test_sigkill_from_outside_is_killed_and_never_a_pass():
    proc = LabProcess("", {}, seed=0, lab_ref=ref("SLEEPS")).start()
    _wait_started(proc)
    os.kill(proc.pid, signal.SIGKILL)
    rest = list(proc.events(timeout=5))
    assert isinstance(rest[-1], Failed) and rest[-1].kind == "killed" and "SIGKILL" in rest[-1].message
    assert not any(isinstance(e, Finished) for e in rest)


def test_time_limit_stops_the_run():
    # SLEEPS ignores its deadline, so the runner's backstop kills it at the limit plus the grace (2.5 s).
    t0 = time.monotonic()
    result = run_lab("", {}, seed=0, lab_ref=ref("SLEEPS"), time_limit_s=0.5)
    assert isinstance(result, Failed) and result.kind == "timeout" and "0.5 s" in result.message
    # Well before the fake's 60 s sleep ends; wide headroom for a loaded CI machine.
    assert time.monotonic() - t0 < 30


def test_polling_with_a_timeout_returns_control_without_ending_the_run():
    proc = LabProcess("", {}, seed=0, lab_ref=ref("SLEEPS")).start()
    _wait_started(proc)
    assert list(proc.events(timeout=0.05)) == [] and not proc.done
    proc.cancel()
    assert proc.done


def test_bad_params_are_refused_before_a_process_starts():
    with pytest.raises(ParamError, match="steps"):
        LabProcess("", {"steps": "0"}, seed=0, lab_ref=ref("CHATTY"))
    with pytest.raises(KeyError, match="gd-linear"):
        LabProcess("no-such-lab", {}, seed=0)


def test_child_env_raises_malloc_thresholds_and_pins_blas_threads():
    env = child_env({"PATH": "/bin", "OPENBLAS_NUM_THREADS": "2"})
    assert int(env["MALLOC_MMAP_THRESHOLD_"]) >= 16 * 1024 * 1024
    assert int(env["MALLOC_TRIM_THRESHOLD_"]) >= 16 * 1024 * 1024
    assert env["OPENBLAS_NUM_THREADS"] == "2"  # the caller's choice is kept
    assert "OPENBLAS_CORETYPE" not in env


def test_same_seed_same_metrics_in_separate_processes():
    first = run_lab("gd-linear", {"steps": 50}, seed=7)
    second = run_lab("gd-linear", {"steps": 50}, seed=7)
    other = run_lab("gd-linear", {"steps": 50}, seed=8)
    assert isinstance(first, Finished) and first.metrics == second.metrics
    assert first.metrics != other.metrics
