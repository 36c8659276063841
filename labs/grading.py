"""Grades: checks with points, a score out of 100, pass/fail; and the names of the mastery levels.

A lab declares its checks (`CheckSpec`); after training it evaluates each into a `CheckResult`. `grade()`
turns the results into a `Grade`: the score is the share of points earned, scaled to 100, and the grade
passes when the score reaches the lab's pass mark *and* every required check passed. Results are ordered
first failure first, so the learner reads what to fix before what went well.
"""

from __future__ import annotations

import math
from typing import Literal

from pydantic import BaseModel, Field

CheckStatus = Literal["passed", "partial", "failed", "skipped"]
Mastery = Literal["none", "attempted", "familiar", "proficient", "mastered"]
"""The levels; which one a learner has reached is a planner rule (`planner.progress`), not a grade."""


class CheckSpec(BaseModel):
    id: str
    title: str
    points: float = Field(gt=0)
    required: bool = False


class CheckResult(BaseModel):
    id: str
    title: str
    points: float = Field(ge=0, description="points earned")
    max_points: float = Field(gt=0)
    status: CheckStatus
    message: str
    required: bool = False


class Grade(BaseModel):
    score: float = Field(ge=0, le=100)
    passed: bool
    pass_mark: float
    checks: list[CheckResult]


_ORDER = {"failed": 0, "partial": 1, "skipped": 2, "passed": 3}


def evaluate(spec: CheckSpec, fraction: float, message: str) -> CheckResult:
    """A check's result from the fraction (0..1) of its points earned; 1 passes, 0 fails, between is partial.

    The status follows the rounded points, so a check never shows its full points as `partial` (which
    would fail a required check on a 100/100 grade). A non-finite fraction earns nothing."""
    fraction = float(fraction)
    fraction = min(1.0, max(0.0, fraction)) if math.isfinite(fraction) else 0.0
    points = round(spec.points * fraction, 4)
    status: CheckStatus = "passed" if points >= spec.points else ("failed" if points <= 0.0 else "partial")
    return CheckResult(
        id=spec.id,
        title=spec.title,
        points=points,
        max_points=spec.points,
        status=status,
        message=message,
        required=spec.required,
    )


def skipped(spec: CheckSpec, message: str) -> CheckResult:
    """A check that could not run (an earlier stage failed): no points."""
    return CheckResult(
        id=spec.id, title=spec.title, points=0.0, max_points=spec.points,
        status="skipped", message=message, required=spec.required,
    )


def partial_credit(value: float, floor: float, target: float) -> float:
    """Share of points for a metric between `floor` (0) and `target` (1); works for either direction.
    A non-finite value (a diverged metric) earns nothing, whichever direction is better."""
    if not math.isfinite(value):
        return 0.0
    if target == floor:
        return 1.0 if value == target else 0.0
    return min(1.0, max(0.0, (value - floor) / (target - floor)))


def grade(results: list[CheckResult], pass_mark: float) -> Grade:
    """The score is rounded *down* to 2 decimals and the verdict taken on it, so 69.996 shows as 69.99 and
    fails a pass mark of 70 instead of being shown, and passed, as 70. (The 1e-9 absorbs float sums such as
    7 * 0.1 landing a hair under an exact score.)"""
    total = sum(r.max_points for r in results)
    earned = sum(r.points for r in results)
    score = math.floor(10_000.0 * earned / total + 1e-9) / 100 if total else 0.0
    required_ok = all(r.status == "passed" for r in results if r.required)
    ordered = sorted(results, key=lambda r: _ORDER[r.status])
    return Grade(score=score, passed=bool(score >= pass_mark and required_ok), pass_mark=pass_mark, checks=ordered)
