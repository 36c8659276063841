"""The runner's warm spare (a worker that imported everything and waits for its job on stdin): a run
handed to it gives the same result as a cold child, and keeps every guarantee a cold child has."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from labs import runner
from labs.events import Failed, Finished, Progress
from labs.runner import LabProcess, child_env, discard_spare, prewarm, run_lab

FAKE = str(Path(__file__).with_name("fake_labs.py"))


def ref(name: str) -> str:
    return f"{FAKE}:{name}"


def _spare_pid() -> int | None:
    spare = runner._spare
    return spare[0].pid if spare else None


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


@pytest.fixture(autouse=True)
def _no_spare_left(monkeypatch):
    monkeypatch.delenv("PATHLAB_WARM_WORKER", raising=False)
    discard_spare()
    yield
    discard_spare()


def _run(lab_id: str, params: dict, seed: int, *, warm: bool) -> tuple[LabProcess, Finished]:
    if warm:
        prewarm()
    else:
        discard_spare()
    proc = LabProcess(lab_id, params, seed).start()
    assert proc.warm is warm
    for _ in proc.events():
        pass
    assert isinstance(proc.result, Finished), proc.result
    return proc, proc.result


def _timeless(metrics: dict[str, float]) -> dict[str, float]:
    return {k: v for k, v in metrics.items() if not k.endswith("_seconds")}


@pytest.mark.parametrize(("lab_id", "params"), [("gd-linear", {"steps": 50}),
                                                ("ffnn-digits", {"epochs": 2, "width": 16})])
def test_a_warm_run_gives_the_cold_runs_metrics_and_grade(lab_id, params):
    _, cold = _run(lab_id, params, 3, warm=False)
    _, warm = _run(lab_id, params, 3, warm=True)
    _, cold_again = _run(lab_id, params, 3, warm=False)
    assert _timeless(warm.metrics) == _timeless(cold.metrics) == _timeless(cold_again.metrics)
    assert warm.grade == cold.grade and warm.status == cold.status and warm.feedback == cold.feedback


def test_a_spare_is_used_once_and_the_next_is_a_fresh_process():
    first, _ = _run("gd-linear", {"steps": 5}, 0, warm=True)
    second, _ = _run("gd-linear", {"steps": 5}, 0, warm=True)
    assert first.pid != second.pid and _gone(first.pid)


def test_a_warm_worker_has_its_own_process_group_and_one_blas_thread():
    prewarm()
    proc = LabProcess("", {}, seed=0, lab_ref=ref("SLEEPS")).start()
    assert proc.warm
    for event in proc.events(timeout=10):
        if isinstance(event, Progress) and event.step == 3:
            break
    assert os.getpgid(proc.pid) == proc.pid != os.getpgid(0)
    environ = Path(f"/proc/{proc.pid}/environ")
    if environ.exists():
        env = dict(item.split("=", 1) for item in environ.read_text().split("\0") if "=" in item)
        assert env["OPENBLAS_NUM_THREADS"] == child_env()["OPENBLAS_NUM_THREADS"]
        assert env["MALLOC_MMAP_THRESHOLD_"] == child_env()["MALLOC_MMAP_THRESHOLD_"]
    t0 = time.monotonic()
    result = proc.cancel()
    assert time.monotonic() - t0 < 10.0  # cancel waits at most 1 s; headroom for a loaded machine
    assert isinstance(result, Failed) and result.kind == "cancelled"
    assert _gone(proc.pid)


def test_a_warm_worker_that_ignores_its_deadline_is_killed_at_the_limit():
    prewarm()
    t0 = time.monotonic()
    proc = LabProcess("", {}, seed=0, lab_ref=ref("SLEEPS"), time_limit_s=0.5).start()
    assert proc.warm
    for _ in proc.events():
        pass
    assert isinstance(proc.result, Failed) and proc.result.kind == "timeout"
    assert time.monotonic() - t0 < 30  # well before the fake's 60 s sleep; headroom for a loaded machine


def test_a_warm_worker_killed_from_outside_is_never_a_pass():
    prewarm()
    proc = LabProcess("", {}, seed=0, lab_ref=ref("SLEEPS")).start()
    assert proc.warm
    for event in proc.events(timeout=10):
        if isinstance(event, Progress):
            break
    os.kill(proc.pid, signal.SIGKILL)
    rest = list(proc.events(timeout=5))
    assert isinstance(rest[-1], Failed) and rest[-1].kind == "killed"


def test_a_spare_started_for_another_environment_is_not_used(monkeypatch):
    prewarm()
    stale = _spare_pid()
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "2")  # the run now asks for another BLAS setting
    proc = LabProcess("gd-linear", {"steps": 5}, seed=0).start()
    assert not proc.warm
    list(proc.events())
    assert isinstance(proc.result, Finished)
    assert stale is not None and _gone(stale)


def test_a_dead_spare_is_replaced_by_a_cold_child():
    prewarm()
    os.killpg(_spare_pid(), signal.SIGKILL)
    runner._spare[0].wait(timeout=5)
    proc = LabProcess("gd-linear", {"steps": 5}, seed=0).start()
    assert not proc.warm
    list(proc.events())
    assert isinstance(proc.result, Finished)


def test_spares_can_be_turned_off(monkeypatch):
    monkeypatch.setenv("PATHLAB_WARM_WORKER", "0")
    prewarm()
    assert runner._spare is None
    result = run_lab("gd-linear", {"steps": 5}, seed=0)
    assert isinstance(result, Finished) and runner._spare is None  # no spare after the run either


def test_a_spare_whose_stdin_closes_without_a_job_exits_quietly():
    spare = subprocess.Popen([sys.executable, "-m", "labs.worker", "--warm"], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=child_env())
    out, _ = spare.communicate(b"", timeout=60)
    assert spare.returncode == 0 and out == b""


def test_a_run_ends_with_a_spare_ready_for_the_next():
    _run("gd-linear", {"steps": 5}, 0, warm=False)
    assert _spare_pid() is not None and not _gone(_spare_pid())


def test_a_cold_worker_imports_only_the_lab_it_runs():
    code = ("import sys; from labs.worker import _lab; lab = _lab('gd-linear'); "
            "print(lab.id, any(m.startswith('labs.catalog.capstone') for m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=child_env(), check=True)
    assert out.stdout.split() == ["gd-linear", "False"]


@pytest.mark.parametrize("lab_id", ["", "base", "_digits", "no-such-lab", "labs.catalog.base"])
def test_a_job_naming_no_lab_is_refused_naming_the_known_ones(lab_id):
    from labs.worker import _lab

    with pytest.raises(KeyError, match="known labs: .*gd-linear"):
        _lab(lab_id)


def test_a_process_that_ran_a_lab_leaves_no_spare_behind_when_it_exits():
    code = ("from labs import runner; runner.run_lab('gd-linear', {'steps': 5}, 0); "
            "print(runner._spare[0].pid)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=child_env(),
                         check=True, timeout=120)
    pid = int(out.stdout.split()[-1])
    deadline = time.monotonic() + 10  # killed at exit; the wait covers a loaded machine's reaping
    while not _gone(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _gone(pid)


def test_a_forked_child_neither_uses_nor_kills_its_parents_spare():
    prewarm()
    parent_spare = _spare_pid()
    pid = os.fork()
    if pid == 0:  # the child: a run here must start cold and leave the parent's spare alone
        code = 1
        try:
            code = 0 if runner._take_spare(runner._spare_key(child_env())) is None else 2
            discard_spare()
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert _spare_pid() == parent_spare and not _gone(parent_spare)
