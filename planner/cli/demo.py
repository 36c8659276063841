"""`pathlab demo`: open the app on a demo database holding a sample learner part-way along.

The demo database is separate from the learner's own (`planner.demo.demo_db_path()`, or --db). On first
use, or with --rebuild, the sample learner's quizzes and labs are done for real (see planner.demo),
with one progress line per step.
"""

from __future__ import annotations

from pathlib import Path

import click

from planner.cli import AppContext, pass_app


@click.command()
@click.option("--db", "demo_db", type=click.Path(path_type=Path, dir_okay=False),
              help="The demo database (default: demo.sqlite in your user data folder).")
@click.option("--rebuild", is_flag=True, help="Start the demo database afresh and redo every run.")
@click.option("--no-open", is_flag=True, help="Build the demo, then exit without opening the app.")
@pass_app
def demo(app: AppContext, demo_db: Path | None, rebuild: bool, no_open: bool) -> None:
    """A sample learner with real, freshly trained attempts, in the app."""
    from planner.demo import DEMO_LEARNER, build_demo, demo_db_path
    from planner.service import Service
    from planner.store import Store  # the app is wired to its own store (as bare `pathlab` is)

    path = (demo_db or demo_db_path()).expanduser()
    if app.db_path is not None and path.resolve() == Path(app.db_path).expanduser().resolve():
        raise click.ClickException(f"the demo needs its own database; {path} is your learner database")
    store = Store.open(path)
    try:
        service = Service(store, app.curriculum)
        if rebuild:  # rows, not files: the app may have this database open in another terminal
            service.forget_learner(DEMO_LEARNER)
        if service.get_learner(DEMO_LEARNER) is None:
            click.echo(f"Building the demo in {path}: every run below trains for real.")
            build_demo(store, app.curriculum, on_step=click.echo)
        else:
            click.echo(f"Opening the demo in {path} (--rebuild to redo its runs).")
        if not no_open:
            from planner.tui import make_app

            make_app(store, app.curriculum).run()
    finally:
        store.close()
