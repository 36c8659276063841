"""The job the grader hands to the sandbox (as JSON on its command line), and the seal on the results it
writes back. A module of its own so that the parent never imports the sandbox and the sandbox never imports
the parent.

Why a seal: the learner's code runs in the sandbox's process and working directory, so it can write the
result file itself (a forged "every check passed") and then `os._exit(0)`. The parent therefore sends a
fresh key on the sandbox's stdin (never on the command line, in the environment or on disk, where
/proc/self would show it) and accepts only a result file whose HMAC matches. Forging now needs code that
digs the key out of the grader's own objects in memory: deliberate cheating, not an accident or a trick.
"""

from __future__ import annotations

import hashlib
import hmac
import json

from pydantic import BaseModel


class Job(BaseModel):
    lab_id: str
    path: str
    result_path: str
    memory_mb: int = 1024
    cpu_s: int = 120
    train_budget_s: float = 30.0


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
