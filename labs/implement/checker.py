"""The trusted child that grades a learner's file: `python -m labs.implement.checker JOB_JSON`.

It holds the checks, the tolerances, the reference solutions and the grade; the learner's file never
runs in it. It starts the learner's process (remote.py: confined, holding only stub.py) and calls the
learner's functions over a pipe, so nothing the learner's file does can change a check, a tolerance or a
result. It dies with the grading process (PR_SET_PDEATHSIG), makes itself undumpable (no other process
of the user reads its memory, fds or environment) and the subreaper of everything the learner starts, so
when grading ends it kills every descendant, setsid or not.

After every check it writes its whole state as one line on stdout, sealed with the key the grader sent
on stdin (protocol.seal): if anything hangs, crashes or exits, the grader still knows what was earned and
where it stopped. The learner's prints go to stderr, which the grader reads separately with a cap.

State: {"checks": [CheckResult...], "running": check id or null, "metrics": {...}, "confinement": {...},
        "aborted": null or {"kind", "message"}, "done": bool}

While the training check runs, its progress goes out as sealed lines of their own, between the states:
{"progress": {"step", "total", "metrics": {name: float}, "elapsed_s"}}, at most PROGRESS_PER_S a second
and always the last one (`Throttle`), so the app draws the learner's loss curve live.
"""

from __future__ import annotations

import importlib
import inspect
import math
import os
import resource
import signal
import sys
import time
from pathlib import Path
from types import ModuleType

from labs.grading import CheckResult, CheckSpec, evaluate, skipped
from labs.implement import confine
from labs.implement.checks.common import CheckFailed
from labs.implement.protocol import Confinement, Job, seal
from labs.implement.remote import Learner, LearnerRaised, LearnerStopped
from labs.implement.scaffold import unwritten_functions
from labs.implement.tasks import STRUCTURE, TRAIN, Task, get_task


class Aborted(Exception):
    """Grading cannot go on (the learner's code exited, ran out of memory or its process died)."""

    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind, self.message = kind, message


def stopped(exc: LearnerStopped, during: str, job: Job) -> Aborted:
    """What a stopped learner process means, in the learner's terms; `during` says when."""
    if exc.kind == "exit":
        return Aborted("exit", f"your code called sys.exit({exc.code}) {during}"
                       + ("; a module to be graded must only define functions" if "imported" in during else ""))
    if exc.kind == "memory":
        return Aborted("memory", f"your code ran out of memory {during}")
    if exc.kind == "protocol":
        return Aborted("protocol", f"the grader's channel to your code received data it did not send {during} "
                                   "(does your code write to file descriptors it did not open?)")
    if _signal_of(exc.status) in (signal.SIGXCPU, signal.SIGKILL):
        return Aborted("cpu", f"grading was stopped: your code used more than {job.cpu_s} s of CPU time")
    return Aborted("gone", f"your code's process stopped without reporting its results {during} "
                           "(os._exit, a signal, or a crash)")


def _signal_of(status: int | None) -> int | None:
    """The signal that ended the learner's process: Popen says -N; the namespace's waiting parent 128+N."""
    if status is None or status == 0:
        return None
    return -status if status < 0 else (status - 128 if status > 128 else None)


PROGRESS_PER_S = 10
"""progress lines a second at most: the curve stays live without flooding the grader"""


class Throttle:
    """Turns a check's `report(step, total, metrics)` calls into progress lines, at most `per_s` a
    second; the call held back last is written by `flush()`, so the curve always ends where training did.
    What a report carries is checked here: only finite numbers travel."""

    def __init__(self, rec: Recorder, per_s: float = PROGRESS_PER_S, clock=time.monotonic):
        self._rec, self._gap, self._clock = rec, 1.0 / per_s, clock
        self._start = clock()
        self._last_sent = -math.inf
        self._held: dict | None = None

    def __call__(self, step: int, total: int, metrics: dict[str, float]) -> None:
        clean = {str(k): float(v) for k, v in metrics.items() if math.isfinite(float(v))}
        self._held = {"step": int(step), "total": int(total), "metrics": clean,
                      "elapsed_s": round(self._clock() - self._start, 3)}
        if self._clock() - self._last_sent >= self._gap:
            self.flush()

    def flush(self) -> None:
        if self._held is not None:
            self._rec.progress(self._held)
            self._held, self._last_sent = None, self._clock()


class Recorder:
    """Keeps the results so far and writes them, sealed, as a line on stdout after every change."""

    def __init__(self, key: bytes):
        self._key = key
        self.state: dict = {"checks": [], "running": None, "metrics": {}, "confinement": None,
                            "aborted": None, "done": False}

    def running(self, check_id: str | None) -> None:
        self.state["running"] = check_id
        self._write()

    def add(self, result: CheckResult) -> None:
        self.state["checks"].append(result.model_dump())
        self._write()

    def progress(self, point: dict) -> None:
        """A progress line of the training check (not a state: the grader keeps the last state apart)."""
        sys.stdout.write(seal({"progress": point}, self._key) + "\n")
        sys.stdout.flush()

    def finish(self, aborted: Aborted | None = None) -> None:
        self.state["running"] = None
        self.state["aborted"] = {"kind": aborted.kind, "message": aborted.message} if aborted else None
        self.state["done"] = True
        self._write()

    def _write(self) -> None:
        sys.stdout.write(seal(self.state, self._key) + "\n")
        sys.stdout.flush()


# -- stage 1 ---------------------------------------------------------------------------------------
def structure(task: Task, path: Path, learner: Learner, rec: Recorder, job: Job) -> dict[str, str] | None:
    """Import the file in the learner's process and find, per function, why it cannot be checked
    (missing, wrong signature, not written); None when it does not import. The structure check earns
    the share of functions that are present, callable and written."""
    spec = task.check(STRUCTURE)
    source = path.read_text("utf-8")
    try:
        found = learner.load({fn.name: fn.params for fn in task.functions})
    except LearnerStopped as exc:
        raise stopped(exc, "while being imported", job) from None
    except LearnerRaised as exc:
        at = f" (line {exc.line})" if exc.line else ""
        hint = ("; the grader's own modules cannot be imported from your file: write the functions yourself"
                if "No module named 'labs'" in exc.text else "")
        rec.add(evaluate(spec, 0.0, f"your file does not import{at}: {exc.text}{hint}"))
        return None
    blocked = _blocked_functions(task, found, unwritten_functions(source))
    written = len(task.functions) - len(blocked)
    if not blocked:
        message = f"all {written} functions are written with the scaffold's signatures"
    elif written == 0 and all(m.endswith("not written yet") for m in blocked.values()):
        message = (f"none of the {len(task.functions)} functions is written yet: start with "
                   f"{task.functions[0].name} (`pathlab lab hint {task.lab_id}` if you are stuck)")
    else:
        message = f"{written} of {len(task.functions)} functions ready; " + "; ".join(blocked.values())
    rec.add(evaluate(spec, written / len(task.functions), message))
    return blocked


def _blocked_functions(task: Task, found: dict[str, str], unwritten: set[str]) -> dict[str, str]:
    blocked = {}
    for fn in task.functions:
        if found.get(fn.name) == "missing":
            blocked[fn.name] = f"{fn.name} is missing (expected {fn.name}({', '.join(fn.params)}))"
        elif found.get(fn.name) != "ok":
            blocked[fn.name] = (f"{fn.name} cannot be called as {fn.name}({', '.join(fn.params)}); "
                                "keep the scaffold's parameters")
        elif fn.name in unwritten:
            blocked[fn.name] = f"{fn.name} is not written yet"
    return blocked


# -- stages 2 to 4 ---------------------------------------------------------------------------------------
def run_checks(task: Task, job: Job, learner: Learner, rec: Recorder) -> None:
    checks = importlib.import_module(f"labs.implement.checks.{task.module}")
    blocked = structure(task, Path(job.path), learner, rec, job)
    rest = [s for s in task.checks if s.id != STRUCTURE]
    if blocked is None:
        for spec in rest:
            rec.add(skipped(spec, "skipped: your file does not import"))
        return
    for spec in rest:
        if spec.id == TRAIN:
            not_passed = [r["id"] for r in rec.state["checks"] if r["status"] != "passed"]
            if not_passed:
                rec.add(skipped(spec, f"skipped until every earlier check passes (fix: {', '.join(not_passed)})"))
            else:
                rec.add(_run(spec, lambda m: _train(checks, m, job, rec), learner, rec, job))
            continue
        function = spec.id.split(":", 1)[1]
        if function in blocked:
            rec.add(evaluate(spec, 0.0, blocked[function]))
        else:
            rec.add(_run(spec, checks.CHECKS[spec.id], learner, rec, job))


def _train(checks: ModuleType, learner: Learner, job: Job, rec: Recorder) -> tuple[float, str]:
    """The training check; a module whose train() takes `report` streams its curve (see Throttle)."""
    if "report" not in inspect.signature(checks.train).parameters:
        fraction, message, metrics = checks.train(learner, job.train_budget_s)
    else:
        report = Throttle(rec)
        try:
            fraction, message, metrics = checks.train(learner, job.train_budget_s, report=report)
        finally:
            report.flush()
    rec.state["metrics"].update(metrics)
    return fraction, message


def _run(spec: CheckSpec, check, learner: Learner, rec: Recorder, job: Job) -> CheckResult:
    rec.running(spec.id)
    try:
        outcome = check(learner)
    except CheckFailed as failed:
        return evaluate(spec, 0.0, failed.message)
    except LearnerStopped as exc:
        raise stopped(exc, f"during the check '{spec.title}'", job) from None
    except LearnerRaised as exc:  # a learner's bug inside a longer run (training): report it like `call` does
        return evaluate(spec, 0.0, f"{exc.type_name}: {exc.message}{exc.where}")
    except Exception as exc:  # what the learner returned broke a comparison: still the learner's value
        return evaluate(spec, 0.0, f"{type(exc).__name__}: {exc}")
    fraction, message = outcome if isinstance(outcome, tuple) else (1.0, outcome)
    return evaluate(spec, fraction, message)


def confinement(hello: dict, subreaper: bool, hidden: bool) -> Confinement:
    """What applied, from the learner's process's first message (sent before the learner's code ran)."""
    return Confinement(
        network="namespace" if hello.get("network") else ("tcp-blocked" if hello.get("tcp") else "open"),
        writes="landlock" if hello.get("writes") else "open",
        reads="landlock" if hello.get("reads") else "open",
        processes=("pid-namespace" if hello.get("pid") else "subreaper" if subreaper else "process-group"),
        dies_with_grader=bool(hello.get("die_with_parent")),
        signals_blocked=bool(hello.get("signals")),
        grader_hidden=hidden,
    )


def main(argv: list[str]) -> int:
    job = Job.model_validate_json(argv[0])
    confine.die_with_parent(job.parent_pid)
    hidden = confine.not_dumpable()
    subreaper = confine.become_subreaper()
    key = sys.stdin.buffer.readline().strip()
    rec = Recorder(key)
    cpu = job.cpu_s + 30  # the checks' own work; the learner's process has its own limit of cpu_s
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 5))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    aborted, learner = None, None
    start = time.perf_counter()
    try:
        learner = Learner.start(Path(job.path), memory_mb=job.memory_mb, cpu_s=job.cpu_s, without=job.without,
                                scratch=job.scratch)
        rec.state["confinement"] = confinement(learner.hello, subreaper, hidden).model_dump()
        run_checks(get_task(job.lab_id), job, learner, rec)
    except LearnerStopped as exc:
        aborted = stopped(exc, "before grading began", job)
    except Aborted as exc:
        aborted = exc
    finally:
        if learner is not None:
            learner.close()
        confine.kill_tree(os.getpid(), include_root=False)
    rec.state["metrics"]["grading_seconds"] = time.perf_counter() - start
    rec.finish(aborted)
    os._exit(0)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
