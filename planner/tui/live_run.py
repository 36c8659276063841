"""The state of the one lab run the app is watching, built up from its events (pure, no Textual).

The app keeps a single `LiveRun` so a run outlives the lab screen that started it: the learner can go
back to the map or read a lesson while the network trains, and reopen the lab to find the chart where
it left off, and the form showing the values being trained. Only the UI thread calls `apply`, so no
locking is needed.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from labs.events import Event, Failed, Finished, Progress, Sample, Started
from planner.tui.symbols import format_duration

if TYPE_CHECKING:
    from planner.service import LabOutcome

MIN_PACE_S = 1.0
"""Seconds of training before the pace is trusted for a time-limit warning (the first steps carry
the start-up, so an earlier projection is too pessimistic)."""


@dataclass
class LiveRun:
    lab_id: str
    params: dict[str, Any] = field(default_factory=dict)
    time_limit_s: float | None = None  # the lab's limit, named in the warning
    deadline_s: float | None = None  # when the worker stops training to grade in time (a margin before)
    attempt_id: int | None = None
    total_steps: int = 0
    unit: str = "step"
    step: int = 0
    epoch: int | None = None
    elapsed_s: float = 0.0
    series: dict[str, list[tuple[int, float]]] = field(default_factory=dict)
    samples: list[tuple[int, str]] = field(default_factory=list)
    finished: Finished | None = None
    failed: Failed | None = None
    outcome: LabOutcome | None = None
    error: str | None = None
    cancelling: bool = False
    started_at: float = field(default_factory=time.monotonic)

    @property
    def running(self) -> bool:
        return self.outcome is None and self.error is None

    def apply(self, event: Event) -> None:
        """Fold one event into the state."""
        if isinstance(event, Started):
            self.total_steps, self.unit = event.total_steps, event.unit
        elif isinstance(event, Progress):
            self.step = max(self.step, event.step)
            self.epoch = event.epoch if event.epoch is not None else self.epoch
            self.elapsed_s = max(self.elapsed_s, event.elapsed_s)
            for name, value in event.metrics.items():
                self.series.setdefault(name, []).append((event.step, float(value)))
        elif isinstance(event, Sample):
            self.samples.append((event.step, event.text))
        elif isinstance(event, Finished):
            self.finished = event
        elif isinstance(event, Failed):
            self.failed = event

    @property
    def wall_s(self) -> float:
        """Seconds since the run was asked for (includes the child's start-up)."""
        return time.monotonic() - self.started_at

    @property
    def position(self) -> int:
        """How far the run is, in its own unit (epochs for labs that count epochs, else steps)."""
        return self.epoch if self.unit == "epoch" and self.epoch is not None else self.step

    def position_text(self) -> str:
        """'step 40/200' (or 'epoch 3/10'; '?' until the run says how many it expects)."""
        return f"{self.unit} {self.position}/{self.total_steps or '?'}"

    @property
    def fraction(self) -> float:
        """Share of the expected steps done, 0..1 (0 until the run says how many it expects)."""
        if self.total_steps <= 0:
            return 0.0
        return min(1.0, max(0.0, self.position / self.total_steps))

    @property
    def eta_s(self) -> float | None:
        """Remaining seconds at the pace so far; None until there is a pace to go by."""
        if self.fraction <= 0.0 or self.elapsed_s <= 0.0:
            return None
        return self.elapsed_s * (1.0 - self.fraction) / self.fraction

    def projected_stop(self) -> int | None:
        """The step (or epoch) the clock will stop training at, when at the pace so far the run cannot
        make every planned one before its deadline; None when it will, or when there is no pace yet."""
        deadline = self.deadline_s if self.deadline_s is not None else self.time_limit_s
        eta = self.eta_s
        if not self.running or deadline is None or eta is None or self.elapsed_s < MIN_PACE_S:
            return None
        if self.elapsed_s + eta <= deadline:
            return None
        reached = int(self.position * deadline / self.elapsed_s)  # the same pace, until the deadline
        return max(self.position, min(reached, self.total_steps - 1))

    def limit_warning(self) -> str | None:
        """'At this pace the run will stop at the 60 s limit at about step 150/200', or None."""
        stop = self.projected_stop()
        if stop is None or self.time_limit_s is None:
            return None
        return (f"At this pace the run will stop at the {self.time_limit_s:g} s limit at about "
                f"{self.unit} {stop}/{self.total_steps}; what it trained by then is graded.")

    def status_line(self) -> str:
        """'gd-linear · step 40/200 · 1.2s · ETA 5s' — what the header shows on every screen."""
        parts = [self.lab_id, self.position_text(), format_duration(self.elapsed_s)]
        if self.running:
            parts.append(f"ETA {format_duration(self.eta_s)}")
        return " · ".join(parts)
