"""Grade a learner's file in a sandboxed child process, and turn what it reports into a Grade.

`grade_file` never imports the learner's code: it starts `python -m labs.implement.sandbox` with the job,
reads the child's output on a thread (keeping at most `OUTPUT_CAP` bytes and killing a child that floods
more than `FLOOD_LIMIT`), waits at most `timeout_s` of wall-clock time, then reads the result file the
child rewrote after every check (sealed with a fresh key sent on its stdin: a result file the
learner's code wrote itself is rejected, see protocol.py). Whatever happened to the child, the learner gets every check: the ones it
finished with their points, the rest skipped with the reason (a time-out, a crash, an exit, memory).
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Literal

from pydantic import BaseModel

import labs
from labs.grading import CheckResult, Grade, grade, skipped
from labs.implement.protocol import Job, unseal
from labs.implement.tasks import get_task

OUTPUT_CAP = 8_000
"""bytes of the learner's own output kept to show them"""
FLOOD_LIMIT = 1_000_000
"""bytes of output after which the child is stopped"""
DEFAULT_TIMEOUT_S = 90.0
DEFAULT_MEMORY_MB = 1024


class ImplementGrade(BaseModel):
    """The outcome of grading one file. `status` is `error` when grading could not finish."""

    lab_id: str
    status: Literal["passed", "failed", "error"]
    grade: Grade
    metrics: dict[str, float]
    feedback: str
    output: str = ""
    """the learner's prints, truncated to OUTPUT_CAP bytes"""
    duration_s: float


class _Output:
    """Drains a pipe on a thread, keeping the first `cap` bytes and counting the rest."""

    def __init__(self, stream, cap: int):
        self.kept, self.total, self.cap = bytearray(), 0, cap
        self.thread = threading.Thread(target=self._drain, args=(stream,), daemon=True)
        self.thread.start()

    def _drain(self, stream) -> None:
        for chunk in iter(lambda: stream.read(65536), b""):
            self.total += len(chunk)
            room = self.cap - len(self.kept)
            if room > 0:
                self.kept += chunk[:room]

    def text(self) -> str:
        text = self.kept.decode("utf-8", errors="replace")
        if self.total > len(self.kept):
            text += f"\n[... {self.total - len(self.kept):,} more bytes of output cut]"
        return text


def grade_file(lab_id: str, path: Path | str, *, timeout_s: float = DEFAULT_TIMEOUT_S,
               memory_mb: int = DEFAULT_MEMORY_MB, train_budget_s: float = 30.0) -> ImplementGrade:
    """Grade the learner's file for `lab_id` (KeyError for a lab without implement mode)."""
    task = get_task(lab_id)
    path = Path(path).resolve()
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="pathlab-grade-") as tmp:
        result_path = Path(tmp) / "result.json"
        job = Job(lab_id=lab_id, path=str(path), result_path=str(result_path), memory_mb=memory_mb,
                  cpu_s=max(2, int(timeout_s) + 1), train_budget_s=min(train_budget_s, timeout_s))
        key = secrets.token_hex(32).encode()
        problem, output = _run_child(job, key, Path(tmp), timeout_s)
        state = _read_state(result_path, key)
        if state is None:
            problem, state = FORGED, _empty_state()
    duration = time.perf_counter() - start
    return _assemble(task, state, problem, output, duration)


def _run_child(job: Job, key: bytes, workdir: Path, timeout_s: float) -> tuple[str | None, str]:
    """Run the sandbox; the problem that stopped it early (None when it finished) and its output."""
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
           "PYTHONDONTWRITEBYTECODE": "1", "PYTHONPATH": _labs_root()}
    proc = subprocess.Popen(
        [sys.executable, "-m", "labs.implement.sandbox", job.model_dump_json()],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        cwd=workdir, env=env, start_new_session=True,
    )
    try:
        proc.stdin.write(key + b"\n")
        proc.stdin.close()
    except BrokenPipeError:
        pass  # the child died at once: its exit status says why
    output = _Output(proc.stdout, OUTPUT_CAP)
    deadline = time.monotonic() + timeout_s
    problem = None
    while proc.poll() is None:
        if output.total > FLOOD_LIMIT:
            problem = f"your code printed more than {FLOOD_LIMIT // 1_000_000} MB, so grading was stopped " \
                      "(remove prints from loops)"
            break
        if time.monotonic() > deadline:
            problem = f"grading was stopped after {timeout_s:g} s (an endless loop, or code far too slow)"
            break
        time.sleep(0.02)
    _kill(proc)  # also after a normal exit: nothing the learner's code forked outlives grading
    proc.wait()
    output.thread.join(timeout=2)
    if problem is None and proc.returncode != 0:
        problem = _exit_problem(proc.returncode, job)
    return problem, output.text()


def _labs_root() -> str:
    root = str(Path(labs.__file__).resolve().parent.parent)
    rest = os.environ.get("PYTHONPATH")
    return root + (os.pathsep + rest if rest else "")


def _kill(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _exit_problem(code: int, job: Job) -> str:
    if code == -signal.SIGXCPU or code == -signal.SIGKILL:
        return f"grading was stopped: your code used more than {job.cpu_s} s of CPU time"
    if code < 0:
        return f"the grading process crashed (signal {signal.Signals(-code).name})"
    return f"the grading process exited with code {code} before finishing (os._exit in your code?)"


FORGED = "the results file was not written by the grader (your code wrote it?), so no check counts"


def _read_state(path: Path, key: bytes) -> dict | None:
    """The sandbox's last state; an empty one when it wrote none, None when the file is not sealed."""
    try:
        text = path.read_text()
    except OSError:
        return _empty_state()
    return unseal(text, key)


def _empty_state() -> dict:
    return {"checks": [], "running": None, "metrics": {}, "aborted": None, "done": False}


def _assemble(task, state: dict, problem: str | None, output: str, duration: float) -> ImplementGrade:
    done = {r["id"]: CheckResult.model_validate(r) for r in state.get("checks", [])}
    aborted = state.get("aborted")
    if problem is None and aborted:
        problem = aborted["message"]
    if problem is None and not state.get("done"):
        problem = "the grading process stopped without reporting its results"
    running = state.get("running")
    if problem and running and running not in done:
        problem += f" (while checking '{task.check(running).title}')"
    results = [done.get(s.id) or skipped(s, f"not reached: {problem or 'grading stopped'}") for s in task.checks]
    result = grade(results, task.pass_mark)
    status = "error" if problem else ("passed" if result.passed else "failed")
    return ImplementGrade(
        lab_id=task.lab_id, status=status, grade=result, metrics=state.get("metrics", {}),
        feedback=problem or _feedback(result), output=output, duration_s=round(duration, 3),
    )


def dataset_hash(dataset: str) -> str:
    """The content hash of the data the training check used (recorded with the attempt)."""
    from labs.datasets import load_digits, load_text
    from labs.implement.checks.charlm import N_CHARS

    return load_digits().sha256 if dataset == "digits" else load_text(N_CHARS).sha256


def _feedback(result: Grade) -> str:
    if result.passed:
        return f"every check passed: {result.score:g}/100. This network is yours."
    first = result.checks[0]
    return f"score {result.score:g}/100. First to fix: {first.title}: {first.message}"
