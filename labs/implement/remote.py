"""The checker's handle on the learner's process: start it confined, then call the learner's functions.

`Learner.start(...)` prepares a private folder (HOME, working and temporary directory, and `lib/` with
copies of stub.py, wire.py, confine.py and links to NumPy), starts `python -I -S -B -u lib/stub.py` with a
scrubbed environment, and reads its `hello` (which confinements applied). Then

    learner.load(functions)            -> {name: "ok" | "missing" | "signature"}   (imports the file)
    learner.linear_forward(x, W, b)    -> what the learner's function returned, decoded (one round trip)
    step = learner.batch(); h = step.relu_forward(step.linear_forward(x, W, b)); step.run(h, ...)
                                       -> several calls, one round trip; results feed later calls

A learner's exception arrives as `LearnerRaised` (its type, message and line in their file); an exit,
running out of memory, dying, or writing garbage on the channel as `LearnerStopped(kind)`.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from labs.implement import confine, wire

HERE = Path(__file__).resolve().parent
COPIED = ("stub.py", "wire.py", "confine.py")
SYSTEM_READABLE = ["/usr", "/lib", "/lib64", "/lib32", "/bin", "/sbin", "/etc", "/dev", "/proc", "/sys"]
"""what a process needs to read to run at all (shared libraries, locale, /dev/urandom, CPU counts)"""


class LearnerRaised(Exception):
    """The learner's function raised: `type_name`, `message`, and `where` (their file's line, or '')."""

    def __init__(self, fn: str, error: dict):
        self.fn = fn
        self.type_name = str(error.get("type") or "Exception")
        self.message = str(error.get("message") or "")
        line, source = error.get("line"), error.get("source")
        self.line = line if type(line) is int else None
        self.where = f" (line {line} of your file: {source})" if self.line and source else ""
        super().__init__(f"{self.type_name}: {self.message}")


class LearnerStopped(Exception):
    """The learner's process cannot go on: kind is exit (with `code`), memory, gone (with `status`), or
    protocol (it wrote something the stub did not)."""

    def __init__(self, kind: str, code: str = "", status: int | None = None):
        super().__init__(kind)
        self.kind, self.code, self.status = kind, code, status


class Learner:
    def __init__(self, proc: subprocess.Popen, requests: int, replies: int, private: Path, max_body: int):
        self.proc, self._requests, self._replies = proc, requests, replies
        self.private, self._max_body = private, max_body
        self.hello: dict = {}

    @classmethod
    def start(cls, path: Path, *, memory_mb: int, cpu_s: int, without: tuple[str, ...] = (),
              scratch: str | None = None) -> Learner:
        """`scratch`: the folder to make the private one in (the grader deletes it even if we die)."""
        private = Path(tempfile.mkdtemp(prefix="pathlab-learner-", dir=scratch)).resolve()
        home, lib = private / "home", private / "lib"
        (home / "tmp").mkdir(parents=True)
        lib.mkdir()
        for name in COPIED:
            shutil.copyfile(HERE / name, lib / name)
        readable = [str(path.parent.resolve())] + SYSTEM_READABLE
        readable.append(str(Path(os.path.realpath(sys.executable)).parent))
        for package in _numpy_dirs():
            (lib / package.name).symlink_to(package, target_is_directory=True)
            readable.append(str(package))
        req_r, req_w = os.pipe()
        rep_r, rep_w = os.pipe()
        for fd in (req_w, rep_w):
            _widen(fd)
        config = {"requests": req_r, "replies": rep_w, "parent": os.getpid(), "learner": str(path),
                  "sys_path": [str(lib), str(path.parent)], "writable": [str(private)], "readable": readable,
                  "memory_mb": memory_mb, "cpu_s": cpu_s, "without": list(without)}
        env = {"PATH": "/usr/bin:/bin", "HOME": str(home), "TMPDIR": str(home / "tmp"), "LANG": "C.UTF-8",
               "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
        try:
            proc = subprocess.Popen(
                [sys.executable, "-I", "-S", "-B", "-u", "-X", "utf8", str(lib / "stub.py"), json.dumps(config)],
                stdin=subprocess.DEVNULL, stdout=sys.stderr.fileno(), stderr=sys.stderr.fileno(),
                cwd=home, env=env, pass_fds=(req_r, rep_w), close_fds=True)
        finally:
            os.close(req_r)
            os.close(rep_w)
        learner = cls(proc, req_w, rep_r, private, memory_mb * 1024 * 1024)
        fields, _ = learner._read()
        learner.hello = fields.get("hello") if isinstance(fields.get("hello"), dict) else {}
        return learner

    # -- calls -----------------------------------------------------------------------------------------
    def load(self, functions: dict[str, tuple[str, ...]]) -> dict[str, str]:
        """Import the learner's file; {name: ok | missing | signature}. LearnerRaised (with `text`, the
        exception as Python prints it) when it does not import."""
        self._send({"op": "load", "functions": {k: list(v) for k, v in functions.items()}})
        fields, _ = self._read()
        if not fields.get("ok"):
            error = self._error(fields, "import")
            raised = LearnerRaised("import", error)
            raised.text = str(error.get("text") or raised)
            raise raised
        found = fields.get("functions")
        if not isinstance(found, dict):
            raise LearnerStopped("protocol")
        return {k: str(found.get(k)) for k in functions}

    def batch(self) -> Batch:
        return Batch(self)

    def __getattr__(self, name: str):
        if name.startswith("_"):
            raise AttributeError(name)

        def call(*args: object) -> object:
            step = Batch(self)
            return step.run(step.call(name, *args))[0]

        call.__name__ = name
        return call

    def _run(self, calls: list, returns: list, values: list) -> tuple:
        self._send({"op": "run", "calls": calls, "return": returns}, {"args": values})
        fields, arrays = self._read()
        if not fields.get("ok"):
            error = self._error(fields, "run")
            raise LearnerRaised(str(error.get("fn") or "?"), error)
        try:
            out = wire.decode(fields.get("values"), arrays)
        except wire.WireError:
            raise LearnerStopped("protocol") from None
        if not isinstance(out, tuple) or len(out) != len(returns):
            raise LearnerStopped("protocol")
        return out

    def _error(self, fields: dict, where: str) -> dict:
        error = fields.get("error")
        if not isinstance(error, dict):
            raise LearnerStopped("protocol")
        kind = error.get("kind")
        if kind == "exit":
            raise LearnerStopped("exit", code=str(error.get("code"))[:100])
        if kind == "memory":
            raise LearnerStopped("memory")
        if kind != "raised":
            raise LearnerStopped("protocol")
        return error

    def _send(self, fields: dict, values: dict | None = None) -> None:
        try:
            wire.write_message(self._requests, fields, values)
        except (BrokenPipeError, OSError):
            raise LearnerStopped("gone", status=self._status()) from None

    def _read(self) -> tuple[dict, list[np.ndarray]]:
        try:
            return wire.read_message(self._replies, self._max_body)
        except EOFError:
            raise LearnerStopped("gone", status=self._status()) from None
        except wire.WireError:
            raise LearnerStopped("protocol") from None

    def _status(self) -> int | None:
        try:
            return self.proc.wait(timeout=2)
        except subprocess.TimeoutExpired:
            return None

    # -- the end ---------------------------------------------------------------------------------------
    def close(self) -> None:
        """Ask the learner's process to quit, then kill it and everything it started, and delete its folder."""
        try:
            wire.write_message(self._requests, {"op": "quit"})
        except OSError:
            pass
        try:
            self.proc.wait(timeout=0.5)
        except subprocess.TimeoutExpired:
            pass
        confine.kill_tree(os.getpid(), include_root=False)  # this process is their subreaper
        self.proc.kill()
        self.proc.wait()
        for fd in (self._requests, self._replies):
            try:
                os.close(fd)
            except OSError:
                pass
        shutil.rmtree(self.private, ignore_errors=True)


class Ref:
    """A call's result inside a batch (or one item of it: `ref[1]`)."""

    def __init__(self, index: int, item: int | None = None):
        self.index, self.item = index, item

    def __getitem__(self, item: int) -> Ref:
        return Ref(self.index, item)

    def wire(self) -> dict:
        return {"r": [self.index] if self.item is None else [self.index, self.item]}


class Batch:
    """Calls to run in the learner's process in one round trip; `run(*refs)` returns those results."""

    def __init__(self, learner: Learner):
        self._learner, self._calls, self._values = learner, [], []

    def call(self, name: str, *args: object) -> Ref:
        self._calls.append([name, [a.wire() if isinstance(a, Ref) else self._value(a) for a in args]])
        return Ref(len(self._calls) - 1)

    def _value(self, value: object) -> dict:
        self._values.append(value)
        return {"v": len(self._values) - 1}

    def __getattr__(self, name: str):
        if name.startswith("_"):
            raise AttributeError(name)
        return lambda *args: self.call(name, *args)

    def run(self, *refs: Ref) -> tuple:
        return self._learner._run(self._calls, [r.wire() for r in refs], self._values)


def _widen(fd: int) -> None:
    """A 1 MiB pipe (Linux allows that much to anyone): a step's arrays fit without many round trips."""
    try:
        fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, 1 << 20)
    except (AttributeError, OSError):
        pass


def _numpy_dirs() -> list[Path]:
    """NumPy's package folder, and its bundled libraries' folder when the wheel has one."""
    import numpy

    package = Path(numpy.__file__).resolve().parent
    return [p for p in (package, package.parent / "numpy.libs") if p.is_dir()]
