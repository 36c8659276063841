"""Grade a learner's file in two child processes, and turn what they report into a Grade.

    grading process (this one)  --job, key-->  checker (trusted: checks, tolerances, reference, grade)
                                                  `--pipe: calls and arrays-->  learner's process
                                                       (confined; the learner's file and stub.py only)

`grade_file` never imports the learner's code: it starts `python -m labs.implement.checker` with the job
and a fresh key on its stdin, reads the checker's sealed state lines from its stdout and the learner's
prints from its stderr (on threads, keeping at most `OUTPUT_CAP` bytes and stopping a child that floods
more than `FLOOD_LIMIT`), and waits at most `timeout_s` of wall-clock time. Whatever happened, the
learner gets every check: the ones finished with their points, the rest skipped with the reason (a
time-out, a crash, an exit, memory). When grading ends, the checker and every process below it are
killed; the checker also dies if this process is killed (PR_SET_PDEATHSIG), and takes the learner's
process with it.

Live training: the checker's sealed progress lines become `labs.events` for `on_event` (called on the
thread that called grade_file): `Started(total_steps)` at the first, then `Progress(step, metrics)`.
`cancel` (a threading.Event), or Ctrl-C in this thread, stops the checker's whole tree at the next poll
(every POLL_S) and the grade is `cancelled`, with the points earned before it.
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
from collections.abc import Callable
from typing import Literal

from pydantic import BaseModel

import labs
from labs.events import Event, Progress, Started
from labs.grading import CheckResult, Grade, grade, skipped
from labs.implement import confine
from labs.implement.protocol import Confinement, Job, unseal
from labs.implement.tasks import get_task

OUTPUT_CAP = 8_000
"""bytes of the learner's own output kept to show them"""
FLOOD_LIMIT = 1_000_000
"""bytes of output after which the child is stopped"""
DEFAULT_TIMEOUT_S = 90.0
DEFAULT_MEMORY_MB = 1024
POLL_S = 0.02
"""how often the wall clock, the output cap, a cancel and new progress are looked at"""
CANCELLED = "grading was cancelled"


class ImplementGrade(BaseModel):
    """The outcome of grading one file. `status` is `error` when grading could not finish, `cancelled`
    when it was asked to stop (both keep the points earned before)."""

    lab_id: str
    status: Literal["passed", "failed", "error", "cancelled"]
    grade: Grade
    metrics: dict[str, float]
    feedback: str
    output: str = ""
    """the learner's prints, truncated to OUTPUT_CAP bytes"""
    duration_s: float
    confinement: Confinement | None = None
    """how the learner's process was confined (None: it never started)"""


class _Output:
    """Drains a pipe on a thread, keeping the first `cap` bytes and counting the rest."""

    def __init__(self, stream, cap: int):
        self.kept, self.total, self.cap = bytearray(), 0, cap
        self.thread = threading.Thread(target=self._drain, args=(stream,), daemon=True)
        self.thread.start()

    def _drain(self, stream) -> None:
        for chunk in iter(lambda: stream.read1(65536), b""):
            self.total += len(chunk)
            room = self.cap - len(self.kept)
            if room > 0:
                self.kept += chunk[:room]

    def text(self) -> str:
        text = self.kept.decode("utf-8", errors="replace")
        if self.total > len(self.kept):
            text += f"\n[... {self.total - len(self.kept):,} more bytes of output cut]"
        return text


class _States:
    """Reads the checker's state lines on a thread, keeping the last one; a line that is not sealed with
    the key marks the whole grading as forged."""

    def __init__(self, stream, key: bytes):
        self.last: dict | None = None
        self.forged = False
        self.progress: list[dict] = []  # progress points not yet handed on (appended here, taken by the poller)
        self.thread = threading.Thread(target=self._read, args=(stream, key), daemon=True)
        self.thread.start()

    def _read(self, stream, key: bytes) -> None:
        for line in stream:
            if not line.endswith(b"\n"):
                break  # cut off by a kill: not a complete state
            state = unseal(line.decode("utf-8", errors="replace"), key)
            if state is None:
                self.forged = True
            elif set(state) == {"progress"}:
                if isinstance(state["progress"], dict):
                    self.progress.append(state["progress"])
            else:
                self.last = state

    def take_progress(self) -> list[dict]:
        taken, self.progress = self.progress, []  # list swaps are atomic under the GIL
        return taken


def grade_file(lab_id: str, path: Path | str, *, timeout_s: float | None = None,
               memory_mb: int = DEFAULT_MEMORY_MB, train_budget_s: float = 30.0,
               without: tuple[str, ...] = (), on_event: Callable[[Event], None] | None = None,
               cancel: threading.Event | None = None) -> ImplementGrade:
    """Grade the learner's file for `lab_id` (KeyError for a lab without implement mode). `without`
    names confinements not to attempt ("namespaces", "landlock"), to test a kernel that lacks them;
    `on_event` hears the training check's Started and Progress events; `cancel` stops grading.
    `timeout_s` None: the task's own (Task.timeout_s), else DEFAULT_TIMEOUT_S."""
    task = get_task(lab_id)
    timeout_s = timeout_s or task.timeout_s or DEFAULT_TIMEOUT_S
    path = Path(path).resolve()
    start = time.perf_counter()
    # the learner's private folder is made in here, so it is deleted even if the checker was killed
    with tempfile.TemporaryDirectory(prefix="pathlab-grade-", ignore_cleanup_errors=True) as scratch:
        job = Job(lab_id=lab_id, path=str(path), parent_pid=os.getpid(), memory_mb=memory_mb,
                  cpu_s=max(2, int(timeout_s) + 1), train_budget_s=min(train_budget_s, timeout_s),
                  scratch=scratch, without=without)
        key = secrets.token_hex(32).encode()
        events = _Events(lab_id, on_event)
        problem, output, state, forged = _run_checker(job, key, timeout_s, events, cancel)
    if forged:
        problem, state = FORGED, _empty_state()
    duration = time.perf_counter() - start
    return _assemble(task, state or _empty_state(), problem, output, duration)


class _Events:
    """Progress points from the checker, as the events a lab run emits."""

    def __init__(self, lab_id: str, on_event: Callable[[Event], None] | None):
        self.lab_id, self.on_event = lab_id, on_event
        self.total: int | None = None

    def hand_on(self, points: list[dict]) -> None:
        if self.on_event is None:
            return
        for point in points:
            try:
                step, total = int(point["step"]), int(point["total"])
                metrics = {str(k): float(v) for k, v in dict(point["metrics"]).items()}
                elapsed = float(point.get("elapsed_s", 0.0))
            except (KeyError, TypeError, ValueError):
                continue  # sealed, so the checker's; a malformed point is skipped, never a crash
            if total != self.total:
                self.total = total
                self.on_event(Started(lab_id=self.lab_id, total_steps=max(total, 0), unit="step"))
            self.on_event(Progress(step=step, metrics=metrics, elapsed_s=elapsed))


def _run_checker(job: Job, key: bytes, timeout_s: float, events: _Events | None = None,
                 cancel: threading.Event | None = None) -> tuple[str | None, str, dict | None, bool]:
    """Run the checker; the problem that stopped it early (None when it finished), the learner's output,
    the last state it reported, and whether a state line was forged."""
    env = {k: v for k, v in os.environ.items() if k != "PATHLAB_DB"}
    env.update({"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
                "PYTHONDONTWRITEBYTECODE": "1", "PYTHONPATH": _labs_root()})
    proc = subprocess.Popen(
        [sys.executable, "-m", "labs.implement.checker", job.model_dump_json()],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        cwd=Path(labs.__file__).resolve().parent.parent, env=env, start_new_session=True,
    )
    try:
        proc.stdin.write(key + b"\n")
        proc.stdin.close()
    except BrokenPipeError:
        pass  # the child died at once: its exit status says why
    states, output = _States(proc.stdout, key), _Output(proc.stderr, OUTPUT_CAP)
    deadline = time.monotonic() + timeout_s
    problem = None
    try:
        while proc.poll() is None:
            if events is not None:
                events.hand_on(states.take_progress())
            if cancel is not None and cancel.is_set():
                problem = CANCELLED
                break
            if output.total > FLOOD_LIMIT:
                problem = f"your code printed more than {FLOOD_LIMIT // 1_000_000} MB, so grading was stopped " \
                          "(remove prints from loops)"
                break
            if time.monotonic() > deadline:
                problem = f"grading was stopped after {timeout_s:g} s (an endless loop, or code far too slow)"
                break
            time.sleep(POLL_S)
    except KeyboardInterrupt:  # Ctrl-C: the checker is in a session of its own, so it did not hear it
        problem = CANCELLED
    if proc.returncode is None:  # still running: stop it and everything below it before it is reaped
        confine.kill_tree(proc.pid, include_root=True)
    _kill_group(proc.pid)
    proc.wait()
    states.thread.join(timeout=2)
    output.thread.join(timeout=2)
    if events is not None:
        events.hand_on(states.take_progress())  # the last point, always
    if problem is None and proc.returncode != 0:
        problem = f"the grader's checker process ended with code {proc.returncode} before finishing"
    return problem, output.text(), states.last, states.forged


def _kill_group(pid: int) -> None:
    """Anything left in the checker's process group (the checker itself killed its descendants)."""
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _labs_root() -> str:
    root = str(Path(labs.__file__).resolve().parent.parent)
    rest = os.environ.get("PYTHONPATH")
    return root + (os.pathsep + rest if rest else "")


FORGED = "the results were not written by the grader (your code wrote them?), so no check counts"


def _empty_state() -> dict:
    return {"checks": [], "running": None, "metrics": {}, "confinement": None, "aborted": None, "done": False}


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
    status = "cancelled" if problem and problem.startswith(CANCELLED) else \
        "error" if problem else ("passed" if result.passed else "failed")
    confinement = Confinement.model_validate(state["confinement"]) if state.get("confinement") else None
    return ImplementGrade(
        lab_id=task.lab_id, status=status, grade=result, metrics=state.get("metrics", {}),
        feedback=problem or _feedback(result), output=output, duration_s=round(duration, 3),
        confinement=confinement,
    )


def dataset_hash(dataset: str) -> str:
    """The content hash of the data the training check used (recorded with the attempt)."""
    from labs import datasets
    from labs.implement.checks.charlm import N_CHARS

    made = {"digits": datasets.load_digits, "text": lambda: datasets.load_text(N_CHARS),
            "linear": datasets.make_linear, "spirals": datasets.make_spirals}
    return made[dataset]().sha256 if dataset in made else ""


def _feedback(result: Grade) -> str:
    if result.passed:
        return f"every check passed: {result.score:g}/100. This work is yours."
    first = result.checks[0]
    return f"score {result.score:g}/100. First to fix: {first.title}: {first.message}"
