"""The job the grader hands to the sandbox (as JSON on its command line). A module of its own so that the
parent never imports the sandbox and the sandbox never imports the parent."""

from __future__ import annotations

from pydantic import BaseModel


class Job(BaseModel):
    lab_id: str
    path: str
    result_path: str
    memory_mb: int = 1024
    cpu_s: int = 120
    train_budget_s: float = 30.0
