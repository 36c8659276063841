"""The lab form's "your model" choice and the disk its stored models use (planner.checkpoints).

A lab that builds on a stored model (`Lab.uses_models`) gets a Select: the best of the learner's models
of those labs (the default), each stored one, or none (the lab trains its own). Every lab shows one
line of disk use: this lab's stored models and the folder's total, and the command that prunes them.
The choice goes to `PathLabApp.start_run(model=...)`; a missing or corrupt file is refused there in
one line (the run's status), which says how to train it again.
"""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.markup import escape
from textual.widgets import Select, Static


def disk_line(lab_id: str, listing: Any) -> str:
    """'Stored models: 2 of this lab (469.7 KB); 3.1 MB in all (pathlab checkpoints prune).'"""
    if listing is None:
        return ""
    from planner.checkpoints import human_bytes

    mine = next((u for u in listing.labs if u.lab_id == lab_id), None)
    here = f"{mine.checkpoints} of this lab ({human_bytes(mine.bytes)})" if mine else "none of this lab"
    return (f"[dim]Stored models: {here}; {human_bytes(listing.total_bytes)} in all "
            f"(pathlab checkpoints list | prune).[/]")


def model_options(lab: Any, choices: list[Any]) -> list[tuple[str, str]]:
    """(label, value) pairs: "best" first when there is a stored model, then each one, then "none"."""
    if not choices:
        first = lab.uses_models[0] if lab.uses_models else "its lab"
        return [(f"None stored yet: the lab trains its own (run {first} to make one)", "none")]
    best = choices[0]
    return ([(f"Best: {best.label}", "best")] + [(row.label, row.sha256) for row in choices]
            + [("None: the lab trains its own", "none")])


class ModelChoice(Vertical):
    """`value`: "best", "none" or a checkpoint's sha256 (None for a lab that takes no stored model)."""

    DEFAULT_CSS = """
    ModelChoice { height: auto; }
    ModelChoice > .model-label { margin-top: 1; }
    ModelChoice > Select { width: 100%; }
    """

    def __init__(self, lab: Any, choices: list[Any], listing: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.lab, self.choices, self.listing = lab, choices, listing

    def compose(self) -> ComposeResult:
        if self.lab.uses_models:
            yield Static(f"[b]Your model[/] [dim](from {escape(', '.join(self.lab.uses_models))})[/]",
                         classes="model-label")
            options = model_options(self.lab, self.choices)
            yield Select(options, value=options[0][1], allow_blank=False, id="model-select")
        yield Static(disk_line(self.lab.id, self.listing), id="model-disk")

    @property
    def value(self) -> str | None:
        if not self.lab.uses_models:
            return None
        value = self.query_one("#model-select", Select).value
        return value if isinstance(value, str) else None
