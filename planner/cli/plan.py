"""`pathlab plan` (what to do next, the path to a role, when you will get there) and `pathlab roles`.

Both are thin: they resolve the learner, derive progress, call `planner.plan` and print. Without any
learner yet, they plan for a fresh start, so a newcomer can ask what a role would take before signing up.
The --json keys are documented in the README, section --json.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import click

from planner import plan as planning
from planner.cli import AppContext, echo_json, pass_app
from planner.cli.nodes import STATE_MARK

HOURS = click.FloatRange(min=0, min_open=True, max=168)


def _learner_and_progress(app: AppContext, name: str | None, *, required: bool):
    """(learner or None, progress). A missing learner is an error only when named or several exist."""
    if name is None and not app.service.learners():
        learner = None
    elif required or name is not None:
        learner = app.resolve_learner(name)
    else:
        try:
            learner = app.resolve_learner(None)
        except ValueError:
            learner = None
    if learner is None:
        from planner.progress import node_progress

        return None, node_progress(app.curriculum, [], [])
    return learner, app.progress(learner)


def plan_data(app: AppContext, name: str | None, role: str | None, hours: float | None,
              today: date) -> dict[str, Any]:
    """Everything `pathlab plan` shows, as JSON-ready data."""
    learner, progress = _learner_and_progress(app, name, required=True)
    curriculum = app.curriculum
    role = role or (learner.target_role if learner else None)
    hours = hours or (learner.hours_per_week if learner else None)
    recs = planning.next_up(curriculum, progress, role)
    data: dict[str, Any] = {
        "learner": learner.name if learner else None, "role": role, "hours_per_week": hours,
        "pace": None, "projected_finish": None,
        "next_up": [r.model_dump() for r in recs], "path": None,
        "next_action": app.service.next_action(learner, recs[0].node_id, progress).model_dump() if recs else None,
    }
    data["pace_basis"] = planning.pace_basis(curriculum, progress).model_dump()
    data["time_spent"] = _time_spent(progress)
    due = app.service.reviews_due(learner, progress=progress) if learner else []
    data["reviews_due"] = {"count": len(due), "nodes": [r.node_id for r in due],
                           "due": {r.node_id: r.due.isoformat() for r in due}}
    if role:
        projection = planning.projection(curriculum, progress, role, hours, today)
        data["path"] = projection.path.model_dump()
        data["pace"] = projection.pace
        data["projected_finish"] = projection.finish.isoformat() if projection.finish else None
    return data


def _time_spent(progress: dict[str, Any]) -> dict[str, Any]:
    """The learner's recorded study time (planner.studytime): seconds in all, by kind, and per node that has any."""
    by_kind: dict[str, float] = {"lesson": 0.0, "quiz": 0.0, "build": 0.0, "lab": 0.0}
    nodes: dict[str, dict[str, float]] = {}
    for node_id, p in progress.items():
        for kind, seconds in p.time_by_kind.items():
            by_kind[kind] = by_kind.get(kind, 0.0) + seconds
        if p.time_spent_s > 0:
            nodes[node_id] = {"total_s": p.time_spent_s, **{f"{k}_s": v for k, v in p.time_by_kind.items()}}
    return {"total_s": sum(by_kind.values()), **{f"{k}_s": v for k, v in by_kind.items()}, "nodes": nodes}


@click.command()
@click.option("--learner", "name", help="Whose plan (may be left out when only one learner exists).")
@click.option("--role", help="Target role id (default: the learner's target role).")
@click.option("--hours-per-week", "hours", type=HOURS, help="Study hours per week (default: the learner's).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output (keys in the README).")
@pass_app
def plan(app: AppContext, name: str | None, role: str | None, hours: float | None, as_json: bool) -> None:
    """What to do next, the path to a role with its hours, and the projected date."""
    data = plan_data(app, name, role, hours, date.today())
    if as_json:
        echo_json(data)
        return
    who = data["learner"] or "a new learner"
    click.echo(click.style(f"Plan for {who}", bold=True))
    click.echo("Next up:")
    for i, rec in enumerate(data["next_up"], 1):
        click.echo(f"  {i}. {rec['title']} ({rec['hours']:g} h): {rec['reason']}")
    if not data["next_up"]:
        click.echo("  nothing left to do: every node is completed")
    if data["next_action"]:
        click.echo(f"Next action: {data['next_action']['text']}")
    if data["reviews_due"]["count"]:
        n = data["reviews_due"]["count"]
        click.echo(f"{n} review{'s' if n != 1 else ''} due: {', '.join(data['reviews_due']['nodes'])} "
                   f"(pathlab review)")
    if data["path"] is None:
        roles = ", ".join(n.id for n in app.curriculum.roles)
        click.echo(f"\nChoose a target role to see the path: --role ROLE ({roles})")
        return
    _echo_path(data)


def _echo_path(data: dict[str, Any]) -> None:
    path = data["path"]
    click.echo("")
    click.echo(click.style(f"Path to {path['title']}", bold=True)
               + f": readiness {path['readiness']:.0%}, {path['remaining_hours']:g} h left")
    width = max((len(s["node_id"]) for s in path["steps"]), default=0)
    for i, step in enumerate(path["steps"], 1):
        needs = f"  needs {', '.join(step['missing'])}" if step["state"] == "locked" else ""
        click.echo(f"  {i:>2}. {STATE_MARK[step['state']]} {step['node_id']:<{width}}  {step['title']}"
                   f" ({step['hours']:g} h){needs}")
    if not path["steps"]:
        click.echo("  all done, capstone included")
    if data["projected_finish"]:
        basis = f"your measured pace x{data['pace']:.2f}" if data["pace"] else "the estimates"
        click.echo(f"\nAt {data['hours_per_week']:g} h/week, by {basis}: done around {data['projected_finish']}")
        click.echo(f"Pace: {data['pace_basis']['reason']}")
    elif path["steps"]:
        click.echo("\nSet weekly hours to get a date: --hours-per-week H")


def roles_data(app: AppContext, name: str | None) -> dict[str, Any]:
    """Every role with its requirements and, when a learner resolves, their readiness."""
    learner, progress = _learner_and_progress(app, name, required=False)
    overview = {s.role_id: s for s in planning.roles_overview(app.curriculum, progress)}
    rows = []
    for node in app.curriculum.roles:
        summary = overview[node.id]
        rows.append({
            "id": node.id, "title": node.title, "summary": node.summary, "requires": node.requires,
            "capstone": node.lab, "remaining_hours": summary.remaining_hours,
            "readiness": summary.readiness if learner else None,
            "state": summary.state if learner else None,
        })
    return {"learner": learner.name if learner else None, "roles": rows}


@click.command()
@click.option("--learner", "name", help="Whose readiness (default: the only learner, if there is one).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output (keys in the README).")
@pass_app
def roles(app: AppContext, name: str | None, as_json: bool) -> None:
    """Every career role, what it requires, and the learner's readiness for it."""
    data = roles_data(app, name)
    if as_json:
        echo_json(data)
        return
    width = max(len(r["id"]) for r in data["roles"])
    for r in data["roles"]:
        ready = f"{r['readiness']:>4.0%} ready, " if r["readiness"] is not None else ""
        click.echo(f"{r['id']:<{width}}  {r['title']}  ·  {ready}{r['remaining_hours']:g} h to go")
        click.echo(f"{'':<{width}}  requires {', '.join(r['requires'])}")
    if data["learner"] is None:
        click.echo("\n(readiness shows once a learner is chosen: --learner NAME)")
