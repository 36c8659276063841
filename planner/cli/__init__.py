"""The `pathlab` command: a click group whose context carries the Service (over a lazily opened Store)
and the Curriculum.

    pathlab [--db FILE] [--data DIR] [COMMAND]      (--db also from $PATHLAB_DB)

Commands receive `AppContext` as `ctx.obj` (use the `pass_app` decorator):

    app.service                    planner.service.Service: the one door to the database (reads and writes)
    app.store                      Store, opened on first use (StoreError if the file is unusable); opening
                                   it marks dead `running` attempts `interrupted`, once per command
    app.curriculum                 Curriculum, loaded on first use (CurriculumError lists every problem)
    app.resolve_learner(name)      the named learner; with name None the only learner; else ValueError
                                   saying how to add one or listing the names to choose from
    app.progress(learner)          planner.progress.node_progress for that learner
    echo_json(data)                every --json document: UTF-8, not ASCII-escaped (compact=True: one line)

StoreError, CurriculumError and ValueError raised by a command become `Error: <message>` on stderr and
exit code 1, `planner.errors.UnknownName` (a lab, node, role or learner that is not there) exit code 2;
click's usage errors become one `Error: <message> (try '... --help')` line, exit code 2. The README's
"Exit codes" table is the rule.

Registering a command group (one line at the bottom of this file, imported only when used, so
`pathlab --help` stays fast):

    main.add_lazy_command("plan", "planner.cli.plan:plan", "Next steps and the path to a role.")

`main.add_command(cmd)` works too but imports the command's module at start-up.
"""

from __future__ import annotations

import importlib
import json
import os
import sqlite3
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from planner.curriculum import Curriculum
    from planner.progress import NodeProgress
    from planner.records import Learner
    from planner.service import Service
    from planner.store import Store


class AppContext:
    """What every command needs, created only when first asked for."""

    def __init__(self, db_path: Path | None = None, data_root: Path | None = None):
        self.db_path = db_path
        self.data_root = data_root
        self._store: "Store | None" = None

    @cached_property
    def store(self) -> "Store":
        from planner.paths import default_db_path
        from planner.store import Store

        self._store = Store.open(self.db_path or default_db_path())
        self._recover(self._store)
        return self._store

    def _recover(self, store: "Store") -> None:
        """Every command that opens the database first marks runs whose recording process died
        `interrupted`, so `nodes`, `lab list` and reports never show a killed run as still running.

        A database another program keeps write-locked cannot take that write: a reading command goes on
        (WAL lets it read), and the next command recovers; a writing one will say it is busy."""
        from planner.recovery import recover_at_start
        from planner.store import StoreError

        try:
            recover_at_start(store)
        except StoreError:
            pass
        self._sync_catalog(store)

    def _sync_catalog(self, store: "Store") -> None:
        """The database's `nodes`/`labs` tables follow the curriculum (one read when it is unchanged);
        a busy database or a broken curriculum folder is left for a later command to sync."""
        from planner.curriculum import CurriculumError
        from planner.service import Service
        from planner.store import StoreError

        try:
            Service(store, lambda: self.curriculum).sync_catalog()
        except (StoreError, CurriculumError, sqlite3.Error):
            pass

    @cached_property
    def service(self) -> "Service":
        from planner.service import Service

        return Service(self.store, lambda: self.curriculum)

    @cached_property
    def curriculum(self) -> "Curriculum":
        from planner.curriculum import load_curriculum

        return load_curriculum(self.data_root)

    def resolve_learner(self, name: str | None) -> "Learner":
        from planner.errors import UnknownName

        learners = self.service.learners()
        names = ", ".join(l.name for l in learners)
        if name is not None:
            learner = self.service.get_learner(name)
            if learner is None:
                hint = f"learners: {names}" if learners else "add one with: pathlab learner add NAME"
                raise UnknownName(f"no learner named {name!r} ({hint})")
            return learner
        if not learners:
            raise ValueError("no learner yet; add one with: pathlab learner add NAME")
        if len(learners) > 1:
            raise UnknownName(f"several learners ({names}); choose one with --learner NAME")
        return learners[0]

    def progress(self, learner: "Learner") -> dict[str, "NodeProgress"]:
        return self.service.progress(learner)

    def close(self) -> None:
        if self._store is not None:
            self._store.close()


pass_app = click.make_pass_decorator(AppContext)


def learner_names(db_path: Path) -> list[tuple[str, str]]:
    """(name, target role) of every learner in an existing database, for shell completion: opened and
    read without the commands' start-up writes (recovering dead runs, syncing the catalog tables)."""
    from planner.service import Service
    from planner.store import Store

    store = Store.open(db_path)
    try:
        return [(l.name, l.target_role or "") for l in Service(store, lambda: None).learners()]
    finally:
        store.close()


def echo_json(data: Any, *, compact: bool = False) -> None:
    """Print one --json document: non-ASCII text as itself (李雷, not \\u674e\\u96f7), as the README
    promises; `compact=True` puts it on one line (JSON Lines, for a stream of documents)."""
    if compact:
        text = json.dumps(data, ensure_ascii=False, separators=(",", ":"), default=str)
    else:
        text = json.dumps(data, ensure_ascii=False, indent=2, default=str)
    click.echo(text)


def _one_line(exc: click.UsageError) -> click.UsageError:
    """A usage error as one `Error:` line (click would print its usage and a hint above it)."""
    if exc.ctx is None:
        return exc
    hint = f" (try '{exc.ctx.command_path} --help')" if exc.ctx.command.get_help_option(exc.ctx) else ""
    one = click.UsageError(exc.format_message() + hint)
    one.exit_code = exc.exit_code
    return one


def check_labs_is_ours() -> None:
    """`labs` is a generic name: make sure the imported one is PathLab's, not another project's.

    Cheap on purpose (labs/__init__ imports nothing; numpy is not loaded here)."""
    try:
        import labs
    except ImportError as exc:
        raise click.ClickException(f"PathLab's 'labs' package cannot be imported ({exc}); "
                                   "reinstall PathLab") from None
    if getattr(labs, "__pathlab__", False) is not True:
        where = getattr(labs, "__file__", None) or ", ".join(getattr(labs, "__path__", [])) or "?"
        raise click.ClickException(f"the 'labs' package imported from {where} is not PathLab's (another "
                                   "installed project uses the same name); uninstall it or use a separate "
                                   "virtual environment for PathLab")


def _user_errors() -> tuple[type[Exception], ...]:
    from planner.curriculum import CurriculumError
    from planner.store import StoreError

    return (StoreError, CurriculumError, ValueError)


class LazyGroup(click.Group):
    """A group whose subcommands are imported on first use; user errors become one clean message."""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._lazy: dict[str, tuple[str, str]] = {}  # name -> ("module:attr", short help)

    def add_lazy_command(self, name: str, import_path: str, short_help: str = "") -> None:
        self._lazy[name] = (import_path, short_help)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | set(self._lazy))

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in self._lazy and name not in self.commands:
            module_name, attr = self._lazy[name][0].split(":")
            self.add_command(getattr(importlib.import_module(module_name), attr), name)
        command = super().get_command(ctx, name)
        if command is not None and "_PATHLAB_COMPLETE" in os.environ:
            from planner.cli import complete  # a Tab press: give LAB, NODE, --role, --learner their values

            complete.attach(command)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """List commands without importing the lazy ones (their help text is registered with them)."""
        rows = []
        for name in self.list_commands(ctx):
            if name in self.commands:
                cmd = self.commands[name]
                if not cmd.hidden:
                    rows.append((name, cmd.get_short_help_str(limit=formatter.width - 6 - len(name))))
            else:
                rows.append((name, self._lazy[name][1]))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)

    def make_context(self, info_name: str | None, args: list[str], parent: click.Context | None = None,
                     **extra: Any) -> click.Context:
        try:
            return super().make_context(info_name, args, parent, **extra)
        except click.UsageError as exc:  # e.g. `pathlab --bogus`
            raise _one_line(exc) from None

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except click.UsageError as exc:  # a subcommand's bad option or argument, or one it raised
            raise _one_line(exc) from None
        except click.ClickException:
            raise
        except Exception as exc:
            if isinstance(exc, _user_errors()):
                from planner.errors import UnknownName

                error = click.ClickException(str(exc))
                if isinstance(exc, UnknownName):  # the command line named something that is not there
                    error.exit_code = 2
                raise error from None
            if isinstance(exc, sqlite3.Error):  # a damaged or unreadable database file: say so, no traceback
                raise click.ClickException(f"database problem ({type(exc).__name__}): {exc}") from None
            if isinstance(exc, OSError) and not isinstance(exc, BrokenPipeError):
                # a path the system refuses (name too long, a loop of links, no permission) that no layer
                # below turned into its own message: name the path and the reason, in one line
                where = f"{exc.filename}: " if exc.filename else ""
                raise click.ClickException(f"{where}{exc.strerror or exc}") from None
            raise


@click.group(cls=LazyGroup, invoke_without_command=True)
@click.option("--db", "db_path", type=click.Path(path_type=Path), envvar="PATHLAB_DB",
              help="The database file (default: your user data folder; env PATHLAB_DB).")
@click.option("--data", "data_root", type=click.Path(path_type=Path, file_okay=False, exists=True),
              envvar="PATHLAB_DATA", help="A curriculum folder to use instead of the bundled one.")
@click.option("--no-tui", is_flag=True, help="Print the learner's status instead of opening the app (for scripts).")
@click.version_option(package_name="pathlab")
@click.pass_context
def main(ctx: click.Context, db_path: Path | None, data_root: Path | None, no_tui: bool) -> None:
    """PathLab: learn AI from first principles, one lab at a time."""
    check_labs_is_ours()
    app = AppContext(db_path, data_root)
    ctx.obj = app
    ctx.call_on_close(app.close)
    if ctx.invoked_subcommand is None:
        run_default(ctx, no_tui)


NO_TERMINAL_HINT = ("no terminal here; run pathlab in a terminal, `pathlab serve` for a browser, "
                    "or `pathlab --no-tui` for the status")


def run_default(ctx: click.Context, no_tui: bool = False) -> None:
    """What bare `pathlab` does: open the app in a terminal, or on the driver Textual is told to use
    (textual-serve, behind `pathlab serve` and `textual serve pathlab`, sets TEXTUAL_DRIVER to its web
    driver); `--no-tui` prints the learner's status. Anywhere else (a pipe, cron) one hint line and exit
    code 2: a script that wanted the status learns to ask for it instead of parsing the hint."""
    import os
    import sys

    if no_tui:
        from planner.cli.nodes import print_status

        print_status(ctx.obj)
        return
    web = bool(os.environ.get("TEXTUAL_DRIVER"))
    if web or (sys.stdin.isatty() and sys.stdout.isatty()):
        from planner.tui import make_app

        if web:  # the server stops each session by message; a Ctrl-C at its console is the server's
            import signal

            signal.signal(signal.SIGINT, signal.SIG_IGN)
        make_app(ctx.obj.store, ctx.obj.curriculum).run()
        return
    no_terminal = click.ClickException(NO_TERMINAL_HINT)
    no_terminal.exit_code = 2  # a usage error: the app needs a terminal
    raise no_terminal


main.add_lazy_command("learner", "planner.cli.learners:learner", "Add, list and change learners.")
main.add_lazy_command("curriculum", "planner.cli.curriculum:curriculum", "Check curriculum files.")
main.add_lazy_command("nodes", "planner.cli.nodes:nodes", "Every node with its state for a learner.")

# Other command groups register here, one line each:
main.add_lazy_command("plan", "planner.cli.plan:plan", "Next steps, the path to a role and its date.")
main.add_lazy_command("roles", "planner.cli.plan:roles", "Career roles and your readiness for each.")
main.add_lazy_command("report", "planner.cli.report:report", "A progress report: Markdown, HTML, JSON or CSV.")
main.add_lazy_command("export-progress", "planner.cli.report:export_progress", "Save a learner's history to a file.")
main.add_lazy_command("import-progress", "planner.cli.report:import_progress", "Load a learner's history from a file.")
main.add_lazy_command("lab", "planner.cli.labs:lab", "Graded labs: list, show, run (and implement mode).")
main.add_lazy_command("demo", "planner.cli.demo:demo", "Open the app on a sample learner's real runs.")
main.add_lazy_command("quiz", "planner.cli.quiz:quiz", "Take a node's quiz: prompts, or --answers FILE.")
main.add_lazy_command("review", "planner.cli.review:review",
                      "Review a completed node (a short seeded quiz draw, FSRS-scheduled).")
main.add_lazy_command("serve", "planner.cli.serve:serve", "The app in a browser tab (textual-serve, localhost).")
main.add_lazy_command("db", "planner.cli.db:db", "Where the database is; explore it in Datasette.")
main.add_lazy_command("checkpoints", "planner.cli.checkpoints:checkpoints", "Stored models: disk use, and pruning them.")
main.add_lazy_command("completion", "planner.cli.complete:completion", "Print the shell completion script (bash, zsh, fish).")
