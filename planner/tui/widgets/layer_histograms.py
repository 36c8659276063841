"""Per-layer activation and gradient histograms of a deep network, one row per layer (the deep-nets lab).

A run emits its snapshots as samples (`labs.catalog._layerstats`: text "layer-stats {json}", decoded by
`decode`); the lab screen hands every new one to `show` while the run trains, and the attempt view the
recorded ones, which `[` and `]` step through there. Each row is a layer, from the input side down:

    L3 sig  ▁▃█▆▂       │    ▁█▁     4e-09
            activations over [-3, 3] │ dL/d(output) over [-0.02, 0.02], then its std

each histogram scaled to its own tallest bin (the shape is what matters; the gradient's size is the last
column, so a vanishing gradient reads as that number falling layer by layer towards the input). When the
widget is shorter than the network, layers are picked evenly, the first and the last always among them.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.widget import Widget

from labs.catalog._layerstats import LayerSnapshot

LEVELS = " ▁▂▃▄▅▆▇█"
SHORT = {"sigmoid": "sig", "relu": "relu", "tanh": "tanh", "block": "blk", "lrelu": "lrelu", "gelu": "gelu"}


def bars(counts: list[int]) -> str:
    """One character per bin, its height the bin's share of the tallest; an empty bin is a blank, a
    non-empty one at least the lowest bar."""
    top = max(counts, default=0)
    if top <= 0:
        return " " * len(counts)
    return "".join(LEVELS[0] if c == 0 else LEVELS[max(1, round(8 * c / top))] for c in counts)


def short_name(name: str) -> str:
    """'L3 sigmoid' -> 'L3 sig'."""
    index, _, kind = name.partition(" ")
    return f"{index} {SHORT.get(kind, kind[:4])}"


def pick(n_layers: int, rows: int) -> list[int]:
    """`rows` layer indices spread evenly over n_layers, first and last included (all when they fit)."""
    if rows >= n_layers:
        return list(range(n_layers))
    if rows <= 1:
        return [n_layers - 1]
    return sorted({round(i * (n_layers - 1) / (rows - 1)) for i in range(rows)})


def snapshot_text(snap: LayerSnapshot, rows: int | None = None, position: str = "") -> Text:
    """The picture as rich Text: a header line, then one line per (picked) layer."""
    text = Text()
    where = "at init" if snap.epoch == 0 else f"after epoch {snap.epoch}"
    text.append(f"{where}{position} ", style="bold")
    text.append("act", style="bright_cyan")
    text.append("│", style="dim")
    text.append("grad", style="bright_magenta")
    text.append(" std\n", style="dim")
    chosen = pick(len(snap.layers), rows if rows is not None else len(snap.layers))
    for i in chosen:
        layer = snap.layers[i]
        text.append(f"{short_name(layer.name):<8}", style="dim")
        text.append(bars(layer.act), style="bright_cyan")
        text.append("│", style="dim")
        text.append(bars(layer.grad), style="bright_magenta")
        text.append(f" {layer.grad_std:.0e}\n" if layer.grad_std else "     0\n")
    if len(chosen) < len(snap.layers):
        text.append(f"{len(chosen)} of {len(snap.layers)} layers shown", style="dim")
    return text


class LayerHistograms(Widget):
    """`show(snapshots)` draws the last one (the run's newest); `step(-1 | +1)` moves through them."""

    DEFAULT_CSS = """
    LayerHistograms { height: 2fr; min-height: 5; border: round $primary 50%; padding: 0 1; }
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.border_title = "Layers: activations │ gradients"
        self.snapshots: list[LayerSnapshot] = []
        self.index = -1  # -1: follow the newest

    def show(self, snapshots: list[LayerSnapshot]) -> None:
        self.snapshots = list(snapshots)
        self.refresh()

    def step(self, delta: int) -> None:
        """Move to the previous (-1) or next (+1) snapshot; past the newest it follows the run again."""
        if not self.snapshots:
            return
        current = len(self.snapshots) - 1 if self.index < 0 else self.index
        self.index = max(0, min(len(self.snapshots) - 1, current + delta))
        if self.index == len(self.snapshots) - 1:
            self.index = -1
        self.refresh()

    @property
    def current(self) -> LayerSnapshot | None:
        if not self.snapshots:
            return None
        return self.snapshots[self.index if self.index >= 0 else -1]

    def render(self) -> Text:
        snap = self.current
        if snap is None:
            return Text("waiting for the first snapshot", style="dim")
        self.border_subtitle = (f"act [{snap.act_edges[0]:g}, {snap.act_edges[-1]:g}] · "
                                f"grad [{snap.grad_edges[0]:g}, {snap.grad_edges[-1]:g}]")
        shown = self.index if self.index >= 0 else len(self.snapshots) - 1
        position = f" ({shown + 1}/{len(self.snapshots)})" if len(self.snapshots) > 1 else ""
        rows = max(1, self.content_size.height - 2)  # the header, and the "k of n shown" line
        return snapshot_text(snap, rows if rows < len(snap.layers) else None, position)
