"""Run a lab in this process (no worker), collecting its events: fast enough for many tiny runs."""

from __future__ import annotations

from labs.catalog import get_lab
from labs.events import Finished, Progress, Started


def train(lab_id: str, seed: int = 0, **raw) -> tuple[Finished, list]:
    lab = get_lab(lab_id)
    events: list = []
    finished = lab.train(lab.validate_params(raw), seed, events.append)
    assert isinstance(events[0], Started) and events[0].lab_id == lab_id
    steps = [e.step for e in events if isinstance(e, Progress)]
    assert steps == sorted(steps), "progress must move forward"
    assert {c.id for c in finished.grade.checks} == {c.id for c in lab.checks}
    return finished, events


def good(lab_id: str, seed: int = 0, **raw) -> tuple[Finished, list]:
    """`train` at the lab's good settings (its defaults are a beginner's mistake that fails), `raw` over them."""
    return train(lab_id, seed, **{**get_lab(lab_id).good_settings, **raw})


def check(finished: Finished, check_id: str):
    return next(c for c in finished.grade.checks if c.id == check_id)
