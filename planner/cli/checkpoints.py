"""`pathlab checkpoints list|prune`: the trained models attempts stored (planner.checkpoints).

    pathlab checkpoints list [--learner NAME] [--json]     every stored model, disk use per lab and in total
    pathlab checkpoints prune [--keep-best] [--dry-run] [--json]
                                                           keep each learner's best per lab, free the rest

The files live in `<db>.models/` beside the database, named by their sha256.
"""

from __future__ import annotations

import click

from planner.checkpoints import human_bytes
from planner.cli import AppContext, echo_json, pass_app


@click.group()
def checkpoints() -> None:
    """Stored models: what they take on disk, and freeing it."""


@checkpoints.command("list")
@click.option("--learner", "name", help="Only this learner's models (default: everyone's in the database).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output (keys in the README).")
@pass_app
def list_checkpoints(app: AppContext, name: str | None, as_json: bool) -> None:
    """Every stored model with its lab, score and size; disk use per lab and in total."""
    learner = app.resolve_learner(name) if name else None
    listing = app.service.checkpoint_listing(learner)
    if as_json:
        echo_json(listing.model_dump())
        return
    click.echo(f"Models folder: {listing.folder}")
    if not listing.checkpoints:
        click.echo("No stored models yet: every lab that trains a model stores it when it finishes.")
    else:
        click.echo(f"{'lab':<26} {'attempt':>7} {'score':>5}  {'best':<4} {'kind':<14} {'size':>9}  sha256")
        for r in listing.checkpoints:
            score = "-" if r.score is None else f"{r.score:.0f}"
            click.echo(f"{r.lab_id:<26} {r.attempt_id:>7} {score:>5}  {'yes' if r.best else '':<4} "
                       f"{str(r.architecture.get('kind', '?')):<14} {human_bytes(r.bytes):>9}  {r.sha256[:16]}")
        click.echo("")
        for use in listing.labs:
            click.echo(f"  {use.lab_id}: {use.checkpoints} checkpoint(s), {use.files} file(s), "
                       f"{human_bytes(use.bytes)}")
    click.echo(f"Total on disk: {human_bytes(listing.total_bytes)}"
               + (f" ({human_bytes(listing.unreferenced_bytes)} unreferenced: `pathlab checkpoints prune` frees it)"
                  if listing.unreferenced_bytes else ""))


@checkpoints.command("prune")
@click.option("--keep-best", "keep_best", is_flag=True, default=True,
              help="Keep every learner's best model of each lab (the default, and always the rule).")
@click.option("--dry-run", is_flag=True, help="Say what would be freed; delete nothing.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_app
def prune(app: AppContext, keep_best: bool, dry_run: bool, as_json: bool) -> None:
    """Delete every stored model but each learner's best per lab, and files no attempt names."""
    result = app.service.prune_checkpoints(keep_best=True, dry_run=dry_run)
    if as_json:
        echo_json(result.model_dump() | {"dry_run": dry_run})
        return
    verb = "Would free" if dry_run else "Freed"
    click.echo(f"{verb} {human_bytes(result.bytes_freed)}: {result.rows_deleted} checkpoint(s) and "
               f"{result.files_deleted} file(s); kept {result.kept} (every lab's best).")

