"""Inline SVG figures for the HTML report: metric curves, the scaling-laws picture and the skill map.

Everything is drawn as SVG text with no script, so the report stays one self-contained file that prints.
Long series are thinned by `downsample` (keeping each bucket's minimum and maximum, so a spike or a
divergence still shows) before drawing, which keeps a 100,000-point run to a few kilobytes.
"""

from __future__ import annotations

from collections.abc import Sequence
import textwrap
from html import escape

import numpy as np

from labs.catalog._fit import ScalingPicture
from planner.graph_layout import layers
from planner.reports.models import NodeReport, Series

MAX_POINTS = 400
STATE_COLOURS = {
    "completed": ("#d6f0dc", "#2e7d32"),
    "in_progress": ("#fff2cc", "#b7791f"),
    "available": ("#e3eefc", "#2f6db5"),
    "locked": ("#eeeeee", "#9e9e9e"),
}
SERIES_COLOURS = ["#2f6db5", "#c0392b", "#2e7d32", "#8e44ad", "#b7791f", "#16a085"]


def downsample(steps: np.ndarray, values: np.ndarray, max_points: int = MAX_POINTS) -> tuple[np.ndarray, np.ndarray]:
    """At most `max_points` points: per bucket of consecutive points, the min and the max, in step order.

    Non-finite values (a diverged run) are dropped first: they cannot be drawn.
    """
    finite = np.isfinite(values)
    steps, values = steps[finite], values[finite]
    n = len(values)
    if n <= max_points:
        return steps, values
    buckets = max_points // 2
    size = -(-n // buckets)  # ceil
    padded = np.pad(values, (0, buckets * size - n), mode="edge").reshape(buckets, size)
    offsets = np.arange(buckets) * size
    keep = np.concatenate([offsets + padded.argmin(axis=1), offsets + padded.argmax(axis=1)])
    keep = np.unique(np.minimum(keep, n - 1))
    return steps[keep], values[keep]


def _fmt(value: float) -> str:
    """A tick label short enough for an axis: 3 significant digits."""
    return f"{value:.3g}"


def _log_scale(drawn: list[tuple[str, np.ndarray, np.ndarray]]) -> bool:
    """Whether to draw on a log axis: positive values spanning two orders of magnitude (a loss that
    falls from 4 to 0.02 is a flat line on a linear axis after the first few steps)."""
    lo = min(v.min() for _, _, v in drawn)
    hi = max(v.max() for _, _, v in drawn)
    return bool(lo > 0 and hi / lo >= 100)


def line_chart(series: Sequence[Series], title: str, width: int = 440, height: int = 200) -> str:
    """One chart with every series on shared axes, a legend, and min/max labels on both axes."""
    drawn = []
    for s in series:
        steps, values = downsample(np.asarray(s.steps, dtype=float), np.asarray(s.values, dtype=float))
        if len(values):
            drawn.append((s.name, steps, values))
    label = escape(title)
    if not drawn:
        return f'<p class="muted">No recorded points for {label}.</p>'
    log = _log_scale(drawn)
    scale = np.log10 if log else (lambda v: v)
    left, right, top, bottom = 48, 8, 22, 28
    x_lo = min(s.min() for _, s, _ in drawn)
    x_hi = max(s.max() for _, s, _ in drawn)
    y_lo = min(v.min() for _, _, v in drawn)
    y_hi = max(v.max() for _, _, v in drawn)
    x_span = (x_hi - x_lo) or 1.0
    y_span = (scale(y_hi) - scale(y_lo)) or 1.0
    plot_w, plot_h = width - left - right, height - top - bottom
    axis = "step, log scale" if log else "step"
    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'role="img" aria-label="{label}" xmlns="http://www.w3.org/2000/svg">',
        f'<text x="{left}" y="14" class="chart-title">{label}</text>',
        f'<rect x="{left}" y="{top}" width="{plot_w}" height="{plot_h}" class="plot"/>',
        f'<text x="{left - 4}" y="{top + 8}" class="tick" text-anchor="end">{_fmt(y_hi)}</text>',
        f'<text x="{left - 4}" y="{top + plot_h}" class="tick" text-anchor="end">{_fmt(y_lo)}</text>',
        f'<text x="{left}" y="{height - 14}" class="tick">{_fmt(x_lo)}</text>',
        f'<text x="{left + plot_w}" y="{height - 14}" class="tick" text-anchor="end">{_fmt(x_hi)}</text>',
        f'<text x="{left + plot_w / 2}" y="{height - 4}" class="tick" text-anchor="middle">{axis}</text>',
    ]
    for i, (name, steps, values) in enumerate(drawn):
        colour = SERIES_COLOURS[i % len(SERIES_COLOURS)]
        xs = left + (steps - x_lo) / x_span * plot_w
        ys = top + plot_h - (scale(values) - scale(y_lo)) / y_span * plot_h
        points = " ".join(f"{x:.1f},{y:.1f}" for x, y in zip(xs, ys))
        parts.append(f'<polyline points="{points}" fill="none" stroke="{colour}" stroke-width="1.5"/>')
        parts.append(f'<text x="{left + 120 + 100 * i}" y="14" class="legend" fill="{colour}">{escape(name)}</text>')
    parts.append("</svg>")
    return "".join(parts)


# -- the scaling-laws picture --------------------------------------------------------------------------

def _log_ticks(low: float, high: float) -> list[float]:
    """Round values in [low, high] for a log axis: 1-2-5 per decade, or, inside one decade, steps of a
    round size (a loss from 1.9 to 2.6 gets 2, 2.2, 2.4, 2.6)."""
    if high / low >= 10:
        values = [m * 10.0**k for k in range(int(np.floor(np.log10(low))), int(np.ceil(np.log10(high))) + 1)
                  for m in (1, 2, 5)]
    else:
        step = 10.0 ** np.floor(np.log10((high - low) / 2))
        step *= 2 if (high - low) / step > 8 else 1
        values = list(np.arange(np.ceil(low / step) * step, high + step / 2, step))
    return [float(v) for v in values if low <= v <= high]


def scaling_chart(picture: ScalingPicture, width: int = 440, height: int = 240) -> str:
    """Final loss against parameter count on log-log axes: the measured points, the fitted law E + A N^-alpha
    as a line, round-value ticks on both axes, and the law with its fitted exponent as the caption."""
    n, loss = np.asarray(picture.n_params), np.asarray(picture.losses)
    curve_n, curve_loss = picture.curve()
    x_lo, x_hi = np.log10(curve_n.min()), np.log10(curve_n.max())
    ys = np.log10(np.r_[loss, curve_loss])
    pad = max(0.05 * float(ys.max() - ys.min()), 0.005)
    y_lo, y_hi = float(ys.min()) - pad, float(ys.max()) + pad
    left, right, top, bottom = 48, 8, 22, 42
    plot_w, plot_h = width - left - right, height - top - bottom

    def at(nv: np.ndarray, lv: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return (left + (np.log10(nv) - x_lo) / (x_hi - x_lo) * plot_w,
                top + plot_h - (np.log10(lv) - y_lo) / (y_hi - y_lo) * plot_h)

    caption = escape(picture.caption())
    parts = [
        f'<svg class="chart scaling" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'role="img" aria-label="Final loss against parameters, log-log: {caption}" '
        'xmlns="http://www.w3.org/2000/svg">',
        f'<text x="{left}" y="14" class="chart-title">Final loss vs parameters (log-log)</text>',
        f'<rect x="{left}" y="{top}" width="{plot_w}" height="{plot_h}" class="plot"/>',
    ]
    for value in _log_ticks(10**x_lo, 10**x_hi):
        x = at(np.array([value]), np.array([1.0]))[0][0]
        parts.append(f'<text x="{x:.1f}" y="{top + plot_h + 12}" class="tick" text-anchor="middle">'
                     f'{_short(value)}</text>')
    for value in _log_ticks(10**y_lo, 10**y_hi):
        y = at(np.array([1.0]), np.array([value]))[1][0]
        parts.append(f'<text x="{left - 4}" y="{y + 3:.1f}" class="tick" text-anchor="end">{_fmt(value)}</text>')
    cx, cy = at(curve_n, curve_loss)
    points = " ".join(f"{x:.1f},{y:.1f}" for x, y in zip(cx, cy))
    parts.append(f'<polyline class="fit" points="{points}" fill="none" stroke="{SERIES_COLOURS[1]}" '
                 'stroke-width="1.5"/>')
    for x, y, nv, lv in zip(*at(n, loss), n, loss):
        parts.append(f'<circle class="measured" cx="{x:.1f}" cy="{y:.1f}" r="3.5" fill="{SERIES_COLOURS[0]}">'
                     f'<title>N = {nv:,.0f}: loss {lv:.3f}</title></circle>')
    parts += [
        f'<text x="{left + plot_w / 2}" y="{top + plot_h + 24}" class="tick" text-anchor="middle">'
        'parameters N (non-embedding), log scale</text>',
        f'<text x="{left}" y="{height - 4}" class="legend" fill="{SERIES_COLOURS[1]}">{caption}</text>',
        "</svg>",
    ]
    return "".join(parts)


def _short(value: float) -> str:
    """An axis label for a parameter count: 20k, 1.5M."""
    if value >= 1e6:
        return f"{value / 1e6:.3g}M"
    return f"{value / 1e3:.3g}k" if value >= 1e3 else f"{value:.3g}"


# -- the skill map ------------------------------------------------------------------------------------

BOX_H, GAP_Y, MARGIN = 50, 34, 12
SKILL_W, ROLE_W, GAP_X = 168, 152, 10


def _layers(nodes: Sequence[NodeReport]) -> list[list[NodeReport]]:
    """Skill nodes in rows by depth, then every role in one last row (planner.graph_layout, which the
    app's terminal map shares)."""
    return layers(nodes)


def _positions(layers: list[list[NodeReport]]) -> tuple[dict[str, tuple[float, float, float]], float, float]:
    """x, y and box width of every node, and the figure's width and height; rows are centred."""
    def box(node: NodeReport) -> float:
        return ROLE_W if node.kind == "role" else SKILL_W

    widths = [sum(box(n) for n in row) + GAP_X * (len(row) - 1) for row in layers]
    width = 2 * MARGIN + max(widths)
    height = 2 * MARGIN + len(layers) * BOX_H + (len(layers) - 1) * GAP_Y
    where = {}
    for r, (row, row_w) in enumerate(zip(layers, widths)):
        x = (width - row_w) / 2
        for node in row:
            where[node.id] = (x, MARGIN + r * (BOX_H + GAP_Y), box(node))
            x += box(node) + GAP_X
    return where, width, height


def _edge(src: tuple[float, float, float], dst: tuple[float, float, float], to_role: bool) -> str:
    """A prerequisite arrow, curved so arrows leaving one box fan out instead of overlapping."""
    x1, y1 = src[0] + src[2] / 2, src[1] + BOX_H
    x2, y2 = dst[0] + dst[2] / 2, dst[1]
    mid = (y1 + y2) / 2
    cls = "edge role-edge" if to_role else "edge"
    return (f'<path d="M{x1:.1f},{y1:.1f} C{x1:.1f},{mid:.1f} {x2:.1f},{mid:.1f} {x2:.1f},{y2 - 1:.1f}" '
            f'class="{cls}" fill="none" marker-end="url(#arrow)"/>')


def _title_lines(title: str, width: float) -> list[str]:
    """The title wrapped to two lines that fit the box (about 6.3 px per character at 12 px)."""
    lines = textwrap.wrap(title, max(8, int(width / 6.3)))
    if len(lines) > 2:
        lines = [lines[0], lines[1][:-1] + "…"]
    return lines


def _box(node: NodeReport, x: float, y: float, w: float) -> str:
    fill, stroke = STATE_COLOURS.get(node.state, STATE_COLOURS["locked"])
    lines = _title_lines(node.title, w - 8)
    first = y + (15 if len(lines) == 2 else 21)
    text = "".join(f'<text x="{x + w / 2:.1f}" y="{first + 13 * i:.1f}" text-anchor="middle" '
                   f'class="node-title">{escape(line)}</text>' for i, line in enumerate(lines))
    state = escape(node.state.replace("_", " "))
    return (
        f'<g class="node"><title>{escape(node.title)}: {state}</title>'
        f'<rect x="{x:.1f}" y="{y:.1f}" width="{w}" height="{BOX_H}" rx="6" fill="{fill}" '
        f'stroke="{stroke}" stroke-width="1.5"/>{text}'
        f'<text x="{x + w / 2:.1f}" y="{y + BOX_H - 7:.1f}" text-anchor="middle" class="node-state" '
        f'fill="{stroke}">{state}</text></g>'
    )


def skill_map(nodes: Sequence[NodeReport]) -> str:
    """The prerequisite graph top to bottom, roles in the last row, each box coloured by its state."""
    if not nodes:
        return ""
    where, width, height = _positions(_layers(nodes))
    parts = [
        f'<svg class="skill-map" viewBox="0 0 {width:.0f} {height:.0f}" width="{width:.0f}" '
        f'height="{height:.0f}" role="img" aria-label="Skill map" xmlns="http://www.w3.org/2000/svg">',
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="6" markerHeight="6" '
        'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#888"/></marker></defs>',
    ]
    parts += [_edge(where[p], where[n.id], n.kind == "role") for n in nodes for p in n.prerequisites if p in where]
    parts += [_box(n, *where[n.id]) for n in nodes]
    parts.append("</svg>")
    return "".join(parts)
