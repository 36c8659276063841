"""What the grader and the checker say to each other: the job (JSON on the checker's command line), the
seal on each state line the checker writes back, and the record of how the learner's process was
confined. A module of its own so that the grader never imports the checker and the checker never imports
the grader.

Why a seal, now that the learner's code runs in a process of its own: the grader trusts only lines that
carry an HMAC under a fresh key sent on the checker's stdin (never on a command line, in an environment
or on disk, where /proc would show it). Where the kernel's confinements are missing (no Landlock, no user
namespaces), the learner's process still runs as the same user, and the seal keeps anything it could
write to the grader from being taken for a result.
"""

from __future__ import annotations

import hashlib
import hmac
import json

from typing import Literal

from pydantic import BaseModel


class Job(BaseModel):
    lab_id: str
    path: str
    parent_pid: int
    """the grading process: the checker exits at once if it is no longer its parent"""
    memory_mb: int = 1024
    cpu_s: int = 120
    """CPU seconds for the learner's process"""
    train_budget_s: float = 30.0
    scratch: str | None = None
    """a folder the grader deletes afterwards, for the learner's private one"""
    without: tuple[Literal["namespaces", "landlock"], ...] = ()
    """confinements not to attempt, as on a kernel that lacks them (for tests of what the grade records)"""


class Confinement(BaseModel):
    """How the learner's process was confined for one grading. Always: a scrubbed environment (no
    PATHLAB_DB, PATH and HOME only), a private HOME and working folder deleted afterwards, an import path
    without the grader or the solutions, and limits on memory, CPU and file size. The rest depends on
    what the kernel allows, and is recorded with the grade."""

    network: Literal["namespace", "tcp-blocked", "open"]
    writes: Literal["landlock", "open"]
    """landlock: writes only inside its private folder"""
    reads: Literal["landlock", "open"]
    """landlock: reads only the standard library, NumPy, the system's libraries and the learner's folder"""
    processes: Literal["pid-namespace", "subreaper", "process-group"]
    """how every process it starts is found and killed when grading ends"""
    dies_with_grader: bool
    signals_blocked: bool
    """it cannot signal processes outside its sandbox"""
    grader_hidden: bool
    """the checker is undumpable: no process of the user reads its memory or file descriptors"""

    def missing(self) -> list[str]:
        """What did not apply here, in words (empty when everything did)."""
        out = []
        if self.network != "namespace":
            out.append("network isolation" if self.network == "open" else "full network isolation (TCP only)")
        if self.writes != "landlock":
            out.append("write confinement")
        if self.reads != "landlock":
            out.append("read confinement")
        if self.processes != "pid-namespace":
            out.append("a PID namespace (processes started with setsid are killed at the end of grading only"
                       + (" while the grader lives)" if self.processes == "subreaper" else " if in its group)"))
        if not self.dies_with_grader:
            out.append("dying with the grader")
        if not self.signals_blocked and self.processes != "pid-namespace":
            out.append("signal isolation (it could signal your other processes)")
        return out

    def summary(self) -> str:
        """One line for the learner and the attempt's record."""
        missing = self.missing()
        if not missing:
            return ("Sandbox: fully confined (no network, writes and reads limited by Landlock, every process "
                    "it started killed, private HOME, no database path).")
        return "Sandbox: partly confined; not available on this system: " + "; ".join(missing) + "."


def seal(state: dict, key: bytes) -> str:
    """The result file's text: the state as JSON with its HMAC-SHA256 under `key`."""
    body = json.dumps(state)
    return json.dumps({"state": body, "mac": _mac(body, key)})


def unseal(text: str, key: bytes) -> dict | None:
    """The state in a sealed result file, or None when the text was not sealed with `key`."""
    try:
        sealed = json.loads(text)
        body, mac = sealed["state"], sealed["mac"]
        if not (isinstance(body, str) and isinstance(mac, str) and hmac.compare_digest(mac, _mac(body, key))):
            return None
        state = json.loads(body)
    except (ValueError, KeyError, TypeError):
        return None
    return state if isinstance(state, dict) else None


def _mac(body: str, key: bytes) -> str:
    return hmac.new(key, body.encode("utf-8"), hashlib.sha256).hexdigest()
