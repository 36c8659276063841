"""What the experiment labs share for judging a failed run (issue 14 §1): reading its evidence.

Not a lab (no LAB). `Lab.diagnose(params, finished)` names the failure mode a failed run shows; these
helpers read the evidence a `Finished` carries (its final metrics, its checks' results, the step where
it diverged), so each lab's `diagnose` reads as its lesson's reasoning, not as bookkeeping.
"""

from __future__ import annotations

from labs.events import Finished


def diverged(finished: Finished) -> bool:
    """The run stopped on a non-finite or exploding loss (`Lab.train` records `diverged_at_step`)."""
    return "diverged_at_step" in finished.metrics


def failed(finished: Finished, check_id: str) -> bool:
    """The check `check_id` did not pass (failed, partial or skipped)."""
    return any(c.id == check_id and c.status != "passed" for c in finished.grade.checks)


def metric(finished: Finished, name: str, default: float = float("nan")) -> float:
    return float(finished.metrics.get(name, default))


def still_falling(first: float, last: float, tolerance: float = 0.01) -> bool:
    """A loss that fell by more than `tolerance` (relative) between two late points is still falling:
    training stopped before it flattened (too few steps, or steps too small to get there in time)."""
    return first > 0 and (first - last) / first > tolerance
