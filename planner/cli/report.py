"""`pathlab report`, `pathlab export-progress` and `pathlab import-progress`: documents that leave the app.

    pathlab report [--learner NAME] [--format md|html|json|csv] [-o FILE] [--since YYYY-MM-DD] [--node ID]
                   [--with-code]
    pathlab export-progress FILE [--learner NAME]
    pathlab import-progress FILE [--rename NEW_NAME]

Files are written atomically (a failed write leaves an existing file untouched); a symlink's target is
written, not the link replaced; a device or pipe (`/dev/stdout`, a fifo) is written to as it is. Without
-o, or with `-o -`, the report goes to stdout (so does `export-progress -`); without --format it follows
the file's extension (.md, .html, .json, .csv), else md.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import click

from planner.cli import AppContext, pass_app

FORMATS = ("md", "html", "json", "csv")
STDOUT = Path("-")
_SUFFIXES = {".md": "md", ".markdown": "md", ".html": "html", ".htm": "html", ".json": "json", ".csv": "csv"}


def _format_for(fmt: str | None, output: Path | None) -> str:
    if fmt:
        return fmt
    return _SUFFIXES.get(output.suffix.lower(), "md") if output and output != STDOUT else "md"


@click.command("report")
@click.option("--learner", "learner_name", help="Whose report (default: the only learner).")
@click.option("--format", "fmt", type=click.Choice(FORMATS), help="Output format (default: from -o's extension, else md).")
@click.option("-o", "--output", type=click.Path(path_type=Path, dir_okay=False, allow_dash=True),
              help="Write to FILE instead of stdout (`-`: stdout).")
@click.option("--since", type=click.DateTime(formats=["%Y-%m-%d"]), help="Only activity on or after this day.")
@click.option("--node", "node_id", help="Only this node and its attempts.")
@click.option("--with-code", is_flag=True, help="Attach the learner's passing build files (md, html, json).")
@pass_app
def report(app: AppContext, learner_name: str | None, fmt: str | None, output: Path | None,
           since: datetime | None, node_id: str | None, with_code: bool) -> None:
    """A progress report for mentors and employers (Markdown, HTML, JSON or CSV)."""
    from planner.reports import write_atomic

    learner = app.resolve_learner(learner_name)
    fmt = _format_for(fmt, output)
    text = app.service.report(learner, fmt, since=since.date() if since else None, node_id=node_id,
                              with_code=with_code)
    if output is None or output == STDOUT:
        click.echo(text, nl=False)
        return
    app.service.check_output_path(output)
    write_atomic(output, text)
    click.echo(f"Wrote the {fmt} report for {learner.name} to {output}.", err=True)


@click.command("export-progress")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False, allow_dash=True))
@click.option("--learner", "learner_name", help="Whose history (default: the only learner).")
@click.option("--with-models", is_flag=True, help="Carry the learner's stored models too (their files, base64).")
@pass_app
def export_progress(app: AppContext, file: Path, learner_name: str | None, with_models: bool) -> None:
    """Save a learner's whole history to FILE (JSON; `-`: stdout) to move it to another machine."""
    from planner.reports import write_atomic

    learner = app.resolve_learner(learner_name)
    data = app.service.export_progress(learner, with_models=with_models)
    text = data.model_dump_json(indent=2) + "\n"
    if file == STDOUT:
        click.echo(text, nl=False)
    else:
        app.service.check_output_path(file)
        write_atomic(file, text)
    models = f" and {len(data.model_files)} stored model(s)" if data.model_files is not None else ""
    click.echo(f"Exported {learner.name}: {len(data.attempts)} lab attempts and {len(data.quiz_attempts)} "
               f"quiz attempts{models} to {'stdout' if file == STDOUT else file}.", err=file == STDOUT)


@click.command("import-progress")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False, exists=True))
@click.option("--rename", help="Import under this name (when the file's learner name is taken here).")
@pass_app
def import_progress(app: AppContext, file: Path, rename: str | None) -> None:
    """Add the history in FILE (from export-progress) to this database; safe to run twice."""
    s = app.service.import_progress_file(file, rename=rename)  # size limit; never the database itself
    verb = "Created" if s.created else "Updated"
    click.echo(f"{verb} {s.learner}: {s.attempts_added} lab attempts and {s.quizzes_added} quiz attempts added, "
               f"{s.attempts_skipped + s.quizzes_skipped} already present."
               + (f" {s.models_added} stored model(s) restored (hash verified)." if s.models_added else ""))
    for problem in s.models_refused:
        click.echo(f"Model not restored: {problem}", err=True)
