"""Shell completion for bash, zsh and fish: click's own machinery, with PathLab's names as values.

    pathlab completion bash|zsh|fish      print the script to source (README, "Shell completion")

Click completes commands and options itself (`_PATHLAB_COMPLETE=<shell>_complete`); `attach(command)`
gives the parameters that take a name their values, by the parameter's name, when a command is loaded
for completion (so each command module stays unaware of it):

    LAB (lab_id)                 the curriculum's labs
    NODE (node_id), --node       its nodes
    --role (role)                its roles
    --learner, learner set|delete NAME    the database's learners (read only if the file exists)

Completion runs before the group's callback, so there is no AppContext: the database and the curriculum
folder come from the command line's own --db / --data (parsed by click for completion) or their
environment variables. Any failure completes nothing: a Tab press never prints an error.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

import click
from click.shell_completion import CompletionItem

SHELLS = ("bash", "zsh", "fish")


def _root_params(ctx: click.Context) -> dict:
    return ctx.find_root().params or {}


def _curriculum(ctx: click.Context):
    from planner.curriculum import load_curriculum

    root = _root_params(ctx).get("data_root") or os.environ.get("PATHLAB_DATA")
    return load_curriculum(Path(root) if root else None)


def _matching(values: list[tuple[str, str]], incomplete: str) -> list[CompletionItem]:
    return [CompletionItem(v, help=h or None) for v, h in values if v.startswith(incomplete)]


def labs(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    nodes = _curriculum(ctx).nodes.values()
    return _matching(sorted((n.lab, n.title) for n in nodes if getattr(n, "lab", None)), incomplete)


def nodes(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    return _matching([(n.id, n.title) for n in _curriculum(ctx).nodes.values()], incomplete)


def roles(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    return _matching([(r.id, r.title) for r in _curriculum(ctx).roles], incomplete)


def learners(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    from planner.paths import default_db_path

    db = _root_params(ctx).get("db_path") or os.environ.get("PATHLAB_DB") or default_db_path()
    if not Path(db).is_file():  # completing must never create a database
        return []
    from planner.cli import learner_names

    return _matching(learner_names(Path(db)), incomplete)


def _quiet(complete: Callable) -> Callable:
    def safe(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[CompletionItem]:
        try:
            return complete(ctx, param, incomplete)
        except Exception:  # a broken curriculum or a busy database: complete nothing, say nothing
            return []
    return safe


def _completer_for(command: click.Command, param: click.Parameter) -> Callable | None:
    if param.name == "lab_id":
        return labs
    if param.name == "node_id":
        return nodes
    if param.name == "role":
        return roles
    if isinstance(param, click.Option) and "--learner" in param.opts:
        return learners
    if isinstance(param, click.Argument) and param.name == "name" and command.name in ("set", "delete"):
        return learners
    return None


def attach(command: click.Command) -> None:
    """Give `command`'s (and its subcommands') name parameters their completion values."""
    for param in command.params:
        complete = _completer_for(command, param)
        if complete is not None and param._custom_shell_complete is None:
            param._custom_shell_complete = _quiet(complete)
    for sub in getattr(command, "commands", {}).values():
        attach(sub)


def completing() -> bool:
    """True while click answers a completion request for `pathlab` (its environment variable is set)."""
    return "_PATHLAB_COMPLETE" in os.environ


@click.command("completion")
@click.argument("shell", type=click.Choice(SHELLS))
@click.pass_context
def completion(ctx: click.Context, shell: str) -> None:
    """Print the completion script for SHELL (bash, zsh or fish); see the README to install it."""
    from click.shell_completion import get_completion_class

    cls = get_completion_class(shell)
    click.echo(cls(ctx.find_root().command, {}, "pathlab", "_PATHLAB_COMPLETE").source())
