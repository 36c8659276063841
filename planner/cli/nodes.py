"""`pathlab nodes`: every node of the skill graph with its state for a learner; and the bare-`pathlab`
status summary."""

from __future__ import annotations

from typing import Any

import click

from planner.cli import AppContext, echo_json, pass_app

STATE_MARK = {"completed": "[x]", "in_progress": "[~]", "available": "[ ]", "locked": " - "}


def node_rows(app: AppContext, learner) -> list[dict[str, Any]]:
    """One JSON-ready dict per node, in curriculum order (keys documented in the README, section --json)."""
    progress = app.progress(learner)
    rows = []
    for node in app.curriculum.nodes.values():
        p = progress[node.id]
        rows.append({
            "id": node.id, "title": node.title, "kind": node.kind, "track": node.track,
            "hours": node.hours, "lab": node.lab, "has_quiz": node.quiz is not None,
            "state": p.state, "mastery": p.mastery, "best_score": p.best_score, "passes": p.passes,
            "missing": p.missing, "test_out": p.test_out, "missing_work": p.missing_work,
            "has_build": p.has_build,
            "completed_at": p.completed_at.isoformat() if p.completed_at else None,
        })
    return rows


@click.command()
@click.option("--learner", "name", help="Whose progress (may be left out when only one learner exists).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output (keys in the README).")
@pass_app
def nodes(app: AppContext, name: str | None, as_json: bool) -> None:
    """Every node with its state, mastery and best score for a learner."""
    learner = app.resolve_learner(name)
    rows = node_rows(app, learner)
    if as_json:
        echo_json({"learner": learner.name, "nodes": rows})
        return
    width = max(len(r["id"]) for r in rows)
    for track in app.curriculum.tracks:
        click.echo(click.style(track, bold=True))
        for r in (r for r in rows if r["track"] == track):
            detail = r["state"].replace("_", " ")
            if r["missing"]:
                detail += f" (needs {', '.join(r['missing'])})"
            elif r["best_score"] is not None:
                detail += f", {r['mastery']}, best {r['best_score']:.0f}"
            if r["missing_work"] and r["state"] != "locked":
                detail += f"; to complete: {' + '.join(r['missing_work'])}"
            click.echo(f"  {STATE_MARK[r['state']]} {r['id']:<{width}}  {r['title']}  ·  {detail}")


def _status_learner(app: AppContext):
    """The learner to summarise: the one the app showed last (else the newest); None, with a hint, when
    there is none yet. With several learners a line names the others."""
    chosen = app.service.last_learner()
    if chosen is None:
        click.echo("Welcome to PathLab. Add a learner to start:  pathlab learner add NAME [--role ROLE]")
        return None
    others = [l.name for l in app.service.learners() if l.id != chosen.id]
    if others:
        click.echo(f"(Also here: {', '.join(others)}. See one's progress with:  pathlab nodes --learner NAME)")
    return chosen


def print_status(app: AppContext) -> None:
    """A few lines: who, toward what, how far, and what can be done now."""
    learner = _status_learner(app)
    if learner is None:
        return
    rows = node_rows(app, learner)
    counts = {s: sum(r["state"] == s for r in rows) for s in STATE_MARK}
    role = learner.target_role or "no target role yet (pathlab learner set NAME --role ROLE)"
    click.echo(f"{learner.name}: {role}")
    click.echo(f"Completed {counts['completed']}/{len(rows)}, in progress {counts['in_progress']}, "
               f"available {counts['available']}, locked {counts['locked']}.")
    ready = [r["id"] for r in rows if r["state"] in ("in_progress", "available")]
    if ready:
        click.echo(f"Ready now: {', '.join(ready)}")
        from planner.plan import next_up

        progress = app.progress(learner)
        top = next_up(app.curriculum, progress, learner.target_role if learner.target_role in app.curriculum.nodes
                      else None, limit=1)
        if top:
            click.echo(f"Next: {app.service.next_action(learner, top[0].node_id, progress).text}")
