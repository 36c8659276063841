"""The dashboard's skill map as a graph (issue 14 §6): layers by depth, edges drawn, keys that move
along edges, enter opens, and the list view one key away (remembered for the session)."""

from __future__ import annotations

from planner import plan
from planner.curriculum import load_curriculum
from planner.graph_layout import depths, layers
from planner.tui.graph_grid import layout, step

from .helpers import SIZE


class _N:
    def __init__(self, node_id, kind, depth, prerequisites):
        self.id, self.kind, self.depth, self.prerequisites = node_id, kind, depth, prerequisites


def _grid(width: int = 38):
    curriculum = load_curriculum()  # the bundled curriculum: branches, a skipping edge, seven roles
    pre = {n.id: plan.prerequisites(n) for n in curriculum.nodes.values()}
    depth = depths(curriculum)
    ordered = layers([_N(n, curriculum.nodes[n].kind, depth[n], pre[n]) for n in curriculum.topological_order()])
    skills = [[n.id for n in layer] for layer in ordered if layer[0].kind != "role"]
    roles = [n.id for layer in ordered if layer[0].kind == "role" for n in layer]
    return layout(skills, roles, pre, width), pre, depth


def test_layers_are_depths_and_every_skill_edge_is_a_line_into_its_node():
    grid, pre, depth = _grid()
    for node_id, cell in grid.cells.items():
        if node_id in depth and cell.layer < len(grid.layers) - 1:
            assert cell.layer == depth[node_id]
    for target, cell in grid.cells.items():
        for source in pre[target]:
            if grid.cells[target].layer == len(grid.layers) - 1:
                continue  # roles carry their edges as symbols
            assert (source, target) in grid.edge_at.get((cell.row - 1, cell.x), set()), (source, target)
            assert grid.glyph(cell.row - 1, cell.x) in "│┤├┼┐┌┬"  # a line comes down onto the node


def test_the_graph_fits_80_columns_side_by_side_with_the_panel_or_scrolls_keeping_its_labels():
    grid, _, _ = _grid(38)
    widest = max(len(layer) for layer in grid.layers[:-1])  # the skill layers (roles wrap in rows)
    if widest <= 2:
        assert grid.width <= 38
    else:  # three skills side by side (ffnn's dependents): the map scrolls sideways, labels stay readable
        assert grid.width == widest * 16 and min(c.width for c in grid.cells.values()) == 14
    two_wide = layout([["a"], ["b", "c"], ["d"]], [], {"b": ["a"], "c": ["a"], "d": ["b", "c"]}, 38)
    assert two_wide.width <= 38


def test_keys_move_along_edges_and_within_a_layer():
    grid, pre, _ = _grid()
    assert step(grid, "large-models", "down", pre) in ("classic-vs-deep", "gradient-descent")
    assert step(grid, "gradient-descent", "down", pre) == "backpropagation"
    assert step(grid, "backpropagation", "up", pre) == "gradient-descent"
    assert step(grid, "applications", "up", pre, came_from="large-models") == "large-models"  # back the same way
    assert step(grid, "classic-vs-deep", "right", pre) == "gradient-descent"
    assert step(grid, "gradient-descent", "left", pre) == "classic-vs-deep"
    assert step(grid, "large-models", "up", pre) == "large-models"  # nothing above: stays
    assert step(grid, "scaling", "down", pre) in {"llm-engineer", "research-scientist", "ai-product-manager"}


async def test_the_dashboard_opens_on_the_graph_and_arrows_follow_edges(make, ada):
    app = make()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        graph = app.screen.query_one("#skill-graph")
        assert graph.display and app.focused is graph and graph.highlighted_node == "large-models"
        await pilot.press("down", "down", "down")  # large-models -> gradient-descent -> backpropagation -> ffnn
        assert graph.highlighted_node == "ffnn"
        assert "Feed-forward networks" in str(app.screen.query_one("#node-detail").render())
        await pilot.press("down")  # ffnn's only dependent: the role
        assert graph.highlighted_node == "ml-engineer"
        await pilot.press("up")  # back where it came from, though gradient-descent is a prerequisite too
        assert graph.highlighted_node == "ffnn"
        await pilot.press("enter")
        await pilot.pause()
        assert type(app.screen).__name__ == "NodeScreen" and app.screen.node_id == "ffnn"


async def test_v_toggles_the_list_on_the_same_node_and_the_choice_is_kept_for_the_session(make, ada):
    app = make()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("down", "v")
        skill_list = app.screen.query_one("#skill-map")
        assert skill_list.display and not app.screen.query_one("#skill-graph").display
        assert app.focused is skill_list and skill_list.highlighted_node == "gradient-descent"
        await pilot.press("enter")  # opens the node; back to the map with m
        await pilot.pause()
        await pilot.press("m")
        await pilot.pause()
        assert app.screen.query_one("#skill-map").display
        app.set_learner(app.learner)  # a new dashboard (as after switching learner) keeps the list
        await pilot.pause()
        assert app.screen.query_one("#skill-map").display
        await pilot.press("v")
        assert app.screen.query_one("#skill-graph").display and app.map_view == "graph"
