"""The planner: what comes next, the path to a role, readiness, pace and the projected date."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from planner import plan
from planner.curriculum import Curriculum, Node, load_curriculum
from planner.progress import NodeProgress

REAL_ROOT = Path(__file__).resolve().parents[1] / "data"


def node(node_id: str, hours: float = 1.0, prerequisites: tuple[str, ...] = (), **extra) -> Node:
    kind = extra.pop("kind", "concept")
    return Node(id=node_id, title=node_id.upper(), kind=kind, track="t", hours=hours,
                prerequisites=list(prerequisites), lesson=None if kind == "role" else f"{node_id}.md", **extra)


@pytest.fixture
def graph() -> Curriculum:
    """a unlocks three nodes, x one (y), z none; role r needs y; role s needs b and c."""
    nodes = [
        node("z", 0.5), node("x", 2.0), node("a", 3.0),
        node("b", 2.0, ("a",)), node("c", 4.0, ("a",)), node("d", 1.0, ("a",)), node("y", 1.0, ("x",)),
        node("r", 5.0, kind="role", requires=["y"]), node("s", 5.0, kind="role", requires=["b", "c"]),
    ]
    return Curriculum(root=Path("."), nodes={n.id: n for n in nodes})


def progress_for(curriculum: Curriculum, completed: dict[str, float] | set[str] = frozenset(),
                 started: set[str] = frozenset(), test_out: set[str] = frozenset()) -> dict[str, NodeProgress]:
    """States implied by the graph; `completed` may map node id -> recorded hours."""
    hours = completed if isinstance(completed, dict) else dict.fromkeys(completed, 0.0)
    out = {}
    for node_id in curriculum.topological_order():
        missing = [p for p in curriculum.nodes[node_id].prerequisites if p not in hours]
        state = ("completed" if node_id in hours else "locked" if missing
                 else "in_progress" if node_id in started else "available")
        out[node_id] = NodeProgress(node_id=node_id, state=state, missing=[] if state == "completed" else missing,
                                    time_spent_s=3600 * hours.get(node_id, 0.0), test_out=node_id in test_out)
    return out


# --- next up ---------------------------------------------------------------------------------------


def test_a_new_learner_starts_with_large_models():
    real = load_curriculum(REAL_ROOT)
    fresh = progress_for(real)
    for role in (None, *[r.id for r in real.roles]):
        assert plan.next_up(real, fresh, role)[0].node_id == "large-models"


def test_without_a_role_nodes_that_unlock_most_come_first(graph):
    recs = plan.next_up(graph, progress_for(graph), None)
    assert [r.node_id for r in recs] == ["a", "x", "z"]
    assert recs[0].reason == "unlocks B, C and D"


def test_nodes_on_the_role_path_outrank_bigger_unlockers(graph):
    recs = plan.next_up(graph, progress_for(graph), "r", limit=2)
    assert [r.node_id for r in recs] == ["x", "a"]
    assert recs[0].reason == "on your path to R; unlocks Y"
    assert "path" not in recs[1].reason


def test_equal_unlocks_go_shortest_first(graph):
    recs = plan.next_up(graph, progress_for(graph, {"a"}), None, limit=5)
    assert [r.node_id for r in recs] == ["x", "z", "d", "b", "c"]


def test_a_started_node_says_so_and_a_ready_capstone_is_recommended(graph):
    prog = progress_for(graph, {"x", "y"}, started={"a"})
    recs = {r.node_id: r.reason for r in plan.next_up(graph, prog, "r", limit=9)}
    assert recs["r"].startswith("the capstone for R")
    assert recs["a"].startswith("you have started it")


def test_nothing_left_gives_no_recommendations(graph):
    assert plan.next_up(graph, progress_for(graph, set(graph.nodes)), "r") == []


# --- path to a role --------------------------------------------------------------------------------


def test_role_path_lists_remaining_nodes_in_prerequisite_order_capstone_last(graph):
    path = plan.role_path(graph, progress_for(graph, {"a"}), "s")
    ids = [s.node_id for s in path.steps]
    assert ids == ["b", "c", "s"]
    assert path.remaining_hours == pytest.approx(2 + 4 + 5)


def test_locked_steps_say_what_is_missing(graph):
    path = plan.role_path(graph, progress_for(graph), "s")
    by_id = {s.node_id: s for s in path.steps}
    assert by_id["a"].state == "available" and by_id["a"].missing == []
    assert by_id["b"].missing == ["A"]
    assert by_id["s"].state == "locked" and by_id["s"].missing == ["B", "C"]


def test_readiness_is_the_completed_share_of_the_skill_set_hours(graph):
    # skill set of s = a (3 h), b (2 h), c (4 h); the capstone is not counted
    assert plan.readiness(graph, progress_for(graph), "s") == 0
    assert plan.readiness(graph, progress_for(graph, {"a", "b"}), "s") == pytest.approx(5 / 9)
    assert plan.readiness(graph, progress_for(graph, {"a", "b", "c"}), "s") == 1


def test_real_role_paths_are_valid_orders():
    real = load_curriculum(REAL_ROOT)
    for role in real.roles:
        steps = [s.node_id for s in plan.role_path(real, progress_for(real), role.id).steps]
        assert steps[-1] == role.id
        for i, node_id in enumerate(steps):
            assert set(real.nodes[node_id].prerequisites) <= set(steps[:i])


def test_unknown_role_lists_the_roles(graph):
    for call in (lambda: plan.role_path(graph, progress_for(graph), "astronaut"),
                 lambda: plan.next_up(graph, progress_for(graph), "astronaut"),
                 lambda: plan.role_path(graph, progress_for(graph), "a")):  # a node, but not a role
        with pytest.raises(plan.UnknownRoleError, match="the roles are: r, s"):
            call()


def test_roles_overview_puts_the_most_ready_first(graph):
    overview = plan.roles_overview(graph, progress_for(graph, {"x"}))
    assert [(o.role_id, o.readiness) for o in overview] == [("r", 2 / 3), ("s", 0)]


# --- pace and date ---------------------------------------------------------------------------------


def test_projected_finish_from_the_estimates_and_from_a_pace():
    today = date(2026, 1, 1)
    assert plan.projected_finish(10, 5, today) == date(2026, 1, 15)
    assert plan.projected_finish(10, 5, today, pace=1.5) == date(2026, 1, 22)
    assert plan.projected_finish(0, 5, today) == today
    assert plan.projected_finish(1, 7, today) == date(2026, 1, 2)


@pytest.mark.parametrize("hours, pace", [(1e-9, None), (0.01, 1e12)])
def test_projected_finish_beyond_the_calendar_is_the_last_date_not_a_crash(hours, pace):
    # 1e-9 h/week passes the 0 < h <= 168 check; the date must not overflow (it crashed `pathlab plan`).
    assert plan.projected_finish(500, hours, date(2026, 1, 1), pace) == date.max


@pytest.mark.parametrize("hours, pace", [(0, None), (-3, None), (5, 0.0)])
def test_projected_finish_rejects_impossible_rates(hours, pace):
    with pytest.raises(ValueError, match="more than 0"):
        plan.projected_finish(10, hours, date(2026, 1, 1), pace)


def test_pace_needs_three_completed_nodes(graph):
    assert plan.measured_pace(graph, progress_for(graph, {"a": 4.5, "x": 3.0})) is None
    pace = plan.measured_pace(graph, progress_for(graph, {"a": 4.5, "x": 3.0, "z": 0.75}))
    assert pace == pytest.approx((4.5 + 3.0 + 0.75) / (3.0 + 2.0 + 0.5))


def test_pace_ignores_test_outs_and_implausibly_small_records(graph):
    with_test_out = progress_for(graph, {"a": 4.5, "x": 3.0, "z": 0.75}, test_out={"z"})
    assert plan.measured_pace(graph, with_test_out) is None
    only_compute_time = progress_for(graph, {"a": 0.01, "x": 0.02, "z": 0.01})
    assert plan.measured_pace(graph, only_compute_time) is None


# --- the commands ----------------------------------------------------------------------------------


def test_plan_json_for_a_learner_with_a_role_and_hours(run_cli):
    run_cli("learner", "add", "Ada", "--role", "llm-engineer", data=REAL_ROOT)
    result = run_cli("plan", "--hours-per-week", "10", "--json", data=REAL_ROOT)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["learner"] == "Ada" and data["role"] == "llm-engineer"
    assert data["next_up"][0]["node_id"] == "large-models"
    assert data["path"]["steps"][-1]["node_id"] == "llm-engineer"
    weeks = data["path"]["remaining_hours"] / 10
    assert (date.fromisoformat(data["projected_finish"]) - date.today()).days == pytest.approx(7 * weeks, abs=1)


def test_plan_with_an_unknown_role_is_a_clean_error(run_cli):
    result = run_cli("plan", "--role", "astronaut", data=REAL_ROOT)
    assert result.exit_code == 2
    assert "unknown role 'astronaut'" in result.stderr and "ml-engineer" in result.stderr
    assert "Traceback" not in result.output


def test_roles_json_gives_readiness_only_with_a_learner(run_cli):
    anonymous = json.loads(run_cli("roles", "--json", data=REAL_ROOT).stdout)
    assert anonymous["learner"] is None and len(anonymous["roles"]) == 7
    assert all(r["readiness"] is None for r in anonymous["roles"])
    run_cli("learner", "add", "Ada", data=REAL_ROOT)
    named = json.loads(run_cli("roles", "--json", data=REAL_ROOT).stdout)
    assert named["learner"] == "Ada" and all(r["readiness"] == 0 for r in named["roles"])


def test_the_projection_is_the_path_the_pace_and_the_finish_together(graph):
    done = progress_for(graph, {"a": 6.0, "x": 4.0, "z": 1.0})  # twice the estimates: pace 2
    today = date(2026, 3, 2)
    with_hours = plan.projection(graph, done, "s", 6.0, today)
    path = plan.role_path(graph, done, "s")
    assert with_hours.path == path and with_hours.pace == pytest.approx(2.0)
    assert with_hours.finish == plan.projected_finish(path.remaining_hours, 6.0, today, 2.0)
    assert with_hours.finish > plan.projected_finish(path.remaining_hours, 6.0, today)  # slower than estimated
    without = plan.projection(graph, done, "s", None, today)
    assert without.finish is None and without.pace == with_hours.pace and without.path == path


def test_the_service_projects_for_the_learners_role_and_hours_unless_told_otherwise(store, curriculum):
    from planner.service import Service

    svc = Service(store, curriculum)
    nobody = store.add_learner("Ann")
    assert svc.projection(nobody) is None  # no role yet
    ada = store.add_learner("Ada", target_role="ml-engineer", hours_per_week=7)
    today = date(2026, 1, 5)
    mine = svc.projection(ada, today=today)
    assert mine.role_id == "ml-engineer" and mine.hours_per_week == 7
    assert mine.finish == plan.projected_finish(mine.path.remaining_hours, 7, today, mine.pace)
    slower = svc.projection(ada, hours_per_week=3.5, today=today)
    assert (slower.finish - today).days >= 2 * (mine.finish - today).days - 1
    assert svc.projection(nobody, role="ml-engineer", today=today).finish is None
