"""The skill map as a map: the prerequisite graph drawn in the terminal (planner.tui.graph_grid).

A `ScrollView` that draws only the visible lines, so it scrolls both ways at any size. Keys move along
edges: up to a prerequisite, down to a dependent (back where you came from first), left/right within a
layer; enter opens the node. The highlighted node is reversed and its edges and neighbours bold, so it
reads with NO_COLOR too; states are the list view's symbols and colours (planner.tui.symbols).
"""

from __future__ import annotations

from typing import Any

from rich.segment import Segment
from rich.style import Style
from textual.binding import Binding
from textual.geometry import Region, Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from planner import plan
from planner.curriculum import Curriculum
from planner.graph_layout import depths, layers
from planner.progress import NodeProgress
from planner.tui.graph_grid import Grid, layout, step
from planner.tui.symbols import STATE_COLOUR, STATE_SYMBOL


class _Node:
    """What `planner.graph_layout.layers` needs of a node."""

    def __init__(self, node_id: str, kind: str, depth: int, prerequisites: list[str]) -> None:
        self.id, self.kind, self.depth, self.prerequisites = node_id, kind, depth, prerequisites


class SkillGraph(ScrollView, can_focus=True):
    """The prerequisite graph; `highlighted_node` is the id under the cursor."""

    BINDINGS = [
        Binding("up", "move('up')", "Prerequisite", show=False, id="graph.move-up"),
        Binding("down", "move('down')", "Dependent", show=False, id="graph.move-down"),
        Binding("left", "move('left')", "In layer", show=False, id="graph.move-left"),
        Binding("right", "move('right')", "In layer", show=False, id="graph.move-right"),
        Binding("enter", "select", "Open node", show=False, id="graph.select"),
    ]
    COMPONENT_CLASSES = {"skill-graph--edge", "skill-graph--edge-lit", "skill-graph--header"}
    DEFAULT_CSS = """
    SkillGraph .skill-graph--edge { color: $text-muted; }
    SkillGraph .skill-graph--edge-lit { color: $accent; text-style: bold; }
    SkillGraph .skill-graph--header { color: $secondary; text-style: bold; }
    """

    class NodeHighlighted(Message):
        def __init__(self, node_id: str) -> None:
            super().__init__()
            self.node_id = node_id

    class NodeSelected(Message):
        def __init__(self, node_id: str) -> None:
            super().__init__()
            self.node_id = node_id

    def __init__(self, curriculum: Curriculum, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.curriculum = curriculum
        self.prerequisites = {n.id: plan.prerequisites(n) for n in curriculum.nodes.values()}
        depth = depths(curriculum)
        ordered = layers([_Node(n, curriculum.nodes[n].kind, depth[n], self.prerequisites[n])
                          for n in curriculum.topological_order()])
        self._skill_layers = [[n.id for n in layer] for layer in ordered if layer[0].kind != "role"]
        self._roles = [n.id for layer in ordered if layer[0].kind == "role" for n in layer]
        self.progress: dict[str, NodeProgress] = {}
        self.grid: Grid = layout(self._skill_layers, self._roles, self.prerequisites, 40)
        self.highlighted_node: str | None = next(iter(self._skill_layers[0]), None) if self._skill_layers else None
        self._came_from: str | None = None
        self._laid_out_for = -1

    # ---- data and layout ------------------------------------------------------------------------

    def show(self, progress: dict[str, NodeProgress]) -> None:
        self.progress = progress
        self.refresh()

    def select_node(self, node_id: str | None) -> None:
        if node_id is not None and node_id in self.grid.cells:
            self.highlighted_node = node_id
            self._scroll_to_cursor()
            self.refresh()

    def _relayout(self) -> None:
        width = max(20, self.scrollable_content_region.width)
        if width != self._laid_out_for:
            self._laid_out_for = width
            self.grid = layout(self._skill_layers, self._roles, self.prerequisites, width)
            self.virtual_size = Size(self.grid.width, self.grid.height)

    def on_resize(self) -> None:
        self._relayout()
        self._scroll_to_cursor()

    def on_mount(self) -> None:
        self._relayout()

    def _scroll_to_cursor(self) -> None:
        cell = self.grid.cells.get(self.highlighted_node or "")
        if cell is not None:
            self.scroll_to_region(Region(cell.x - 1, cell.row - 1, cell.width + 2, 3), animate=False, force=True)

    # ---- keys -----------------------------------------------------------------------------------

    def action_move(self, direction: str) -> None:
        current = self.highlighted_node
        if current is None:
            return
        target = step(self.grid, current, direction, self.prerequisites, self._came_from)
        if target != current:
            self._came_from = current if direction in ("up", "down") else None
            self.highlighted_node = target
            self._scroll_to_cursor()
            self.refresh()
            self.post_message(self.NodeHighlighted(target))

    def action_select(self) -> None:
        if self.highlighted_node is not None:
            self.post_message(self.NodeSelected(self.highlighted_node))

    # ---- drawing --------------------------------------------------------------------------------

    def _lit(self) -> set[str]:
        """The highlighted node's prerequisites and dependents (drawn bold)."""
        node = self.highlighted_node
        if node is None:
            return set()
        return set(self.prerequisites.get(node, ())) | {n for n, p in self.prerequisites.items() if node in p}

    def _label(self, node_id: str, width: int) -> list[Segment]:
        entry = self.progress.get(node_id)
        state = entry.state if entry is not None else "locked"
        node = self.curriculum.nodes[node_id]
        title = node.title if len(node.title) <= width - 2 else node.title[: width - 3] + "…"
        symbol = Segment(STATE_SYMBOL.get(state, "?"), Style(color=STATE_COLOUR.get(state)))
        style = Style(dim=state == "locked")
        if node_id == self.highlighted_node:
            style = Style(reverse=True, bold=True)
        elif node_id in self._lit():
            style = Style(bold=True, underline=True)
        parts = [symbol, Segment(" "), Segment(title, style)]
        used = 2 + len(title)
        return parts + [Segment(" " * max(0, width - used))]

    def _role_edge(self, role: str, width: int) -> list[Segment]:
        """A role's edges as its prerequisites' state symbols: '◂ ●●○×× 2/5'."""
        pres = [p for p in self.prerequisites.get(role, ()) if p in self.grid.cells]
        states = [self.progress[p].state if p in self.progress else "locked" for p in pres]
        parts = [Segment("  ◂ ", self.get_component_rich_style("skill-graph--edge"))]
        parts += [Segment(STATE_SYMBOL.get(s, "?"), Style(color=STATE_COLOUR.get(s))) for s in states]
        done = sum(s == "completed" for s in states)
        parts.append(Segment(f" {done}/{len(states)}"))
        used = 4 + len(states) + len(f" {done}/{len(states)}")
        return parts + [Segment(" " * max(0, width - used))]

    def _line(self, row: int) -> list[Segment]:
        grid = self.grid
        edge, lit = (self.get_component_rich_style("skill-graph--edge"),
                     self.get_component_rich_style("skill-graph--edge-lit"))
        node = self.highlighted_node
        if row == grid.role_header_row:
            return [Segment("Roles", self.get_component_rich_style("skill-graph--header"))]
        starts = {c.x: c for c in grid.cells.values() if c.row == row}
        role_edges = {c.x: c for c in grid.cells.values() if c.row == row - 1 and c.node_id in self._roles}
        segments: list[Segment] = []
        x = 0
        while x < grid.width:
            if x in starts:
                segments += self._label(starts[x].node_id, starts[x].width)
                x += starts[x].width
                continue
            if x in role_edges:
                segments += self._role_edge(role_edges[x].node_id, role_edges[x].width)
                x += role_edges[x].width
                continue
            edges = grid.edge_at.get((row, x), set())
            style = lit if node is not None and any(node in e for e in edges) else edge
            segments.append(Segment(grid.glyph(row, x), style))
            x += 1
        return segments

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        row = y + scroll_y
        width = self.scrollable_content_region.width
        if row >= self.grid.height:
            return Strip.blank(width, self.rich_style)
        strip = Strip(self._line(row)).crop(scroll_x, scroll_x + width)
        return strip.extend_cell_length(width, self.rich_style)
