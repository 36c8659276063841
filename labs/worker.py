"""The child process that trains one lab: `python -m labs.worker` with a job as JSON on stdin.

    {"lab_id": "gd-linear", "params": {"lr": 0.1}, "seed": 0, "time_limit_s": 60}   (or "lab_ref": "pkg.mod:ATTR")

The parameters are validated again here with the same `Lab.validate_params` the parent used: not a
second rule but the process boundary, where they arrive as JSON text. `time_limit_s` (optional, else
the lab's) sets the run's deadline, at which training stops and what was trained is graded. Optional
`models_dir` is the folder `ctx.save_model` writes the trained model into (as `<sha256>.npz`), and
`your_model` the stored model chosen for the run (labs.catalog._models.YourModel), read by `ctx.load_model`.

Stdout carries only event lines (labs.events, one JSON object per line, flushed as written); anything
else the lab or a library prints goes to stderr, because file descriptor 1 is pointed at stderr before the
lab runs and events go to a private duplicate of the original stdout. The last line is `Finished`, or
`Failed(kind="error")` with the traceback when the lab raised. Exit code 0 after Finished, 1 otherwise.

`python -m labs.worker --warm` is the runner's spare (labs.runner): it imports NumPy and every lab
module first, then waits for its job on stdin, so the run it is handed starts training at once. An
import that fails here is not reported: the job imports again and reports it as a cold worker would.
Stdin closed with no job (the spare was discarded, or its parent exited) ends it quietly, exit 0.
"""

from __future__ import annotations

import io
import json
import os
import sys
import traceback
from typing import TextIO

from labs.events import Event, Failed, dump_event


def _event_channel() -> TextIO:
    """Keep the real stdout for events only; route fd 1 and sys.stdout to stderr."""
    channel = os.fdopen(os.dup(1), "w", encoding="utf-8", buffering=1)
    sys.stdout.flush()
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return channel


def _read_job(stream: TextIO) -> tuple[str, str | None, dict, int, float | None, dict]:
    try:
        job = json.loads(stream.read())
        limit = job.get("time_limit_s")
        models = {"models_dir": job.get("models_dir"), "your_model": job.get("your_model")}
        return (str(job.get("lab_id", "")), job.get("lab_ref"), dict(job.get("params") or {}), int(job["seed"]),
                None if limit is None else float(limit), models)
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ValueError(f"the worker's job on stdin is not valid JSON with lab_id, params, seed: {exc}") from exc


def _lab(lab_id: str):
    """The job's lab: its own module when it is named after the id (cnn-digits: labs.catalog.cnn_digits),
    so a cold worker does not import all twenty lab modules for one (0.05-0.09 s measured); else the
    catalogue's scan, which also gives the error naming the known labs. The parent has already checked
    the id against the whole catalogue."""
    import importlib

    from labs.catalog import Lab, get_lab

    lab = None
    if lab_id.replace("-", "").isalnum():  # a slug: never "", "base", "_digits" or a dotted path
        try:
            lab = getattr(importlib.import_module("labs.catalog." + lab_id.replace("-", "_")), "LAB", None)
        except ImportError:
            lab = None
    if isinstance(lab, Lab) and lab.id == lab_id:
        return lab
    return get_lab(lab_id)


def run_job(stdin: TextIO, channel: TextIO) -> int:
    def emit(event: Event) -> None:
        channel.write(dump_event(event) + "\n")
        channel.flush()

    try:
        from labs.catalog import load_lab_ref

        lab_id, lab_ref, raw, seed, time_limit_s, models = _read_job(stdin)
        lab = load_lab_ref(lab_ref) if lab_ref else _lab(lab_id)
        params = lab.validate_params(raw)  # the boundary check: JSON in (see the module docstring)
        emit(lab.train(params, seed, emit, time_limit_s=time_limit_s, **models))
        return 0
    except BaseException as exc:  # noqa: BLE001 - every failure must reach the parent as an event
        if isinstance(exc, KeyboardInterrupt):
            message = "interrupted"
        else:
            message = f"{type(exc).__name__}: {exc}"
        emit(Failed(kind="error", message=message, traceback=traceback.format_exc()))
        return 1


def _preload() -> None:
    """What every job needs before it trains: NumPy (and its BLAS), pydantic, the catalogue's modules."""
    try:
        import numpy as np

        from labs.catalog import all_labs

        all_labs()
        np.ones((2, 2)) @ np.ones((2, 2))  # let the BLAS library initialise its buffers now
    except Exception:  # noqa: BLE001 - the job imports again and reports the failure as an event
        pass


def main(argv: list[str] | None = None) -> int:
    warm = "--warm" in (sys.argv[1:] if argv is None else argv)
    channel = _event_channel()
    try:
        if warm:
            _preload()
            job = sys.stdin.read()  # blocks until the runner hands over a job (or closes stdin)
            if not job.strip():
                return 0  # a discarded spare
            return run_job(io.StringIO(job), channel)
        return run_job(sys.stdin, channel)
    finally:
        channel.close()


def _exit_now(code: int) -> None:
    """Leave without the interpreter's teardown (measured 0.05-0.1 s of freeing NumPy and module state):
    the runner accepts a `Finished` only once this process has exited, so the learner waits for it.
    Nothing is left to write: the event channel is closed and stderr is flushed here."""
    for stream in (sys.stderr, sys.__stderr__):
        try:
            stream.flush()
        except (OSError, ValueError, AttributeError):
            pass
    os._exit(code)


if __name__ == "__main__":
    _exit_now(main())
