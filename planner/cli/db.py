"""`pathlab db path | explore`: where the database is, and a browser view of it in Datasette.

`explore` runs Datasette (an optional extra: `pip install 'pathlab[explore]'`) on the file, whose pages
only read it (beside a running app, as a second reader of a WAL database), with the metadata that
describes every table and column (`planner/datasette/metadata.json`). Without Datasette it says how to
install it.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import click

from planner.cli import AppContext, pass_app


def _db_path(app: AppContext) -> Path:
    from planner.paths import default_db_path

    return Path(app.db_path or default_db_path())


@click.group()
def db() -> None:
    """Where the database is; explore it in Datasette."""


@db.command("path")
@pass_app
def path(app: AppContext) -> None:
    """Print the database file's path (it may not exist yet)."""
    click.echo(str(_db_path(app).resolve()))


@db.command("explore")
@click.option("--port", type=click.IntRange(0, 65535), default=8001, show_default=True,
              help="Port for Datasette (on 127.0.0.1).")
@pass_app
def explore(app: AppContext, port: int) -> None:
    """Open the database in Datasette, with every table and column described."""
    if importlib.util.find_spec("datasette") is None:
        raise click.ClickException("Datasette is not installed; install it with: "
                                   "pip install 'pathlab[explore]' (or pip install datasette)")
    file = _db_path(app)
    if not file.is_file():
        raise click.ClickException(f"{file}: no database there yet (run pathlab once to create it)")
    app.store  # open it once: migrations (the nodes and labs tables) and the catalog sync
    from planner.datasette import metadata_for

    with tempfile.TemporaryDirectory() as folder:
        meta = Path(folder) / "metadata.json"
        meta.write_text(json.dumps(metadata_for(file)), encoding="utf-8")
        click.echo(f"Datasette on http://127.0.0.1:{port}/ (Ctrl-C stops it)", err=True)
        try:
            subprocess.run([sys.executable, "-m", "datasette", "serve", str(file), "--metadata", str(meta),
                            "--host", "127.0.0.1", "--port", str(port)], check=False)
        except KeyboardInterrupt:
            pass
