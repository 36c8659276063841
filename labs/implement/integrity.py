"""Notice when the learner's code changes the grader's own code in the sandbox.

The learner's file runs in the same interpreter as the checks, so three lines at its top could replace a
check (`checks.expect_array = lambda *a, **k: None`), NumPy's `allclose`, or `json.dumps` under the
result file's seal, and every check would pass. `Fingerprint.take()` records, before the learner's file is
imported, the identity of every function, class, method and code object that the modules the grader uses
expose; `changed()` (called after the import and after every check) names the first one that differs.

This is a tripwire, not a wall: code written to defeat this very module could still do so. It turns the
easy forgery (reassign an attribute you read about in the grader's source) into deliberate cheating.
"""

from __future__ import annotations

import sys
from types import ModuleType

GUARDED = ("labs", "numpy", "builtins", "json", "hmac", "hashlib", "os", "posixpath", "pathlib", "math",
           "importlib", "inspect", "traceback", "pydantic", "pydantic_core", "io", "sys", "time", "__main__")
"""module names (and their submodules) whose contents the grader relies on"""


def _guarded(name: str) -> bool:
    return any(name == g or name.startswith(g + ".") for g in GUARDED)


def _identities(module: ModuleType) -> dict[str, int]:
    out: dict[str, int] = {}
    for key, value in list(vars(module).items()):
        if not (callable(value) or isinstance(value, ModuleType)):
            continue
        out[key] = id(value)
        code = getattr(value, "__code__", None)
        if code is not None:
            out[key + ".__code__"] = id(code)
        if isinstance(value, type) and value.__module__ == module.__name__:  # methods of its own classes
            for attr, member in list(vars(value).items()):
                if callable(member) or isinstance(member, (staticmethod, classmethod, property)):
                    out[f"{key}.{attr}"] = id(member)
    return out


class Fingerprint:
    """The identities of the guarded modules' callables at one moment."""

    def __init__(self, snapshot: dict[str, dict[str, int]]):
        self._snapshot = snapshot

    @classmethod
    def take(cls) -> Fingerprint:
        return cls({name: _identities(m) for name, m in list(sys.modules.items())
                    if isinstance(m, ModuleType) and _guarded(name)})

    def changed(self) -> str | None:
        """The dotted name of the first guarded attribute that was replaced or deleted, else None."""
        for name, before in self._snapshot.items():
            module = sys.modules.get(name)
            now = _identities(module) if isinstance(module, ModuleType) else {}
            for key, ident in before.items():
                if now.get(key) != ident:
                    return f"{name}.{key}"
        return None
