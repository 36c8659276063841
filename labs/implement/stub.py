"""The learner's process: confines itself, imports the learner's file, and calls its functions on request.

Run by the checker as `python -I -S -B -u <private dir>/lib/stub.py CONFIG_JSON`, from a copy (with
`wire.py` and `confine.py`) in a private temporary folder. It holds no check, tolerance, reference
solution or grade, and cannot import any: `labs` is not on its import path, which is only the standard
library, a folder linking NumPy, and the learner's own folder. Whatever the learner's file does here, it
can only change what its own functions return.

Before the learner's file is imported, in this order: a new user + network (+ PID) namespace when the
system allows it; die with the parent (PR_SET_PDEATHSIG; in a PID namespace this process is its init,
so when it dies the kernel kills every process left in it, setsid or not); NumPy imported; rlimits
(memory, CPU, file size, no core); no_new_privs and Landlock (write and read only where allowed, no
TCP, no signals out). It then sends `hello` with what applied: that first message is written before any
of the learner's code runs, so the checker can believe it.

Requests (wire.py messages):  load {functions: {name: [params]}}   -> {ok, functions: {name: ok|missing|
signature}} or {ok: false, error};  run {calls: [[name, [args]]], return: [refs]} -> {ok, values} or
{ok: false, error};  quit.  An argument is {"v": i}, the i-th of the request's `args` (wire values), or {"r": [call
index(, item)]}: the result of an earlier call in the same request, so a training step is one round trip; or
{"f": name}: the function itself (the learner's, or NumPy's as "numpy.<name>", which a call may also name).
"""

from __future__ import annotations

import importlib.util
import inspect
import json
import os
import resource
import select
import sys
import traceback

STDLIB = [p for p in sys.path if p]
"""the import path `python -I -S` starts with: the standard library only"""
sys.path.append(os.path.dirname(os.path.abspath(__file__)))
import confine  # noqa: E402  copied beside this file: the learner's process cannot import labs
import wire  # noqa: E402


def main(config: dict) -> None:
    requests, replies = config["requests"], config["replies"]
    without = config.get("without", [])
    applied = {"network": False, "pid": False} if "namespaces" in without else confine.enter_namespaces()
    applied["die_with_parent"] = confine.die_with_parent(config["parent"])
    if applied["pid"]:
        _fork_namespace_init(requests, replies)
    sys.path[:] = STDLIB + config["sys_path"]
    import numpy  # noqa: F401  before the limits: the learner's file will need it anyway

    limit_resources(config)
    applied["no_new_privs"] = confine.no_new_privs()
    if "landlock" not in without:
        applied.update(confine.landlock(config["writable"], config["readable"] + STDLIB))
    applied["limits"] = True
    wire.write_message(replies, {"hello": applied})
    serve(config, requests, replies)


def _fork_namespace_init(requests: int, replies: int) -> None:
    """Fork the PID namespace's init, which goes on to run the learner's code; this process only waits
    for it and passes on how it ended. A pipe tells the child whether its parent died before prctl."""
    lifeline_r, lifeline_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(lifeline_w)
        confine.die_with_parent(0)
        if select.select([lifeline_r], [], [], 0)[0]:  # EOF: the parent is already gone
            os._exit(70)
        return
    os.close(lifeline_r)
    os.close(requests)
    os.close(replies)
    while True:
        try:
            _, status = os.waitpid(pid, 0)
            break
        except InterruptedError:
            continue
    os._exit(128 + os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status))


def limit_resources(config: dict) -> None:
    mb = 1024 * 1024
    memory, cpu = config["memory_mb"] * mb, config["cpu_s"]
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))  # +1: SIGKILL soon after SIGXCPU (init ignores it)
    resource.setrlimit(resource.RLIMIT_FSIZE, (64 * mb, 64 * mb))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def serve(config: dict, requests: int, replies: int) -> None:
    path = config["learner"]
    module = None
    while True:
        try:
            fields, arrays = wire.read_message(requests, 1 << 34)
        except (EOFError, wire.WireError):
            os._exit(0)
        op = fields.get("op")
        if op == "quit":
            sys.stdout.flush()
            os._exit(0)
        try:
            if op == "load":
                module, reply = load(path, fields["functions"])
                wire.write_message(replies, reply)
            elif op == "run" and module is not None:
                run(module, path, fields, arrays, replies)
            else:
                wire.write_message(replies, {"ok": False, "error": {"kind": "protocol", "message": str(op)}})
        except MemoryError:
            wire.write_message(replies, {"ok": False, "error": {"kind": "memory"}})
        except Exception as exc:  # noqa: BLE001  a returned value that would not encode: the learner's doing
            wire.write_message(replies, {"ok": False, "error": {**_error(exc, path), "fn": "?"}})


def load(path: str, functions: dict[str, list[str]]):
    spec = importlib.util.spec_from_file_location("learner_solution", path)
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except BaseException as exc:  # noqa: BLE001  whatever the file does, the checker hears about it
        error = _error(exc, path)
        error["text"] = "".join(traceback.format_exception_only(type(exc), exc)).strip()[:2000]
        return None, {"ok": False, "error": error}
    found = {}
    for name, params in functions.items():
        obj = getattr(module, name, None)
        if not callable(obj):
            found[name] = "missing"
            continue
        try:
            inspect.signature(obj).bind(*params)
            found[name] = "ok"
        except (TypeError, ValueError):
            found[name] = "signature"
    return module, {"ok": True, "functions": found}


def run(module, path: str, fields: dict, arrays: list, replies: int) -> None:
    results: list = []
    given = wire.decode(fields["args"], arrays)

    def arg(value):
        if "v" in value:
            return given[value["v"]]
        if "f" in value:  # a function itself, as an argument (e.g. the function a learner's gradient checker checks)
            return _function(module, value["f"])
        ref = value["r"]
        return results[ref[0]] if len(ref) == 1 else results[ref[0]][ref[1]]

    for index, (name, args) in enumerate(fields["calls"]):
        try:
            values = [arg(a) for a in args]
            results.append(_function(module, name)(*values))
        except BaseException as exc:  # noqa: BLE001
            error = _error(exc, path)
            error.update(fn=name, call=index)
            wire.write_message(replies, {"ok": False, "error": error})
            return
    try:
        out = tuple(arg(r) for r in fields["return"])
        wire.write_message(replies, {"ok": True}, {"values": out})
    except (IndexError, TypeError, KeyError) as exc:
        wire.write_message(replies, {"ok": False, "error": {**_error(exc, path), "fn": fields["calls"][-1][0]}})


def _function(module, name: str):
    """The learner's function `name`, or NumPy's for "numpy.<name>" (a known function the checker can call
    or pass, e.g. to copy an array or to test a learner's gradient checker on)."""
    if name.startswith("numpy."):
        import numpy

        return getattr(numpy, name[len("numpy."):])
    return getattr(module, name)


def _error(exc: BaseException, path: str) -> dict:
    if isinstance(exc, SystemExit):
        return {"kind": "exit", "code": repr(exc.code)}
    if isinstance(exc, MemoryError):
        return {"kind": "memory"}
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == path]
    try:
        message = str(exc)[:2000]
    except Exception:  # noqa: BLE001  an exception whose __str__ raises
        message = ""
    return {"kind": "raised", "type": type(exc).__name__, "message": message,
            "line": frames[-1].lineno if frames else None, "source": frames[-1].line if frames else None}


if __name__ == "__main__":
    main(json.loads(sys.argv[1]))
