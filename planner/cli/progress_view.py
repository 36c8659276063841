"""What `pathlab lab run` shows on a terminal: a live progress bar while training, a grade table after.

Off a terminal (a pipe, a CI log) the bar is silent and only the final table prints, so logs stay short.
"""

from __future__ import annotations

import time
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from labs.catalog._layerstats import decode as decode_layer_stats
from labs.events import Event, Failed, Progress as ProgressEvent, Sample, Started

_STATUS_STYLE = {"passed": "green", "partial": "yellow", "failed": "red", "skipped": "dim"}


class LiveProgress:
    """A rich progress bar fed with run events: step/epoch, the latest loss and metrics, elapsed and ETA."""

    def __init__(self, title: str, enabled: bool = True):
        self.enabled = enabled
        self.console = Console(stderr=False)
        self.bar = Progress(TextColumn("[bold]{task.description}"), BarColumn(), TaskProgressColumn(),
                            TextColumn("{task.fields[metrics]}"), TimeElapsedColumn(), TimeRemainingColumn(),
                            console=self.console, transient=False, disable=not enabled)
        self.task = self.bar.add_task(title, total=None, metrics="starting…")
        self._last_sample = 0.0

    def __enter__(self) -> "LiveProgress":
        self.bar.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.bar.__exit__(*exc)

    def update(self, event: Event) -> None:
        if isinstance(event, Started):
            self.bar.update(self.task, total=max(event.total_steps, 1))
        elif isinstance(event, ProgressEvent):
            shown = "  ".join(f"{k}={v:.4g}" for k, v in list(event.metrics.items())[:3])
            unit = f"epoch {event.epoch}" if event.epoch is not None else f"step {event.step}"
            self.bar.update(self.task, completed=event.epoch if event.epoch is not None else event.step,
                            metrics=f"{unit}  {shown}")
        elif isinstance(event, Sample) and self.enabled and time.monotonic() - self._last_sample > 2:
            self._last_sample = time.monotonic()
            snap = decode_layer_stats(event.text)  # deep-nets' per-layer histograms: their gist, in one line
            text = escape(snap.summary()) if snap is not None else f"{event.text[:200]!r}"
            self.bar.console.print(f"[dim]sample @ step {event.step}:[/dim] {text}")
        elif isinstance(event, Failed):
            self.bar.update(self.task, metrics=f"[red]{event.kind}[/red]")


def print_outcome(outcome: Any, curriculum: Any) -> None:
    """The grade check by check (first failure first), then what changed for the learner."""
    console = Console()
    colour = "green" if outcome.passed else "red"
    where = (f"attempt {outcome.attempt_id}" if outcome.attempt_id is not None
             else "kept beside the busy database; the next pathlab command records it")
    console.print(f"\n[bold {colour}]{outcome.status.upper()}[/]  score {outcome.score:.1f}/100  "
                  f"({where}, {outcome.duration_s:.1f} s)")
    if outcome.grade and outcome.grade.checks:
        table = Table(show_header=True, header_style="bold")
        for col in ("check", "points", "status", "why"):
            table.add_column(col, overflow="fold")
        for c in outcome.grade.checks:
            style = _STATUS_STYLE.get(c.status, "")
            table.add_row(escape(c.title), f"{c.points:g}/{c.max_points:g}", f"[{style}]{c.status}[/]",
                          escape(c.message))  # a message may quote the learner's code: not markup
        console.print(table)
    if outcome.metrics:
        console.print("metrics: " + ", ".join(f"{k}={v:.4g}" for k, v in outcome.metrics.items()))
    if outcome.feedback:
        console.print(escape(outcome.feedback))
    if outcome.mastery_after != outcome.mastery_before:
        console.print(f"mastery: {outcome.mastery_before} -> [bold]{outcome.mastery_after}[/]")
    for node_id in outcome.completed:
        console.print(f"[green]completed[/] {curriculum.nodes[node_id].title}")
    for node_id in outcome.unlocked:
        console.print(f"[cyan]unlocked[/] {curriculum.nodes[node_id].title}")
