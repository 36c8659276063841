"""A learner's file run in the test's own process, for checks that need no confinement: the check modules'
`call(m, name, ...)` and `m.batch()` work on it as on `labs.implement.remote.Learner`, but a call costs
microseconds instead of a process. The real grader's path is tested once per task (the reference, the
scaffold and one file of several mistakes); further classic mistakes are judged through this, so each costs
the suite nothing measurable. Arguments are deep-copied, as the pipe copies them; an exception becomes
`LearnerRaised`, as the stub reports it."""

from __future__ import annotations

import copy
import types

from labs.implement.remote import LearnerRaised


class InProcess:
    def __init__(self, source: str, name: str = "learner"):
        self._module = types.ModuleType(name)
        exec(compile(source, f"<{name}>", "exec"), self._module.__dict__)

    def _run(self, name: str, args: tuple) -> object:
        try:
            return getattr(self._module, name)(*copy.deepcopy(args))
        except Exception as exc:  # the learner's bug, as the stub would report it
            raise LearnerRaised(name, {"type": type(exc).__name__, "message": str(exc)}) from None

    def __getattr__(self, name: str):
        if name.startswith("_"):
            raise AttributeError(name)
        return lambda *args: self._run(name, args)

    def batch(self) -> "_Batch":
        return _Batch(self)


class _Ref:
    def __init__(self, index: int):
        self.index = index


class _Batch:
    def __init__(self, learner: InProcess):
        self._learner, self._calls = learner, []

    def __getattr__(self, name: str):
        if name.startswith("_"):
            raise AttributeError(name)

        def record(*args: object) -> _Ref:
            self._calls.append((name, args))
            return _Ref(len(self._calls) - 1)
        return record

    def run(self, *refs: _Ref) -> tuple:
        results: list = []
        for name, args in self._calls:
            resolved = tuple(results[a.index] if isinstance(a, _Ref) else a for a in args)
            results.append(self._learner._run(name, resolved))
        return tuple(results[r.index] for r in refs)
