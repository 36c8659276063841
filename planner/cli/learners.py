"""`pathlab learner add | list | set | delete`: who is learning, toward which role, how many hours a week."""

from __future__ import annotations

from pathlib import Path

import click

from planner.cli import AppContext, echo_json, pass_app
from planner.errors import UnknownName


def _check_role(app: AppContext, role: str | None) -> None:
    """A target role must be one of the curriculum's role nodes."""
    if role is None:
        return
    roles = [r.id for r in app.curriculum.roles]
    if role not in roles:
        raise UnknownName(f"unknown role {role!r}; choose one of: {', '.join(roles)}")


def _describe(learner) -> str:
    role = learner.target_role or "no target role"
    hours = f"{learner.hours_per_week:g} h/week" if learner.hours_per_week else "hours not set"
    return f"{learner.name} ({role}, {hours})"


@click.group()
def learner() -> None:
    """Add, list and change learners."""


@learner.command("add")
@click.argument("name")
@click.option("--role", help="Target role id, e.g. ml-engineer.")
@click.option("--hours-per-week", type=float, help="Study hours you can give each week.")
@pass_app
def add(app: AppContext, name: str, role: str | None, hours_per_week: float | None) -> None:
    """Add a learner called NAME."""
    _check_role(app, role)
    created = app.service.add_learner(name, target_role=role, hours_per_week=hours_per_week)
    click.echo(f"Added learner {_describe(created)}.")


@learner.command("list")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output (keys in the README).")
@pass_app
def list_(app: AppContext, as_json: bool) -> None:
    """List learners."""
    learners = app.service.learners()
    if as_json:
        echo_json([l.model_dump(mode="json") for l in learners])
        return
    if not learners:
        click.echo("No learners yet. Add one with: pathlab learner add NAME")
    for l in learners:
        click.echo(_describe(l))


@learner.command("set")
@click.argument("name")
@click.option("--role", help="New target role id.")
@click.option("--hours-per-week", type=float, help="New weekly study hours.")
@click.option("--rename", "new_name", help="A new name.")
@pass_app
def set_(app: AppContext, name: str, role: str | None, hours_per_week: float | None,
         new_name: str | None) -> None:
    """Change learner NAME's target role, weekly hours or name."""
    if role is None and hours_per_week is None and new_name is None:
        raise click.UsageError("nothing to change: give --role, --hours-per-week or --rename")
    _check_role(app, role)
    changes = {}
    if role is not None:
        changes["target_role"] = role
    if hours_per_week is not None:
        changes["hours_per_week"] = hours_per_week
    updated = app.service.update_learner(name, new_name=new_name, **changes)
    click.echo(f"Updated learner {_describe(updated)}.")


@learner.command("delete")
@click.argument("name")
@click.option("--export", "export_to", type=click.Path(path_type=Path, dir_okay=False),
              help="Save their whole history to this file first (as export-progress does).")
@click.option("--yes", is_flag=True, help="Do not ask (needed without a terminal).")
@pass_app
def delete(app: AppContext, name: str, export_to: Path | None, yes: bool) -> None:
    """Delete learner NAME and their whole history (offering an export first)."""
    import sys

    from planner.reports import write_atomic

    learner = app.resolve_learner(name)
    if not yes:
        if not sys.stdin.isatty():
            raise click.UsageError(f"deleting {learner.name} cannot be undone; add --yes to confirm "
                                   "(and --export FILE to keep a copy)")
        if export_to is None:
            answer = click.prompt(f"Export {learner.name}'s history first? File name, or empty for no",
                                  default="", show_default=False).strip()
            export_to = Path(answer) if answer else None
    if export_to is not None:
        data = app.service.export_progress(learner)
        app.service.check_output_path(export_to)
        write_atomic(export_to, data.model_dump_json(indent=2) + "\n")
        click.echo(f"Exported {learner.name} to {export_to}.")
    if not yes and not click.confirm(f"Delete {learner.name} and all their history? This cannot be undone"):
        click.echo("Nothing deleted.")
        return
    deleted = app.service.delete_learner(learner.name)
    rows = sum(n for table, n in deleted.items() if table != "learners")
    click.echo(f"Deleted {learner.name} ({rows} rows of history); their build files, if any, stay in the "
               "workspace folder beside the database.")
