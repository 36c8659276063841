"""The skill map's layout, shared by the HTML report's SVG and the app's terminal graph (pure).

`depths`: the longest prerequisite chain below each node (0 = none), the row or layer it sits on.
`layers`: skill nodes grouped by depth, every role in one last layer (a role is a goal, not a step);
inside a layer, nodes ordered by the mean position of their prerequisites (the barycentre heuristic),
which puts a node under what it builds on and removes most crossings.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, TypeVar

from planner import plan as planning
from planner.curriculum import Curriculum


class Layered(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def depth(self) -> int: ...
    @property
    def prerequisites(self) -> list[str]: ...


N = TypeVar("N", bound=Layered)


def depths(curriculum: Curriculum) -> dict[str, int]:
    """Longest prerequisite chain below each node: the row it sits on in the skill map."""
    depth: dict[str, int] = {}
    for node_id in curriculum.topological_order():
        pres = planning.prerequisites(curriculum.nodes[node_id])
        depth[node_id] = 1 + max((depth[p] for p in pres), default=-1)
    return depth


def layers(nodes: Sequence[N]) -> list[list[N]]:
    """Skill nodes in layers by depth, then every role in one last layer, each in barycentre order."""
    last = max((n.depth for n in nodes if n.kind != "role"), default=-1) + 1
    rows: dict[int, list[N]] = {}
    for node in nodes:
        rows.setdefault(last if node.kind == "role" else node.depth, []).append(node)
    column: dict[str, float] = {}
    ordered = []
    for depth in sorted(rows):

        def centre(node: N) -> float:
            cols = [column[p] for p in node.prerequisites if p in column]
            return sum(cols) / len(cols) if cols else 0.0

        row = sorted(rows[depth], key=lambda n: (centre(n), n.id))
        for i, node in enumerate(row):
            column[node.id] = i - (len(row) - 1) / 2
        ordered.append(row)
    return ordered
