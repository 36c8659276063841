"""The child process that grades a learner's file: `python -m labs.implement.sandbox JOB_JSON`.

It limits itself first (address space, CPU seconds, file size, no core dumps), then imports the learner's
file and runs the task's checks in order. After every check it rewrites the result file (atomically), and
before each it records which check is running: if the learner's code hangs, crashes the interpreter or
exits, the parent still knows what was earned and where it stopped. The result file is the only channel
the parent trusts; the learner's prints go to stdout, which the parent reads separately with a cap.
Every write is sealed (protocol.seal) with the key the parent sends as the first line on stdin, read
before the learner's file is imported, so a result file the learner's code writes is rejected. And every
result is recorded only after checking that the learner's code has not replaced any of the grader's
functions (integrity.py); if it has, grading stops and no check counts.

Result file: {"checks": [CheckResult...], "running": check id or null, "metrics": {...},
              "aborted": null or {"kind": "exit" | "memory", "message": ...}, "done": bool}
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import os
import resource
import sys
import time
import traceback
from pathlib import Path
from types import ModuleType

from labs.grading import CheckResult, CheckSpec, evaluate, skipped
from labs.implement.checks.common import CheckFailed, where
from labs.implement.integrity import Fingerprint
from labs.implement.protocol import Job, seal
from labs.implement.scaffold import unwritten_functions
from labs.implement.tasks import STRUCTURE, TRAIN, Task, get_task


class Aborted(Exception):
    """Grading cannot go on (the learner's code exited, ran out of memory or changed the grader)."""

    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind, self.message = kind, message


def limit_resources(job: Job) -> None:
    mb = 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (job.memory_mb * mb, job.memory_mb * mb))
    resource.setrlimit(resource.RLIMIT_CPU, (job.cpu_s, job.cpu_s + 5))
    resource.setrlimit(resource.RLIMIT_FSIZE, (64 * mb, 64 * mb))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


class Recorder:
    """Keeps the results so far and rewrites the result file after every change."""

    def __init__(self, path: str, key: bytes):
        self.path, self._key = Path(path), key
        self.state: dict = {"checks": [], "running": None, "metrics": {}, "aborted": None, "done": False}
        self.fingerprint: Fingerprint | None = None  # taken just before the learner's file is imported

    def running(self, check_id: str | None) -> None:
        self.state["running"] = check_id
        self._write()

    def add(self, result: CheckResult) -> None:
        changed = self.fingerprint.changed() if self.fingerprint else None
        if changed:
            raise Aborted("tamper", f"your code replaced the grader's {changed}, so grading stopped and no "
                                    "check counts; a graded file must only define its functions")
        self.state["checks"].append(result.model_dump())
        self._write()

    def finish(self, aborted: Aborted | None = None) -> None:
        if aborted and aborted.kind == "tamper":
            self.state["checks"], self.state["metrics"] = [], {}
        self.state["running"] = None
        self.state["aborted"] = {"kind": aborted.kind, "message": aborted.message} if aborted else None
        self.state["done"] = True
        self._write()

    def _write(self) -> None:
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(seal(self.state, self._key))
        os.replace(tmp, self.path)


# -- stage 1 ---------------------------------------------------------------------------------------
def import_learner(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location("learner_solution", path)
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except SystemExit as exc:
        raise Aborted("exit", f"your file called sys.exit({exc.code!r}) while being imported; "
                              "a module to be graded must only define functions") from None
    return module


def structure(task: Task, path: Path, rec: Recorder) -> tuple[ModuleType | None, dict[str, str]]:
    """Import the file and find, per function, why it cannot be checked (missing, wrong signature, not
    written). The structure check earns the share of functions that are present, callable and written."""
    spec = task.check(STRUCTURE)
    try:
        source = path.read_text("utf-8")
        module = import_learner(path)
    except Aborted:
        raise
    except MemoryError:
        raise Aborted("memory", "your file ran out of memory while being imported") from None
    except Exception as exc:
        error = "".join(traceback.format_exception_only(type(exc), exc)).strip()
        line = next((f.lineno for f in reversed(traceback.extract_tb(exc.__traceback__))
                     if f.filename == str(path)), None)
        at = f" (line {line})" if line else ""
        rec.add(evaluate(spec, 0.0, f"your file does not import{at}: {error}"))
        return None, {}
    blocked = _blocked_functions(task, module, source)
    written = len(task.functions) - len(blocked)
    if not blocked:
        message = f"all {written} functions are written with the scaffold's signatures"
    elif written == 0 and all(m.endswith("not written yet") for m in blocked.values()):
        message = (f"none of the {len(task.functions)} functions is written yet: start with "
                   f"{task.functions[0].name} (`pathlab lab hint {task.lab_id}` if you are stuck)")
    else:
        message = f"{written} of {len(task.functions)} functions ready; " + "; ".join(blocked.values())
    rec.add(evaluate(spec, written / len(task.functions), message))
    return module, blocked


def _blocked_functions(task: Task, module: ModuleType, source: str) -> dict[str, str]:
    unwritten = unwritten_functions(source)
    blocked = {}
    for fn in task.functions:
        obj = getattr(module, fn.name, None)
        if not callable(obj):
            blocked[fn.name] = f"{fn.name} is missing (expected {fn.name}({', '.join(fn.params)}))"
            continue
        try:
            inspect.signature(obj).bind(*fn.params)
        except (TypeError, ValueError):
            blocked[fn.name] = (f"{fn.name} cannot be called as {fn.name}({', '.join(fn.params)}); "
                                "keep the scaffold's parameters")
        else:
            if fn.name in unwritten:
                blocked[fn.name] = f"{fn.name} is not written yet"
    return blocked


# -- stages 2 to 4 ---------------------------------------------------------------------------------------
def run_checks(task: Task, job: Job, rec: Recorder) -> None:
    checks = importlib.import_module(f"labs.implement.checks.{task.module}")
    rec.fingerprint = Fingerprint.take()
    module, blocked = structure(task, Path(job.path), rec)
    rest = [s for s in task.checks if s.id != STRUCTURE]
    if module is None:
        for spec in rest:
            rec.add(skipped(spec, "skipped: your file does not import"))
        return
    for spec in rest:
        if spec.id == TRAIN:
            not_passed = [r["id"] for r in rec.state["checks"] if r["status"] != "passed"]
            if not_passed:
                rec.add(skipped(spec, f"skipped until every earlier check passes (fix: {', '.join(not_passed)})"))
            else:
                rec.add(_run(spec, module, lambda m: _train(checks, m, job, rec), rec))
            continue
        function = spec.id.split(":", 1)[1]
        if function in blocked:
            rec.add(evaluate(spec, 0.0, blocked[function]))
        else:
            rec.add(_run(spec, module, checks.CHECKS[spec.id], rec))


def _train(checks: ModuleType, module: ModuleType, job: Job, rec: Recorder) -> tuple[float, str]:
    fraction, message, metrics = checks.train(module, job.train_budget_s)
    rec.state["metrics"].update(metrics)
    return fraction, message


def _run(spec: CheckSpec, module: ModuleType, check, rec: Recorder) -> CheckResult:
    rec.running(spec.id)
    try:
        outcome = check(module)
    except CheckFailed as failed:
        return evaluate(spec, 0.0, failed.message)
    except MemoryError:
        raise Aborted("memory", f"your code ran out of memory during the check '{spec.title}'") from None
    except SystemExit as exc:
        raise Aborted("exit", f"your code called sys.exit({exc.code!r}) during the check '{spec.title}'") from None
    except Exception as exc:  # a learner's bug inside a longer run (training): report it like `call` does
        return evaluate(spec, 0.0, f"{type(exc).__name__}: {exc}{where(exc, module)}")
    fraction, message = outcome if isinstance(outcome, tuple) else (1.0, outcome)
    return evaluate(spec, fraction, message)


def main(argv: list[str]) -> int:
    job = Job.model_validate_json(argv[0])
    key = sys.stdin.buffer.readline().strip()  # before the learner's code can read stdin
    limit_resources(job)
    rec = Recorder(job.result_path, key)
    aborted = None
    start = time.perf_counter()
    try:
        run_checks(get_task(job.lab_id), job, rec)
    except Aborted as exc:
        aborted = exc
    rec.state["metrics"]["grading_seconds"] = time.perf_counter() - start
    rec.finish(aborted)
    sys.stdout.flush()
    os._exit(0)  # skip interpreter teardown: the learner's atexit hooks and finalisers do not run


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
