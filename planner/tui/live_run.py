"""The state of the one lab run the app is watching, built up from its events (pure, no Textual).

The app keeps a single `LiveRun` so a run outlives the lab screen that started it: the learner can go
back to the map or read a lesson while the network trains, and reopen the lab to find the chart where
it left off. Only the UI thread calls `apply`, so no locking is needed.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from labs.events import Failed, Finished, Progress, Sample, Started
from planner.tui.symbols import format_duration


@dataclass
class LiveRun:
    lab_id: str
    params: dict[str, Any] = field(default_factory=dict)
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
    outcome: Any = None
    error: str | None = None
    cancelling: bool = False
    started_at: float = field(default_factory=time.monotonic)

    @property
    def running(self) -> bool:
        return self.outcome is None and self.error is None

    def apply(self, event: Started | Progress | Sample | Finished | Failed) -> None:
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
    def fraction(self) -> float:
        """Share of the expected steps done, 0..1 (0 until the run says how many it expects)."""
        if self.total_steps <= 0:
            return 0.0
        position = self.epoch if self.unit == "epoch" and self.epoch is not None else self.step
        return min(1.0, max(0.0, position / self.total_steps))

    @property
    def eta_s(self) -> float | None:
        """Remaining seconds at the pace so far; None until there is a pace to go by."""
        if self.fraction <= 0.0 or self.elapsed_s <= 0.0:
            return None
        return self.elapsed_s * (1.0 - self.fraction) / self.fraction

    def status_line(self) -> str:
        """'gd-linear · step 40/200 · 1.2s · ETA 5s' — what the header shows on every screen."""
        position = self.epoch if self.unit == "epoch" else self.step
        parts = [self.lab_id, f"{self.unit} {position or 0}/{self.total_steps or '?'}"]
        parts.append(format_duration(self.elapsed_s))
        if self.running:
            parts.append(f"ETA {format_duration(self.eta_s)}")
        return " · ".join(parts)
