"""Small formatters shared by the text renderers, so Markdown and HTML print figures (and evidence) alike."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from planner.reports.models import BuildEvidence, NodeReport


def duration(seconds: float | None) -> str:
    """`2 h 05 min`, `4 min 10 s`, `12 s`, `0.4 s`: the largest two units a reader cares about."""
    if 0 < (seconds or 0) < 0.05:
        return "under 0.1 s"
    if 0 < (seconds or 0) < 9.95:
        return f"{seconds:.1f} s"
    seconds = int(round(seconds or 0))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes:02d} min"
    if minutes:
        return f"{minutes} min {secs:02d} s"
    return f"{secs} s"


def percent(share: float) -> str:
    return f"{100 * share:.0f}%"


def score(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f}"


def state_label(state: str) -> str:
    return state.replace("_", " ")


def bar(counts: list[int], width: int = 30, marks: str = "#=-.") -> str:
    """A text progress bar: one mark per state, proportional to its count (e.g. `[####==----......]`)."""
    total = sum(counts) or 1
    cells = [round(width * c / total) for c in counts]
    cells[-1] = max(0, width - sum(cells[:-1]))
    return "[" + "".join(m * n for m, n in zip(marks, cells)) + "]"


def sparkline(values: np.ndarray, width: int = 24) -> str:
    """A one-line unicode curve of a series (e.g. a loss going down), averaged into `width` cells."""
    values = values[np.isfinite(values)]
    if not len(values):
        return ""
    cells = [chunk.mean() for chunk in np.array_split(values, min(width, len(values)))]
    lo, hi = min(cells), max(cells)
    ticks = "▁▂▃▄▅▆▇█"
    span = (hi - lo) or 1.0
    return "".join(ticks[int((v - lo) / span * (len(ticks) - 1))] for v in cells)


def help_text(build: BuildEvidence) -> str:
    """What help the learner had before the pass, in words."""
    seen = [f"{build.hints_before_pass} hint{'s' if build.hints_before_pass != 1 else ''}"
            if build.hints_before_pass else "", "the solution" if build.solution_before_pass else ""]
    text = " and ".join(x for x in seen if x) or "none"
    return text + ("; the file is the reference solution" if build.matches_reference else "")


def how_completed(node: NodeReport) -> str:
    """How a completed node was completed, in words."""
    how = "test-out: " if node.test_out else ""
    if node.build is not None:
        return how + "own build passed"
    if node.lab_id:
        return how + "lab run passed (no build task yet)"
    return how + "reading"
