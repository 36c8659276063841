"""The planner: what to do next, the path to a role, and when the learner will get there (pure functions).

Everything here reads the `Curriculum` and the learner's `NodeProgress` map (from `planner.progress`) and
returns pydantic models; nothing touches storage or the screen.

Definitions the numbers rest on:

- A role's *skill set* is its `requires` plus their prerequisite closure. Its *path* is the part of the
  skill set not yet completed, followed by the role node itself (the capstone lab), in prerequisite order.
- *Readiness* is the share of the skill set's estimated hours that are completed (0..1). Weighting by hours
  means finishing the 8-hour attention node moves you further than the 2-hour overview, as it should.
  The capstone is not counted: readiness says how prepared you are to attempt it.
- *Pace* is recorded hours over estimated hours on completed nodes (1.2 = you take 20% longer than the
  estimates). It is only measured once `MIN_PACE_HISTORY` nodes are completed with time recorded; before
  that one fast or slow node would swing every date. Recorded time is `NodeProgress.time_by_kind`
  (planner.studytime): lessons read in the app (active time, idle cutoff), quizzes (first question to
  last answer), builds (estimated from saves and gradings) and lab compute. A CLI learner's reading
  leaves no trace, so a ratio below `MIN_CREDIBLE_PACE` says more about what was recorded than about
  the learner and is ignored rather than promising an absurdly early date. `pace_basis` says which:
  measured or not, from which nodes and which kinds of time, and why not when it is not.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, Field

from planner.errors import UnknownName

if TYPE_CHECKING:
    from planner.curriculum import Curriculum, Node
    from planner.progress import NodeProgress

MIN_PACE_HISTORY = 3
MIN_CREDIBLE_PACE = 0.25
READY_STATES = ("available", "in_progress")


class UnknownRoleError(UnknownName):
    """A role id that is not in the curriculum; the message lists the roles that are."""


class Recommendation(BaseModel):
    node_id: str
    title: str
    hours: float
    reason: str = Field(description="one line, e.g. 'on your path to ML engineer; unlocks CNN and RNN'")


class PathStep(BaseModel):
    node_id: str
    title: str
    kind: str
    hours: float
    state: str
    missing: list[str] = Field(default_factory=list, description="titles of prerequisites not yet completed")


class RolePath(BaseModel):
    role_id: str
    title: str
    steps: list[PathStep] = Field(description="remaining nodes in a valid prerequisite order, capstone last")
    remaining_hours: float
    readiness: float = Field(ge=0, le=1, description="completed share of the skill set's estimated hours")


class Projection(BaseModel):
    """When the learner reaches a role: the path, the pace it is scaled by, and the date (one home for
    what the plan screen, the dashboard, `pathlab plan` and the report all show)."""

    role_id: str
    path: RolePath
    hours_per_week: float | None = None
    pace: float | None = Field(default=None, description="measured_pace; None: the estimates are used")
    finish: date | None = Field(default=None, description="projected_finish; None without weekly hours")
    basis: PaceBasis | None = Field(default=None, description="what the pace rests on (pace_basis)")


class PaceBasis(BaseModel):
    """What the pace rests on (`pathlab plan --json`'s `pace_basis`): whether it is measured, from which
    completed nodes and which kinds of recorded time, and why not when it is not."""

    measured: bool
    pace: float | None = Field(default=None, description="recorded / estimated hours; None: the estimates are used")
    nodes: list[str] = Field(default_factory=list, description="completed nodes (not tested out) with time recorded")
    needed: int = Field(default=MIN_PACE_HISTORY, description="how many such nodes a measured pace needs")
    recorded_hours: float = 0.0
    estimated_hours: float = 0.0
    seconds_by_kind: dict[str, float] = Field(default_factory=dict,
                                              description="over those nodes: lesson, quiz, build, lab seconds")
    reason: str = Field(description="one line, e.g. 'measured on 3 completed nodes' or why it is not")


class NextAction(BaseModel):
    """The one concrete thing to do next on a node (`pathlab plan` names it for the top next-up node)."""

    node_id: str
    kind: Literal["build", "quiz", "lesson", "experiment"]
    text: str = Field(description="e.g. 'write softmax_backward in ffnn_digits.py'")
    command: str | None = Field(default=None, description="the command that does or checks it, if any")


class RoleSummary(BaseModel):
    role_id: str
    title: str
    state: str
    readiness: float
    remaining_hours: float


# --- the graph -------------------------------------------------------------------------------------


def prerequisites(node: Node) -> list[str]:
    """A node's prerequisites; for a role these are its `requires` (the loader fills them in)."""
    return list(node.prerequisites)


def skill_set(curriculum: Curriculum, role_id: str) -> set[str]:
    """The role's required nodes and everything they depend on (not the role itself)."""
    role = role_node(curriculum, role_id)
    seen: set[str] = set()
    stack = list(prerequisites(role))
    while stack:
        node_id = stack.pop()
        if node_id not in seen:
            seen.add(node_id)
            stack.extend(prerequisites(curriculum.nodes[node_id]))
    return seen


def role_node(curriculum: Curriculum, role_id: str) -> Node:
    node = curriculum.nodes.get(role_id)
    if node is None or node.kind != "role":
        roles = ", ".join(n.id for n in curriculum.nodes.values() if n.kind == "role")
        raise UnknownRoleError(f"unknown role {role_id!r}; the roles are: {roles}")
    return node


def topological_order(curriculum: Curriculum, node_ids: set[str]) -> list[str]:
    """`node_ids` ordered so each comes after its prerequisites; ties keep the curriculum's own order."""
    return [node_id for node_id in curriculum.topological_order() if node_id in node_ids]


def _completed(progress: Mapping[str, NodeProgress], node_id: str) -> bool:
    entry = progress.get(node_id)
    return entry is not None and entry.state == "completed"


def _state(progress: Mapping[str, NodeProgress], node_id: str) -> str:
    entry = progress.get(node_id)
    return entry.state if entry is not None else "locked"


# --- next up ---------------------------------------------------------------------------------------


def unlocks(curriculum: Curriculum, progress: Mapping[str, NodeProgress], node_id: str) -> list[Node]:
    """The nodes that completing `node_id` would make available (all their other prerequisites are done)."""
    return [
        n for n in map(curriculum.node, curriculum.dependants(node_id))
        if not _completed(progress, n.id)
        and all(p == node_id or _completed(progress, p) for p in prerequisites(n))
    ]


def next_up(curriculum: Curriculum, progress: Mapping[str, NodeProgress],
            target_role: str | None = None, limit: int = 3) -> list[Recommendation]:
    """The nodes to do next: on the target role's path first, then those that unlock most, then the shortest."""
    path = (skill_set(curriculum, target_role) | {target_role}) if target_role else set()
    role_title = role_node(curriculum, target_role).title if target_role else ""
    candidates = [n for n in curriculum.nodes.values() if _state(progress, n.id) in READY_STATES]

    def rank(node: Node) -> tuple:
        return (node.id not in path, -len(unlocks(curriculum, progress, node.id)), node.hours)

    chosen = sorted(candidates, key=rank)[:limit]  # stable: full ties keep the curriculum's order
    return [
        Recommendation(node_id=n.id, title=n.title, hours=n.hours,
                       reason=_reason(curriculum, progress, n, role_title if n.id in path else ""))
        for n in chosen
    ]


def _reason(curriculum: Curriculum, progress: Mapping[str, NodeProgress], node: Node, role_title: str) -> str:
    parts = []
    if _state(progress, node.id) == "in_progress":
        parts.append("you have started it")
    if role_title:
        parts.append("the capstone for " + role_title if node.kind == "role" else f"on your path to {role_title}")
    opened = [n.title for n in unlocks(curriculum, progress, node.id)]
    if opened:
        parts.append("unlocks " + _join(opened))
    if not parts:
        parts.append(node.summary[:1].lower() + node.summary[1:] if node.summary else "available now")
    return "; ".join(parts)


def _join(titles: list[str]) -> str:
    return titles[0] if len(titles) == 1 else ", ".join(titles[:-1]) + " and " + titles[-1]


def next_action(node: Node, progress: NodeProgress, task: Any = None,
                latest_checks: Mapping[str, str] | None = None) -> NextAction:
    """What to do next on `node`, from what its completion still needs (`progress.missing_work`): the
    build first, then the quiz, then (a lab without a build task) the experiment.

    `task` is the node's build task (`labs.implement.tasks.Task`: lab_id, filename, functions) and
    `latest_checks` the learner's latest build attempt's checks, check id -> status (None: no attempt).
    A build names the first function, in the task's order, with a check that did not pass there.
    """
    work = progress.missing_work
    if "build" in work and task is not None:
        grade = f"pathlab lab grade {task.lab_id}"
        if latest_checks is None:
            start = f"pathlab lab start {task.lab_id}"
            return NextAction(node_id=node.id, kind="build", text=f"start the build: {start}", command=start)
        for fn in task.functions:
            own = [status for check_id, status in latest_checks.items()
                   if check_id in (f"forward:{fn.name}", f"gradient:{fn.name}")]
            if any(status != "passed" for status in own):
                return NextAction(node_id=node.id, kind="build", text=f"write {fn.name} in {task.filename}",
                                  command=grade)
        return NextAction(node_id=node.id, kind="build", command=grade,
                          text=f"make the network in {task.filename} pass every check, training included")
    if "quiz" in work:
        return NextAction(node_id=node.id, kind="quiz", text=f"pass the quiz on {node.title}",
                          command=f"pathlab quiz {node.id}")
    if node.lab and (work or progress.state != "completed"):
        run = f"pathlab lab run {node.lab}"
        return NextAction(node_id=node.id, kind="experiment", text=f"run the lab: {run}", command=run)
    return NextAction(node_id=node.id, kind="lesson", text=f"read the lesson on {node.title}")


# --- path to a role --------------------------------------------------------------------------------


def role_path(curriculum: Curriculum, progress: Mapping[str, NodeProgress], role_id: str) -> RolePath:
    """The remaining nodes to `role_id` in prerequisite order, their hours, and the learner's readiness."""
    role = role_node(curriculum, role_id)
    skills = skill_set(curriculum, role_id)
    remaining = {n for n in skills | {role_id} if not _completed(progress, n)}
    steps = [_step(curriculum, progress, curriculum.nodes[n]) for n in topological_order(curriculum, remaining)]
    return RolePath(
        role_id=role_id, title=role.title, steps=steps,
        remaining_hours=sum(s.hours for s in steps), readiness=readiness(curriculum, progress, role_id),
    )


def readiness(curriculum: Curriculum, progress: Mapping[str, NodeProgress], role_id: str) -> float:
    """Completed share (0..1) of the estimated hours in the role's skill set; see the module docstring."""
    skills = skill_set(curriculum, role_id)
    total = sum(curriculum.nodes[n].hours for n in skills)
    done = sum(curriculum.nodes[n].hours for n in skills if _completed(progress, n))
    return done / total if total else 1.0


def _step(curriculum: Curriculum, progress: Mapping[str, NodeProgress], node: Node) -> PathStep:
    missing = [curriculum.nodes[p].title for p in prerequisites(node) if not _completed(progress, p)]
    return PathStep(node_id=node.id, title=node.title, kind=node.kind, hours=node.hours,
                    state=_state(progress, node.id), missing=missing)


def roles_overview(curriculum: Curriculum, progress: Mapping[str, NodeProgress]) -> list[RoleSummary]:
    """Every role with the learner's readiness and hours left, most ready first."""
    summaries = []
    for node in curriculum.nodes.values():
        if node.kind == "role":
            path = role_path(curriculum, progress, node.id)
            summaries.append(RoleSummary(role_id=node.id, title=node.title, state=_state(progress, node.id),
                                         readiness=path.readiness, remaining_hours=path.remaining_hours))
    return sorted(summaries, key=lambda s: (-s.readiness, s.remaining_hours))


# --- when ------------------------------------------------------------------------------------------


def measured_pace(curriculum: Curriculum, progress: Mapping[str, NodeProgress]) -> float | None:
    """Recorded over estimated hours on completed nodes; None without enough (or credible) history."""
    return pace_basis(curriculum, progress).pace


def pace_basis(curriculum: Curriculum, progress: Mapping[str, NodeProgress]) -> PaceBasis:
    """The pace and what it rests on: the completed nodes (not tested out, with an estimate) that have
    recorded time, their recorded and estimated hours and the recorded seconds by kind."""
    done = [(node_id, p) for node_id, p in progress.items()
            if p.state == "completed" and not p.test_out and p.time_spent_s > 0
            and node_id in curriculum.nodes and curriculum.nodes[node_id].hours > 0]
    recorded = sum(p.time_spent_s for _, p in done) / 3600
    estimated = sum(curriculum.nodes[node_id].hours for node_id, _ in done)
    by_kind: dict[str, float] = {}
    for _, p in done:
        for kind, seconds in p.time_by_kind.items():
            by_kind[kind] = by_kind.get(kind, 0.0) + seconds
    basis = {"nodes": [node_id for node_id, _ in done], "recorded_hours": recorded, "estimated_hours": estimated,
             "seconds_by_kind": by_kind}
    if len(done) < MIN_PACE_HISTORY:
        return PaceBasis(measured=False, reason=f"not measured yet: {len(done)} of {MIN_PACE_HISTORY} completed "
                                                f"nodes have time recorded; the estimates are used", **basis)
    pace = recorded / estimated
    if pace < MIN_CREDIBLE_PACE:
        return PaceBasis(measured=False, reason=f"not credible: {recorded:.1f} h recorded for {estimated:g} h "
                                                f"estimated (x{pace:.2f}, below x{MIN_CREDIBLE_PACE:g}: time not "
                                                f"recorded, such as lessons read outside the app); the estimates "
                                                f"are used", **basis)
    return PaceBasis(measured=True, pace=pace, reason=f"measured on {len(done)} completed nodes: {recorded:.1f} h "
                                                      f"recorded for {estimated:g} h estimated", **basis)


def projected_finish(remaining_hours: float, hours_per_week: float, today: date,
                     pace: float | None = None) -> date:
    """The day the remaining estimated hours are done at `hours_per_week`, scaled by the learner's pace.

    Capped at `date.max` (9999-12-31) when the work would outlast the calendar.
    """
    if not hours_per_week > 0:
        raise ValueError(f"hours per week must be more than 0, got {hours_per_week}")
    if pace is not None and not pace > 0:
        raise ValueError(f"pace must be more than 0, got {pace}")
    hours = max(0.0, remaining_hours) * (pace if pace is not None else 1.0)
    days = hours / hours_per_week * 7
    # A valid but tiny weekly budget (1e-9 h) puts the date past the calendar: say "never" as date.max.
    if days >= (date.max - today).days:
        return date.max
    return today + timedelta(days=math.ceil(days))


def projection(curriculum: Curriculum, progress: Mapping[str, NodeProgress], role_id: str,
               hours_per_week: float | None, today: date) -> Projection:
    """The path to `role_id`, the learner's pace and, with weekly hours, the projected finish."""
    path = role_path(curriculum, progress, role_id)
    basis = pace_basis(curriculum, progress)
    pace = basis.pace
    finish = projected_finish(path.remaining_hours, hours_per_week, today, pace) if hours_per_week else None
    return Projection(role_id=role_id, path=path, hours_per_week=hours_per_week or None, pace=pace,
                      finish=finish, basis=basis)
