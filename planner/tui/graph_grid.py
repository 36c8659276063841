"""The prerequisite graph as a character grid (pure; the dashboard's `SkillGraph` draws it).

Layers by depth run top to bottom (`planner.graph_layout`, as the HTML report): each skill node sits
in a column of a grid, under the mean column of its prerequisites where there is room, so a chain
stays one straight line. Between two layers a connector row draws every edge with box-drawing lines
(an edge that skips layers runs down the lane at the left of its target's column). Roles come last,
in rows of the same columns, each with its prerequisites' state symbols on its edge instead of lines
(a role needs up to six nodes from every layer: drawn, they would be a mesh).

    ● What AI large mo…
    ┌┼────────────────────┐
    │● Deep learning ve…   ● Gradient descent
    └┤                     │
     ● Where models ar…    ● Backpropagation…
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

UP, DOWN, LEFT, RIGHT = 1, 2, 4, 8
GLYPH = {0: " ", UP: "│", DOWN: "│", UP | DOWN: "│", LEFT: "─", RIGHT: "─", LEFT | RIGHT: "─",
         DOWN | RIGHT: "┌", DOWN | LEFT: "┐", UP | RIGHT: "└", UP | LEFT: "┘",
         UP | DOWN | RIGHT: "├", UP | DOWN | LEFT: "┤", DOWN | LEFT | RIGHT: "┬", UP | LEFT | RIGHT: "┴",
         UP | DOWN | LEFT | RIGHT: "┼"}


@dataclass
class Cell:
    """Where a node is drawn: its row in the grid, the column of its symbol, its label's width."""

    node_id: str
    layer: int
    row: int
    x: int
    width: int


@dataclass
class Grid:
    """Lines of connector directions per position, the node cells, and which edges pass where."""

    width: int
    height: int
    cells: dict[str, Cell] = field(default_factory=dict)
    lines: dict[tuple[int, int], int] = field(default_factory=dict)  # (row, x) -> directions
    edge_at: dict[tuple[int, int], set[tuple[str, str]]] = field(default_factory=dict)
    layers: list[list[str]] = field(default_factory=list)  # node ids per layer, roles last
    role_header_row: int | None = None

    def glyph(self, row: int, x: int) -> str:
        return GLYPH[self.lines.get((row, x), 0)]


def _columns(skill_layers: Sequence[Sequence[str]], prerequisites: Mapping[str, Sequence[str]],
             count: int) -> dict[str, int]:
    """A grid column per skill node: the mean column of its prerequisites, pushed right past its
    left neighbour and left so the whole layer fits in `count` columns."""
    column: dict[str, int] = {}
    for layer in skill_layers:
        previous = -1
        for i, node_id in enumerate(layer):
            above = [column[p] for p in prerequisites.get(node_id, ()) if p in column]
            wanted = round(sum(above) / len(above)) if above else i
            column[node_id] = min(max(wanted, previous + 1), count - (len(layer) - i))
            previous = column[node_id]
    return column


def layout(skill_layers: Sequence[Sequence[str]], roles: Sequence[str],
           prerequisites: Mapping[str, Sequence[str]], width: int) -> Grid:
    """The grid for a viewport `width` characters wide (wider when the layers need it: it scrolls)."""
    count = max([len(layer) for layer in skill_layers] + [1])
    pitch = max(16, min(32, width // count))
    roles_per_row = max(1, max(width, count * pitch) // pitch)
    column = _columns(skill_layers, prerequisites, count)
    grid = Grid(width=max(count, roles_per_row) * pitch, height=0,
                layers=[list(layer) for layer in skill_layers] + ([list(roles)] if roles else []))
    label = pitch - 2

    def anchor(col: int) -> int:  # the symbol's position; the lane is just left of it
        return col * pitch + 1

    row = 0
    layer_row: dict[int, int] = {}
    for depth, layer in enumerate(skill_layers):
        if depth:
            row += 1  # the connector row above this layer
        layer_row[depth] = row
        for node_id in layer:
            grid.cells[node_id] = Cell(node_id, depth, row, anchor(column[node_id]), label)
        row += 1

    def add(r: int, x: int, directions: int, edge: tuple[str, str]) -> None:
        grid.lines[(r, x)] = grid.lines.get((r, x), 0) | directions
        grid.edge_at.setdefault((r, x), set()).add(edge)

    def horizontal(r: int, x1: int, x2: int, edge: tuple[str, str]) -> None:
        lo, hi = sorted((x1, x2))
        for x in range(lo, hi + 1):
            add(r, x, (LEFT if x > lo else 0) | (RIGHT if x < hi else 0), edge)

    for target, cell in grid.cells.items():
        for source in prerequisites.get(target, ()):
            if source not in grid.cells:
                continue
            edge, start = (source, target), grid.cells[source]
            first_gap = start.row + 1  # the connector row below the source
            last_gap = cell.row - 1     # the connector row above the target
            if first_gap == last_gap:  # adjacent layers: down, across, down
                add(first_gap, start.x, UP, edge)
                horizontal(first_gap, start.x, cell.x, edge)
                add(first_gap, cell.x, DOWN, edge)
                continue
            lane = cell.x - 1  # a longer edge: across to the target's lane, down it, in at the end
            add(first_gap, start.x, UP, edge)
            horizontal(first_gap, start.x, lane, edge)
            add(first_gap, lane, DOWN, edge)
            for r in range(first_gap + 1, last_gap):
                add(r, lane, UP | DOWN, edge)
            add(last_gap, lane, UP, edge)
            horizontal(last_gap, lane, cell.x, edge)
            add(last_gap, cell.x, DOWN, edge)
    if roles:
        row += 1  # a blank line, then the roles' header row (drawn by the widget)
        grid.role_header_row = row
        row += 1
        role_layer = len(skill_layers)
        for i, role in enumerate(roles):
            r = row + (i // roles_per_row) * 2
            grid.cells[role] = Cell(role, role_layer, r, anchor(i % roles_per_row), label)
        row += -(-len(roles) // roles_per_row) * 2
    grid.height = row
    return grid


# ---- moving along edges -------------------------------------------------------------------------

def neighbours(grid: Grid, node_id: str, prerequisites: Mapping[str, Sequence[str]], up: bool) -> list[str]:
    """The node's prerequisites (up) or dependents (down) on the map, nearest column first."""
    here = grid.cells[node_id]
    if up:
        found = [p for p in prerequisites.get(node_id, ()) if p in grid.cells]
    else:
        found = [n for n, pres in prerequisites.items() if node_id in pres and n in grid.cells]
    return sorted(found, key=lambda n: (abs(grid.cells[n].layer - here.layer), abs(grid.cells[n].x - here.x),
                                        grid.cells[n].row))


def step(grid: Grid, node_id: str, direction: str, prerequisites: Mapping[str, Sequence[str]],
         came_from: str | None = None) -> str:
    """Where a key moves the cursor: up to a prerequisite, down to a dependent (back where it came
    from first, else the nearest), left/right to the neighbour in the same layer. Nowhere to go: stays."""
    if direction in ("up", "down"):
        found = neighbours(grid, node_id, prerequisites, up=direction == "up")
        if came_from in found:
            return came_from  # type: ignore[return-value]
        return found[0] if found else node_id
    layer = next(layer for layer in grid.layers if node_id in layer)
    ordered = sorted(layer, key=lambda n: (grid.cells[n].row, grid.cells[n].x))
    i = ordered.index(node_id) + (1 if direction == "right" else -1)
    return ordered[i] if 0 <= i < len(ordered) else node_id
