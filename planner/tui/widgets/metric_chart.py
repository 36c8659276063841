"""A live line chart of training metrics with axes and a legend (textual-plot's PlotWidget).

`show(series)` takes {metric name: [(step, value), ...]} and redraws the names this chart was built
for; the lab screen calls it a few times a second while a run streams, and once for a stored attempt.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from textual_plot import HiResMode, LegendLocation, PlotWidget

MAX_POINTS = 800
COLOURS = ("bright_cyan", "bright_magenta", "yellow", "bright_green", "bright_red", "bright_blue")


def is_loss(name: str) -> bool:
    return "loss" in name


class MetricChart(PlotWidget):
    """Plots the metrics `wanted(name)` picks: the loss chart and the metric chart are two of these."""

    def __init__(self, title: str, wanted: Callable[[str], bool] = is_loss, x_label: str = "step",
                 **kwargs: Any) -> None:
        super().__init__(allow_pan_and_zoom=False, **kwargs)
        self.title, self.wanted, self.x_label = title, wanted, x_label
        self.border_title = title

    def on_mount(self) -> None:  # PlotWidget.on_mount runs too (Textual dispatches along the MRO)
        self.set_xlabel(self.x_label)
        self.show_legend(LegendLocation.TOPRIGHT)

    def show(self, series: dict[str, list[tuple[int, float]]], prefix: str = "") -> None:
        """Replace what is drawn with `series` (only the names this chart wants)."""
        self.clear()
        self.add(series, prefix)

    def add(self, series: dict[str, list[tuple[int, float]]], prefix: str = "", offset: int = 0) -> None:
        """Draw more lines without clearing (to overlay two attempts); `prefix` labels them."""
        names = [n for n in sorted(series) if self.wanted(n) and series[n]]
        for i, name in enumerate(names):
            points = thinned(np.asarray(series[name], dtype=float))
            self.plot(points[:, 0], points[:, 1], line_style=COLOURS[(i + offset) % len(COLOURS)],
                      hires_mode=HiResMode.BRAILLE, label=f"{prefix}{name}")
            self._extend_limits(points)
        self.set_xlimits(*padded(self._x_range))
        self.set_ylimits(*padded(self._y_range))

    def clear(self) -> None:
        super().clear()
        self._x_range: tuple[float, float] | None = None
        self._y_range: tuple[float, float] | None = None

    def _extend_limits(self, points: np.ndarray) -> None:
        finite = points[np.isfinite(points).all(axis=1)]
        if len(finite) == 0:
            return
        for attr, column in (("_x_range", finite[:, 0]), ("_y_range", finite[:, 1])):
            low, high = float(column.min()), float(column.max())
            old = getattr(self, attr, None)
            setattr(self, attr, (low, high) if old is None else (min(old[0], low), max(old[1], high)))


def thinned(points: np.ndarray, limit: int = MAX_POINTS) -> np.ndarray:
    """At most about `limit` evenly spaced points, always keeping the last (a chart is a few hundred
    cells wide; redrawing 20 000 points four times a second would cost the UI its responsiveness)."""
    if len(points) <= limit:
        return points
    index = np.unique(np.r_[np.linspace(0, len(points) - 1, limit).astype(int), len(points) - 1])
    return points[index]


def padded(span: tuple[float, float] | None) -> tuple[float | None, float | None]:
    """Axis limits for a data range; a flat range (one point, a constant metric) gets room around it,
    because textual-plot cannot place ticks on an empty interval (it takes log10 of their spacing)."""
    if span is None:
        return None, None
    low, high = span
    if high - low > 1e-9 * max(1.0, abs(low), abs(high)):
        return low, high
    room = max(abs(low) * 0.05, 1e-3)
    return low - room, high + room
