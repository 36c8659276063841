"""Implement mode on the command line (registered under `pathlab lab` by planner/cli/labs.py):

    pathlab lab start LAB [--learner NAME] [--dir DIR] [--force]  write the scaffold to your workspace
    pathlab lab grade LAB [--learner NAME] [--dir DIR] [--json] [--watch]
    pathlab lab hint LAB [N] [--dir DIR]                          the next hint, or hint N
    pathlab lab solution LAB [--learner NAME]                     the reference, after you passed

Every command works for every build task (labs.implement.tasks.TASKS). Without --dir the files are
the learner's own, beside the database (`<db>.workspaces/<learner id>/`), and so is their hint count.

`grade` exit codes: 0 passed, 1 failed, error or cancelled, 2 usage (a lab without implement mode). With
--json it prints one object: attempt_id, lab, learner, mode, status, passed, score, checks (id, title,
points, max_points, status, message), code_hash, duration_s. At a terminal a progress bar follows the
training check live; Ctrl-C stops grading within a second and records it cancelled with the points
earned so far. --watch grades again whenever the file's content changes, until Ctrl-C.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import click

from labs.implement.grader import DEFAULT_TIMEOUT_S
from planner.cli import AppContext, echo_json, pass_app

DIR_OPTION = click.option("--dir", "workspace", type=click.Path(path_type=Path, file_okay=False),
                          help="Your workspace folder (default: your own, beside the database).")
LEARNER_OPTION = click.option("--learner", "name", help="Whose attempt this is (default: the only learner).")
MARKS = {"passed": "✔", "partial": "◐", "failed": "✘", "skipped": "·"}


def _task(lab_id: str):
    from labs.implement import get_task

    try:
        return get_task(lab_id)
    except KeyError as exc:
        raise click.UsageError(str(exc.args[0])) from None


@click.command("start")
@click.argument("lab_id", metavar="LAB")
@LEARNER_OPTION
@DIR_OPTION
@click.option("--force", is_flag=True, help="Replace an existing file (kept as a timestamped .bak).")
@pass_app
def start_cmd(app: AppContext, lab_id: str, name: str | None, workspace: Path | None, force: bool) -> None:
    """Write LAB's scaffold (functions to complete) into your workspace."""
    from planner.implement import default_workspace, start, workspace_of

    from planner.implement import record_build_moment

    _task(lab_id)
    learner = app.resolve_learner(name) if workspace is None or name is not None else None
    folder = workspace if workspace is not None else workspace_of(app.service, learner)
    started = start(lab_id, folder, force=force, legacy=default_workspace() if workspace is None else None)
    if learner is not None and not started.copied_from:  # the scaffold's moment: a build's study time starts
        record_build_moment(app.service, learner, lab_id, None, started.path, "scaffold")
    if started.backup:
        click.echo(f"Your previous file was kept as {started.backup}")
    if started.copied_from:
        click.echo(f"Copied your file from the old shared workspace: {started.copied_from}")
        click.echo(f"Your file (yours alone from now on): {started.path}")
    else:
        click.echo(f"Wrote {started.path}")
    click.echo(f"Complete: {', '.join(started.functions)}")
    click.echo(f"Then: pathlab lab grade {lab_id}    (stuck? pathlab lab hint {lab_id})")
    _note_if_locked(app, lab_id, name)


def _note_if_locked(app: AppContext, lab_id: str, name: str | None) -> None:
    """Writing a locked lab is allowed (it is the learner's own study), but say what it builds on."""
    learners = app.service.learners()
    if name is None and len(learners) != 1:
        return
    learner = app.resolve_learner(name)
    node_id = app.service.node_for_lab(lab_id)
    node = app.progress(learner).get(node_id)
    if node is not None and node.state == "locked":
        titles = ", ".join(app.curriculum.nodes[m].title for m in node.missing)
        click.echo(f"Note: {app.curriculum.nodes[node_id].title} is still locked for {learner.name}; "
                   f"it builds on: {titles}.")


@click.command("grade")
@click.argument("lab_id", metavar="LAB")
@LEARNER_OPTION
@DIR_OPTION
@click.option("--json", "as_json", is_flag=True, help="One JSON object (keys in the README).")
@click.option("--watch", is_flag=True, help="Grade again whenever the file changes (Ctrl-C to stop).")
@click.option("--timeout", "timeout_s", type=click.FloatRange(1, 3600), default=None,
              help=f"Seconds before grading is stopped [default: the task's own, else {DEFAULT_TIMEOUT_S:g}].")
@pass_app
def grade_cmd(app: AppContext, lab_id: str, name: str | None, workspace: Path | None, as_json: bool,
              watch: bool, timeout_s: float | None) -> None:
    """Grade your LAB file in a sandbox: structure, values, gradients, then training."""
    from planner.implement import learner_file, workspace_of

    task = _task(lab_id)
    learner = app.resolve_learner(name)
    node_id = app.service.node_for_lab(lab_id)

    def once():
        from planner.cli.progress_view import LiveProgress
        from planner.implement import grade_and_record

        with LiveProgress(f"{task.filename}: training", enabled=sys.stdout.isatty() and not as_json) as view:
            graded = grade_and_record(app.service, learner, lab_id, node_id, workspace, timeout_s=timeout_s,
                                      on_event=view.update)
        _show(graded, as_json, lines=watch)
        return graded

    graded = once()
    if watch and graded.status != "cancelled":  # Ctrl-C during a grading stops watching too
        graded = _watch(learner_file(lab_id, workspace_of(app.service, learner, workspace)), once, graded,
                        quiet=as_json)
    click.get_current_context().exit(0 if graded.passed else 1)


def _watch(path: Path, once, graded, *, quiet: bool):
    """Grade again each time the file's bytes change; Ctrl-C returns the last grade."""
    last = graded.code_hash
    if not quiet:
        click.echo(f"Watching {path} (Ctrl-C to stop)")
    try:
        while True:
            time.sleep(0.5)
            try:
                current = _sha256(path)
            except OSError:
                continue  # an editor may replace the file; look again next time
            if current != last:
                last = current
                graded = once()
                if getattr(graded, "status", None) == "cancelled":  # Ctrl-C while grading: stop watching
                    return graded
    except KeyboardInterrupt:
        return graded


def _sha256(path: Path) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()


def _show(graded, as_json: bool, *, lines: bool = False) -> None:
    """The grade as a table, or as one JSON document (with `lines`, on one line: --watch --json prints
    JSON Lines, one grading per line, so a reader can parse the stream as it comes)."""
    if as_json:
        keys = ("attempt_id", "lab", "learner", "mode", "status", "passed", "score", "code_hash", "duration_s")
        data = {k: getattr(graded, k) for k in keys}
        data["checks"] = [c.model_dump(include={"id", "title", "points", "max_points", "status", "message"})
                          for c in graded.checks]
        echo_json(data, compact=lines)
        return
    from labs.implement import get_task

    order = {spec.id: i for i, spec in enumerate(get_task(graded.lab).checks)}
    click.echo(f"{graded.lab}: {graded.path}")
    for check in sorted(graded.checks, key=lambda c: order.get(c.id, 0)):  # stage order reads best here
        click.echo(f" {MARKS[check.status]} {check.points:>4g}/{check.max_points:<3g} {check.title}")
        if check.status != "passed" or check.id == "train":
            click.echo(f"      {check.message}")
    if graded.output.strip():
        click.echo("Your code printed:\n" + "\n".join("  | " + line for line in graded.output.splitlines()))
    click.echo(f"{graded.status.upper()}: {graded.score:g}/100 in {graded.duration_s:.1f} s. {graded.feedback}")


@click.command("hint")
@click.argument("lab_id", metavar="LAB")
@click.argument("number", metavar="[N]", type=int, required=False)
@LEARNER_OPTION
@DIR_OPTION
@pass_app
def hint_cmd(app: AppContext, lab_id: str, number: int | None, name: str | None, workspace: Path | None) -> None:
    """Show the next hint for LAB (or hint N), one at a time (counted per learner)."""
    from planner.implement import learner_hint, next_hint

    _task(lab_id)
    if workspace is not None and name is None and len(app.service.learners()) != 1:
        hint = next_hint(lab_id, workspace, number)  # whose it is is unknown: counted in that folder
    else:  # the learner's own count, recorded: the report says whether a build passed with hints
        hint = learner_hint(app.service, app.resolve_learner(name), lab_id, workspace, number)
    click.echo(f"Hint {hint.number} of {hint.total}: {hint.text}")
    if hint.number < hint.total:
        click.echo(f"(next: pathlab lab hint {lab_id})")


@click.command("solution")
@click.argument("lab_id", metavar="LAB")
@LEARNER_OPTION
@pass_app
def solution_cmd(app: AppContext, lab_id: str, name: str | None) -> None:
    """Show LAB's reference solution (after your own code has passed)."""
    _task(lab_id)
    click.echo(app.service.reference_solution(app.resolve_learner(name), lab_id), nl=False)
