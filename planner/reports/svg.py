"""Inline SVG figures for the HTML report: metric curves and the skill map.

Everything is drawn as SVG text with no script, so the report stays one self-contained file that prints.
Long series are thinned by `downsample` (keeping each bucket's minimum and maximum, so a spike or a
divergence still shows) before drawing, which keeps a 100,000-point run to a few kilobytes.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

import numpy as np

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


def line_chart(series: Sequence[Series], title: str, width: int = 360, height: int = 180) -> str:
    """One chart with every series on shared axes, a legend, and min/max labels on both axes."""
    drawn = []
    for s in series:
        steps, values = downsample(np.asarray(s.steps, dtype=float), np.asarray(s.values, dtype=float))
        if len(values):
            drawn.append((s.name, steps, values))
    label = escape(title)
    if not drawn:
        return f'<p class="muted">No recorded points for {label}.</p>'
    left, right, top, bottom = 48, 8, 22, 28
    x_lo = min(s.min() for _, s, _ in drawn)
    x_hi = max(s.max() for _, s, _ in drawn)
    y_lo = min(v.min() for _, _, v in drawn)
    y_hi = max(v.max() for _, _, v in drawn)
    x_span = (x_hi - x_lo) or 1.0
    y_span = (y_hi - y_lo) or 1.0
    plot_w, plot_h = width - left - right, height - top - bottom
    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'role="img" aria-label="{label}" xmlns="http://www.w3.org/2000/svg">',
        f'<text x="{left}" y="14" class="chart-title">{label}</text>',
        f'<rect x="{left}" y="{top}" width="{plot_w}" height="{plot_h}" class="plot"/>',
        f'<text x="{left - 4}" y="{top + 8}" class="tick" text-anchor="end">{_fmt(y_hi)}</text>',
        f'<text x="{left - 4}" y="{top + plot_h}" class="tick" text-anchor="end">{_fmt(y_lo)}</text>',
        f'<text x="{left}" y="{height - 14}" class="tick">{_fmt(x_lo)}</text>',
        f'<text x="{left + plot_w}" y="{height - 14}" class="tick" text-anchor="end">{_fmt(x_hi)}</text>',
        f'<text x="{left + plot_w / 2}" y="{height - 4}" class="tick" text-anchor="middle">step</text>',
    ]
    for i, (name, steps, values) in enumerate(drawn):
        colour = SERIES_COLOURS[i % len(SERIES_COLOURS)]
        xs = left + (steps - x_lo) / x_span * plot_w
        ys = top + plot_h - (values - y_lo) / y_span * plot_h
        points = " ".join(f"{x:.1f},{y:.1f}" for x, y in zip(xs, ys))
        parts.append(f'<polyline points="{points}" fill="none" stroke="{colour}" stroke-width="1.5"/>')
        lx = left + 6 + 110 * (i % 3)
        ly = top + 12 + 12 * (i // 3)
        parts.append(f'<text x="{lx}" y="{ly}" class="legend" fill="{colour}">{escape(name)}</text>')
    parts.append("</svg>")
    return "".join(parts)


# -- the skill map ------------------------------------------------------------------------------------

BOX_W, BOX_H, GAP_X, GAP_Y, MARGIN = 168, 40, 22, 34, 12


def _layers(nodes: Sequence[NodeReport]) -> list[list[NodeReport]]:
    """Nodes grouped by depth; inside a layer, ordered by the mean column of their prerequisites.

    Ordering by that barycentre puts a node under what it builds on, which removes most arrow crossings
    for a graph this size without a full layout algorithm.
    """
    layers: dict[int, list[NodeReport]] = {}
    for node in nodes:
        layers.setdefault(node.depth, []).append(node)
    column: dict[str, float] = {}
    ordered = []
    for depth in sorted(layers):
        layer = layers[depth]

        def centre(node: NodeReport) -> float:
            cols = [column[p] for p in node.prerequisites if p in column]
            return sum(cols) / len(cols) if cols else 0.0

        layer = sorted(layer, key=lambda n: (centre(n), n.kind == "role", n.id))
        for i, node in enumerate(layer):
            column[node.id] = i - (len(layer) - 1) / 2
        ordered.append(layer)
    return ordered


def skill_map(nodes: Sequence[NodeReport]) -> str:
    """The prerequisite graph, one row per depth, each box coloured by the node's state."""
    if not nodes:
        return ""
    layers = _layers(nodes)
    widest = max(len(layer) for layer in layers)
    width = 2 * MARGIN + widest * BOX_W + (widest - 1) * GAP_X
    height = 2 * MARGIN + len(layers) * BOX_H + (len(layers) - 1) * GAP_Y
    where: dict[str, tuple[float, float]] = {}
    for row, layer in enumerate(layers):
        row_w = len(layer) * BOX_W + (len(layer) - 1) * GAP_X
        x0 = (width - row_w) / 2
        for i, node in enumerate(layer):
            where[node.id] = (x0 + i * (BOX_W + GAP_X), MARGIN + row * (BOX_H + GAP_Y))
    parts = [
        f'<svg class="skill-map" viewBox="0 0 {width:.0f} {height:.0f}" width="{width:.0f}" '
        f'height="{height:.0f}" role="img" aria-label="Skill map" xmlns="http://www.w3.org/2000/svg">',
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" '
        'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#777"/></marker></defs>',
    ]
    for node in nodes:
        x, y = where[node.id]
        for pre in node.prerequisites:
            if pre not in where:
                continue
            px, py = where[pre]
            parts.append(
                f'<line x1="{px + BOX_W / 2:.1f}" y1="{py + BOX_H:.1f}" x2="{x + BOX_W / 2:.1f}" y2="{y:.1f}" '
                'class="edge" marker-end="url(#arrow)"/>'
            )
    for node in nodes:
        x, y = where[node.id]
        fill, stroke = STATE_COLOURS.get(node.state, STATE_COLOURS["locked"])
        title = escape(node.title if len(node.title) <= 26 else node.title[:25] + "…")
        state = escape(node.state.replace("_", " "))
        parts.append(
            f'<g class="node"><title>{escape(node.title)}: {state}</title>'
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{BOX_W}" height="{BOX_H}" rx="6" fill="{fill}" '
            f'stroke="{stroke}" stroke-width="1.5"/>'
            f'<text x="{x + BOX_W / 2:.1f}" y="{y + 16:.1f}" text-anchor="middle" class="node-title">{title}</text>'
            f'<text x="{x + BOX_W / 2:.1f}" y="{y + 31:.1f}" text-anchor="middle" class="node-state" '
            f'fill="{stroke}">{state}</text></g>'
        )
    parts.append("</svg>")
    return "".join(parts)
