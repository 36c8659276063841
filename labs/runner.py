"""Run a lab in its own process and stream its events back, with a time limit and cancellation.

    proc = LabProcess("ffnn-digits", {"lr": "0.01"}, seed=0).start()
    for event in proc.events():          # Started, Progress..., then Finished or Failed
        ...
    proc.result                           # the terminal event (Finished | Failed), or None while running

    run_lab("gd-linear", {}, seed=0, on_event=print)   # blocking convenience -> Finished | Failed

Why a process: training is CPU-bound NumPy, so a thread would freeze a UI; a process can be killed at
once, and a crash in it cannot take the app down. The child is `python -m labs.worker` (see there).

Guarantees: the parameters and the seed are validated before the child starts (`ParamError`,
`SeedError`; already validated `Params`, as the service passes them, are taken as they are); events
arrive in order; the stream always ends with exactly one terminal event; a child that dies, is
killed, hangs past its limit or is cancelled ends with `Failed` (kinds killed/error, timeout,
cancelled) and is never a pass, even if it had printed a `Finished` line halfway.

The time limit: the child is told it and stops training a margin before it, grading what it trained
(`Finished.stopped_at_limit`, see labs.catalog.base). Only a child still running at the limit plus a
grace (`kill_grace_s`: 10 %, at least 2 s, at most 30 s) is killed, as `Failed(kind="timeout")`: the
backstop for a lab that ignores its deadline. Reproducibility: the child runs BLAS
single-threaded (OPENBLAS_NUM_THREADS=1 unless set), so the same lab, params and seed give
bit-identical metrics on the same machine and NumPy build.

`events(timeout)`: with a timeout, the iterator also ends when no event arrived for that many
seconds, so a UI worker can check its own cancellation flag and call `events()` again; `proc.done`
tells whether the stream really ended.

The warm spare: starting Python and importing NumPy, pydantic and the catalogue costs a cold child
0.3-0.6 s before it trains (benchmarks/LABWALL.md). So the runner keeps one spare worker
(`python -m labs.worker --warm`) that has done those imports and blocks on stdin; `start()` hands the
job to it when its environment, interpreter and working directory match this run's, else starts a cold
child. A spare is used for one run only (a fresh process each time: nothing carries over from the run
before), and the next spare is started when a run ends, not while it trains, so it never competes
with training for a core. Every guarantee holds as for a cold child: it is started with `child_env()`
(BLAS on one thread) in its own session (process group), the time limit's timer starts when the job
is sent, and cancel/kill signal its process group. `prewarm()` starts a spare ahead of the first run
(an app calls it when it opens); a spare's parent that exits closes its stdin, so it exits too, and
`discard_spare()` (also at exit) kills it. `PATHLAB_WARM_WORKER=0` turns spares off. A spare runs
the lab code as it was when it started, as the app itself does (a lab edited meanwhile needs a new one).
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import ValidationError

from labs.events import Event, Failed, Finished, parse_event

if TYPE_CHECKING:
    from labs.catalog.base import LabParams

Terminal = Finished | Failed
_END = object()  # the reader's "stdout closed" marker
_STDERR_LINES = 200  # how much of the child's stderr is kept for the traceback of a crash

# Raised malloc thresholds keep large NumPy temporaries out of mmap/munmap on every step (measured on a
# tiny GPT: 50.6 -> 36.6 ms/step). 32 MiB is glibc's maximum mmap threshold on 64-bit.
_CHILD_ENV = {
    "MALLOC_MMAP_THRESHOLD_": str(32 * 1024 * 1024),
    "MALLOC_TRIM_THRESHOLD_": str(512 * 1024 * 1024),
    "OPENBLAS_NUM_THREADS": "1",
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
}


def kill_grace_s(time_limit_s: float) -> float:
    """How long past its time limit a child may still be grading before it is killed: its deadline
    already left a margin, so this only absorbs the child's start-up and a busy machine."""
    return max(2.0, min(0.1 * time_limit_s, 30.0))


def child_env(base: Mapping[str, str] | None = None) -> dict[str, str]:
    """The worker's environment: the caller's, plus the defaults above where not already set, plus the
    directory holding the `labs` package on PYTHONPATH so the child imports the same code."""
    env = dict(os.environ if base is None else base)
    for key, value in _CHILD_ENV.items():
        env.setdefault(key, value)
    root = str(Path(__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join([root, *filter(None, [env.get("PYTHONPATH")])])
    return env


# -- the warm spare ---------------------------------------------------------------------------------
_spare_lock = threading.Lock()
_spare: tuple[subprocess.Popen[bytes], tuple] | None = None  # (process, the key it was started for)


def _warm_enabled() -> bool:
    return os.environ.get("PATHLAB_WARM_WORKER", "1").strip() not in ("0", "false", "no", "off")


def _spawn(env: dict[str, str], *, warm: bool) -> subprocess.Popen[bytes]:
    """A worker in its own session (so one killpg ends it and anything it spawned)."""
    return subprocess.Popen(
        [sys.executable, "-m", "labs.worker", *(["--warm"] if warm else [])], stdin=subprocess.PIPE,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, start_new_session=True,
    )


def _spare_key(env: Mapping[str, str]) -> tuple:
    """What a spare must share with a run to stand in for a cold child started now: the interpreter,
    the environment (BLAS threads, PYTHONPATH, ...), the working directory (a relative `lab_ref`) and
    the owning process (a forked parent must not write into its parent's spare)."""
    return (sys.executable, tuple(sorted(env.items())), os.getcwd(), os.getpid())


def prewarm() -> None:
    """Have a spare worker importing now, so the next run starts warm (no-op if one is ready or spares
    are off). Cheap to call: it starts a process and returns."""
    global _spare
    if not _warm_enabled():
        return
    env = child_env()
    key = _spare_key(env)
    with _spare_lock:
        if _spare is not None and _spare[0].poll() is None and _spare[1] == key:
            return
        old, _spare = _spare, None
        try:
            _spare = (_spawn(env, warm=True), key)
        except OSError:
            _spare = None  # no spare: the next run starts cold, as before
    if old is not None:
        _drop(old)


def _take_spare(key: tuple) -> subprocess.Popen[bytes] | None:
    """The ready spare if it matches `key` and is alive; a stale or dead one is killed and dropped."""
    global _spare
    with _spare_lock:
        spare, _spare = _spare, None
    if spare is None:
        return None
    proc, spare_key = spare
    if spare_key == key and proc.poll() is None:
        return proc
    _drop(spare)
    return None


def _drop(spare: tuple[subprocess.Popen[bytes], tuple]) -> None:
    """Kill a spare this process started; one inherited through a fork is its parent's, left alone."""
    if spare[1][3] == os.getpid():
        _kill_spare(spare[0])


def _kill_spare(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    for stream in (proc.stdin, proc.stdout, proc.stderr):
        with contextlib.suppress(OSError):
            stream and stream.close()
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=1.0)


def discard_spare() -> None:
    """Kill the spare worker, if any (at exit, or to force the next run to start cold)."""
    global _spare
    with _spare_lock:
        spare, _spare = _spare, None
    if spare is not None:
        _drop(spare)


atexit.register(discard_spare)


class LabProcess:
    """One lab run in a child process. Not reusable: make a new one per run."""

    def __init__(self, lab_id: str, params: LabParams | Mapping[str, object] | None, seed: int, *,
                 time_limit_s: float | None = None, lab_ref: str | None = None,
                 grace_s: float | None = None, models_dir: str | None = None,
                 your_model: Mapping[str, object] | None = None):
        """`params`: the lab's validated `Params` (used as they are) or raw values (validated here).
        `time_limit_s` replaces the lab's limit; `grace_s` replaces `kill_grace_s(limit)`; `models_dir`
        is where the lab may store its trained model, `your_model` the stored one it is given (worker.py)."""
        from labs.catalog import get_lab, load_lab_ref, validate_seed

        lab = load_lab_ref(lab_ref) if lab_ref else get_lab(lab_id)
        self.lab_id, self.seed, self.lab_ref = lab.id, validate_seed(seed), lab_ref
        checked = params if isinstance(params, lab.Params) else lab.validate_params(params or {})
        self.params = checked.model_dump(mode="json")
        self.time_limit_s = float(time_limit_s if time_limit_s is not None else lab.time_limit_s)
        self.grace_s = float(grace_s if grace_s is not None else kill_grace_s(self.time_limit_s))
        self.result: Terminal | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._queue: queue.Queue[object] = queue.Queue()
        self._stderr: deque[str] = deque(maxlen=_STDERR_LINES)
        self._stop_reason: str | None = None  # "cancelled" or "timeout" once we killed it on purpose
        self._lock = threading.Lock()  # guards killing
        self._settle_lock = threading.Lock()  # guards setting `result`
        self._readers: list[threading.Thread] = []
        self._timer: threading.Timer | None = None
        self.warm = False  # whether start() handed the job to a pre-started spare
        self.models_dir = None if models_dir is None else str(models_dir)
        self.your_model = None if your_model is None else dict(your_model)

    # -- lifecycle ----------------------------------------------------------------------------------
    def start(self) -> LabProcess:
        if self._proc is not None:
            raise RuntimeError("this LabProcess was already started")
        job = {"lab_id": self.lab_id, "lab_ref": self.lab_ref, "params": self.params, "seed": self.seed,
               "time_limit_s": self.time_limit_s, "models_dir": self.models_dir, "your_model": self.your_model}
        env = child_env()
        spare = _take_spare(_spare_key(env)) if _warm_enabled() else None
        self.warm = spare is not None
        self._proc = spare or _spawn(env, warm=False)
        assert self._proc.stdin is not None
        try:
            self._proc.stdin.write(json.dumps(job).encode())
            self._proc.stdin.close()
        except BrokenPipeError:
            pass  # the child died at once; the stdout reader reports it
        self._readers = [threading.Thread(target=self._read_stdout, daemon=True),
                         threading.Thread(target=self._read_stderr, daemon=True)]
        for t in self._readers:
            t.start()
        self._timer = threading.Timer(self.time_limit_s + self.grace_s, self._kill, args=("timeout",))
        self._timer.daemon = True
        self._timer.start()
        return self

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    @property
    def done(self) -> bool:
        return self.result is not None

    def cancel(self, wait_s: float = 1.0) -> Terminal:
        """Kill the child now; returns the terminal event (Failed(cancelled) unless it had already ended)."""
        self._kill("cancelled")
        deadline = time.monotonic() + wait_s
        while self.result is None and time.monotonic() < deadline:
            for _ in self.events(timeout=max(0.01, deadline - time.monotonic())):
                pass
        with self._settle_lock:
            if self.result is None:  # the child could not be reaped in time: settle it ourselves
                self._finish(Failed(kind="cancelled", message="the run was cancelled"))
        return self.result

    # -- events -------------------------------------------------------------------------------------
    def events(self, timeout: float | None = None) -> Iterator[Event]:
        """Events as they arrive, ending after the terminal one (or after `timeout` seconds of silence).

        Safe to call from several threads (e.g. a UI worker iterating while the UI calls `cancel`): each
        event goes to one of them and every iterator ends once `result` is set.
        """
        if self._proc is None:
            raise RuntimeError("call start() before events()")
        while self.result is None:
            try:
                item = self._queue.get(timeout=timeout)
            except queue.Empty:
                return
            if item is _END:
                self._queue.put(_END)  # wake any other consumer too
                with self._settle_lock:
                    if self.result is not None:
                        return
                    self._finish(self._settle())
                item = self.result
            elif isinstance(item, (Finished, Failed)):
                with self._settle_lock:
                    if self.result is not None:  # cancel() settled it meanwhile: that stands
                        return
                    self._finish(item)
            yield item  # type: ignore[misc]

    def _finish(self, event: Terminal) -> None:
        self.result = event
        if self._timer:
            self._timer.cancel()
        prewarm()  # the next run's spare imports now, while this one's result is recorded and read

    def _settle(self) -> Terminal:
        """Stdout closed without a terminal event: say why, from our own flags and the exit status."""
        assert self._proc is not None
        code = self._proc.wait()
        for t in self._readers:
            t.join(timeout=1.0)
        tail = "".join(self._stderr)
        if self._stop_reason == "cancelled":
            return Failed(kind="cancelled", message="the run was cancelled", traceback=tail)
        if self._stop_reason == "timeout":
            return Failed(kind="timeout", traceback=tail,
                          message=f"the run did not stop at its time limit of {self.time_limit_s:g} s and was "
                                  f"killed {self.grace_s:g} s later; nothing it trained could be graded")
        if code < 0:
            name = signal.Signals(-code).name if -code in signal.valid_signals() else str(-code)
            return Failed(kind="killed", message=f"the worker was killed by {name} before finishing",
                          traceback=tail)
        return Failed(kind="error", message=f"the worker exited with code {code} without finishing",
                      traceback=tail)

    # -- threads ------------------------------------------------------------------------------------
    def _read_stdout(self) -> None:
        """Queue events in order; the child's own terminal event is held back until it has exited, and
        dropped if we killed it meanwhile, so a killed worker can never pass."""
        assert self._proc is not None and self._proc.stdout is not None
        terminal: Terminal | None = None
        for raw in self._proc.stdout:
            try:
                event = parse_event(raw)
            except ValidationError:
                self._stderr.append(f"[unparsable event line] {raw[:200]!r}\n")
                continue
            if isinstance(event, (Finished, Failed)):
                terminal = terminal or event
            else:
                self._queue.put(event)
        code = self._proc.wait()
        if self._stop_reason is None and (isinstance(terminal, Failed) or (terminal and code == 0)):
            self._queue.put(terminal)
        self._queue.put(_END)

    def _read_stderr(self) -> None:
        assert self._proc is not None and self._proc.stderr is not None
        for raw in self._proc.stderr:
            self._stderr.append(raw.decode("utf-8", "replace"))

    def _kill(self, reason: str) -> None:
        with self._lock:
            if self._proc is None or self._proc.poll() is not None or self.result is not None:
                return
            self._stop_reason = self._stop_reason or reason
            try:
                os.killpg(self._proc.pid, signal.SIGKILL)  # the worker and anything it spawned
            except ProcessLookupError:
                pass


def run_lab(lab_id: str, params: LabParams | Mapping[str, object] | None, seed: int,
            on_event: Callable[[Event], None] | None = None, *, time_limit_s: float | None = None,
            lab_ref: str | None = None, grace_s: float | None = None) -> Terminal:
    """Run a lab to the end in a child process, calling `on_event` for every event; returns the last."""
    proc = LabProcess(lab_id, params, seed, time_limit_s=time_limit_s, lab_ref=lab_ref, grace_s=grace_s).start()
    try:
        for event in proc.events():
            if on_event:
                on_event(event)
    except BaseException:
        proc.cancel()
        raise
    assert proc.result is not None
    return proc.result
