"""Final loss against parameter count on log-log axes, with the fitted law: the scaling-laws picture.

textual-plot has no log scale, so the plot draws log10 N and log10 L and `Log10Ticks` labels the
ticks with the values themselves (20k, 2.2). The border caption names the law and its fitted exponent.
The attempt view and the live lab show it for a scaling-laws run (labs.catalog._fit.ScalingPicture).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from textual_plot import HiResMode, LegendLocation, PlotWidget
from textual_plot.axis_formatter import AxisFormatter, NumericAxisFormatter

from labs.catalog._fit import ScalingPicture


def short_number(value: float) -> str:
    """A tick label: 20k, 1.5M, 2.2."""
    if value >= 1e6:
        return f"{value / 1e6:.3g}M"
    if value >= 1e3:
        return f"{value / 1e3:.3g}k"
    return f"{value:.3g}"


class Log10Ticks(AxisFormatter):
    """Ticks for an axis that carries log10 of the values: placed at round values (1-2-5 per decade over a
    wide range, nice linear steps over a narrow one) and labelled with the values, not their logs."""

    def get_ticks(self, min_: float, max_: float, max_ticks: int = 8) -> list[float]:
        low, high = 10.0**min_, 10.0**max_
        if high / low >= 10:
            values = [m * 10.0**k for k in range(math.floor(min_) - 1, math.ceil(max_) + 1) for m in (1, 2, 5)]
            values = [v for v in values if low <= v <= high]
            stride = max(1, math.ceil(len(values) / max(1, max_ticks)))
            values = values[::stride]
        else:
            values = [v for v in NumericAxisFormatter().get_ticks(low, high, max_ticks) if v > 0]
        return [math.log10(v) for v in values]

    def get_labels_for_ticks(self, ticks: Sequence[float]) -> list[str]:
        return [short_number(10.0**t) for t in ticks]


class ScalingPlot(PlotWidget):
    """`show(picture)` draws the measured points and the fitted curve; the caption goes in the border."""

    DEFAULT_CSS = "ScalingPlot { height: 2fr; min-height: 10; }"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(allow_pan_and_zoom=False, **kwargs)
        self.border_title = "Final loss vs parameters (log-log)"

    def on_mount(self) -> None:
        self.set_xlabel("parameters N (non-embedding), log scale")
        self.set_ylabel("val loss, log scale")
        self.set_x_formatter(Log10Ticks())
        self.set_y_formatter(Log10Ticks())
        self.show_legend(LegendLocation.TOPRIGHT)

    def show(self, picture: ScalingPicture) -> None:
        self.clear()
        n, loss = np.asarray(picture.n_params), np.asarray(picture.losses)
        curve_n, curve_loss = picture.curve()
        self.plot(np.log10(curve_n), np.log10(curve_loss), line_style="bright_magenta",
                  hires_mode=HiResMode.BRAILLE, label="fit")
        self.scatter(np.log10(n), np.log10(loss), marker="●", marker_style="bright_cyan", label="measured")
        xs = np.log10(np.r_[n, curve_n])
        ys = np.log10(np.r_[loss, curve_loss])
        pad_y = max(0.05 * float(ys.max() - ys.min()), 0.005)
        self.set_xlimits(float(xs.min()), float(xs.max()))
        self.set_ylimits(float(ys.min()) - pad_y, float(ys.max()) + pad_y)
        self.border_subtitle = picture.caption()
