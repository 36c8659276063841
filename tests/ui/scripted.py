"""A stand-in for `labs.runner.LabProcess` that replays a fixed run: no child process, no clock.

Snapshot tests need a finished lab that looks the same on every machine; a real run's elapsed times
differ. The events are built from the real lab's checks so the grade is shaped like a real one.
"""

from __future__ import annotations

import math
from typing import Any

from labs.events import Failed, Finished, Progress, Started
from labs.grading import evaluate, grade


def scripted_events(lab_id: str, steps: int = 40) -> list[Any]:
    """Started, `steps` progress points of a smoothly falling loss, and a passing Finished."""
    from labs.catalog import get_lab

    lab = get_lab(lab_id)
    events: list[Any] = [Started(lab_id=lab_id, total_steps=steps, unit="step", pid=0)]
    for step in range(1, steps + 1):
        loss = 0.24 + 3.8 * math.exp(-step / 6)
        events.append(Progress(step=step, metrics={"train_loss": loss}, elapsed_s=step * 0.05))
    results = [evaluate(spec, 1.0 if i else 0.5, f"scripted result for {spec.title.lower()}")
               for i, spec in enumerate(lab.checks)]
    outcome = grade(results, lab.pass_mark)
    events.append(Finished(status="passed" if outcome.passed else "failed", grade=outcome,
                           metrics={"train_loss": 0.24}, feedback="A scripted run.", duration_s=steps * 0.05))
    return events


class ScriptedRun:
    """Same shape as LabProcess: start(), events(timeout), cancel(), done, pid."""

    def __init__(self, lab_id: str, params: Any, seed: int) -> None:
        self.lab_id, self.params, self.seed = lab_id, params, seed
        self._events = scripted_events(lab_id)
        self.result: Any = None
        self.pid = 0

    def start(self) -> "ScriptedRun":
        return self

    @property
    def done(self) -> bool:
        return self.result is not None

    def events(self, timeout: float | None = None) -> Any:
        while self._events and self.result is None:
            event = self._events.pop(0)
            if isinstance(event, (Finished, Failed)):
                self.result = event
            yield event

    def cancel(self, wait_s: float = 1.0) -> Any:
        if self.result is None:
            self.result = Failed(kind="cancelled", message="the run was cancelled")
        return self.result


class EndlessRun(ScriptedRun):
    """A run that starts, reports one step, then trains 'forever' until cancelled (like a long lab)."""

    def __init__(self, lab_id: str, params: Any, seed: int) -> None:
        super().__init__(lab_id, params, seed)
        self._events = self._events[:2]  # Started and the first Progress, then silence

    def events(self, timeout: float | None = None) -> Any:
        import time

        if self._events:
            yield from super().events(timeout)
        elif self.result is None:
            time.sleep(timeout or 0.1)  # no event within the timeout: the caller checks its flags


class SlowRun(ScriptedRun):
    """A run whose pace cannot make its 40 steps inside gd-linear's 60 s: 2 steps took 6 s (at that pace
    40 steps need 120 s), then it trains on silently until cancelled."""

    def __init__(self, lab_id: str, params: Any, seed: int) -> None:
        super().__init__(lab_id, params, seed)
        self._events = [self._events[0], Progress(step=1, metrics={"train_loss": 3.0}, elapsed_s=3.0),
                        Progress(step=2, metrics={"train_loss": 2.5}, elapsed_s=6.0)]

    def events(self, timeout: float | None = None) -> Any:
        import time

        if self._events:
            yield from super().events(timeout)
        elif self.result is None:
            time.sleep(timeout or 0.1)


class StoppedRun(ScriptedRun):
    """A run the clock stopped after 25 of its 40 steps, graded on what it trained (labs.events)."""

    def __init__(self, lab_id: str, params: Any, seed: int) -> None:
        super().__init__(lab_id, params, seed)
        finished = self._events.pop()
        self._events = self._events[:26] + [finished.model_copy(update={"stopped_at_limit": True,
                                                                         "stopped_at_step": 25})]
