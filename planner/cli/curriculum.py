"""`pathlab curriculum check [DIR]`: validate curriculum, lessons and quizzes, listing every problem."""

from __future__ import annotations

from pathlib import Path

import click

from planner.cli import AppContext, pass_app


def _catalog_lab_ids() -> set[str]:
    """The lab ids the catalogue knows."""
    from labs.catalog import lab_ids

    return set(lab_ids())


@click.group()
def curriculum() -> None:
    """Check curriculum files."""


@curriculum.command("check")
@click.argument("root", required=False, type=click.Path(path_type=Path, file_okay=False, exists=True))
@click.option("--lab-ids/--no-lab-ids", default=True, show_default=True,
              help="Check each node's lab against the lab catalogue.")
@pass_app
def check(app: AppContext, root: Path | None, lab_ids: bool) -> None:
    """Validate the curriculum in ROOT (default: --data or the bundled one); exit 1 listing every problem."""
    from planner.curriculum import TEMPLATE_SAMPLE_DRAWS, load_curriculum

    loaded = load_curriculum(root or app.data_root, lab_ids=_catalog_lab_ids() if lab_ids else None,
                             template_draws=TEMPLATE_SAMPLE_DRAWS)  # every numeric template, 200 draws
    skills, roles = len(loaded.skills), len(loaded.roles)
    click.echo(f"Curriculum OK: {len(loaded.nodes)} nodes (skills: {skills}, roles: {roles}), "
               f"quizzes: {len(loaded.quizzes)}, tracks: {', '.join(loaded.tracks)}.")
