"""`pathlab lab`: list, show and run the graded labs (implement mode adds start/grade/hint/solution).

    pathlab lab list [--learner NAME] [--json]
    pathlab lab show LAB [--json]
    pathlab lab run LAB [--learner NAME] [--set key=value]... [--seed N] [--practice] [--diagnosis ID] [--json]

`lab run` exit codes: 0 passed, 1 failed, cancelled or errored, 2 usage (unknown lab, a bad --set, a
locked lab without --practice). On a terminal it shows a live progress bar; Ctrl-C cancels the run and
records it as `cancelled`. With --json it prints one object (keys in the README, section --json) and nothing else.
After a failed run whose evidence names a failure mode it asks "What went wrong?" on a terminal (not with
--json); `--diagnosis ID` answers it without asking (a failure-mode id of the lab, `lab show`). The
answer is recorded (planner.diagnosis) and both explanations are printed.
"""

from __future__ import annotations

import sys
from typing import Any

import click

from planner.cli import AppContext, echo_json, pass_app

SEED = click.IntRange(0, 2**32 - 1)  # numpy's seed range: a value outside it would fail inside the worker


@click.group()
def lab() -> None:
    """Graded labs: list them, read one, run one (or write it yourself: start/grade)."""


def _get_lab(lab_id: str) -> Any:
    from labs.catalog import get_lab

    try:
        return get_lab(lab_id)
    except KeyError as exc:
        raise click.UsageError(str(exc.args[0] if exc.args else exc)) from None


def _maybe_learner(app: AppContext, name: str | None):
    if name is not None:
        return app.resolve_learner(name)
    learners = app.service.learners()
    return learners[0] if len(learners) == 1 else None


@lab.command("list")
@click.option("--learner", "name", help="Show lock state and best score for this learner.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output (keys in the README).")
@pass_app
def list_labs(app: AppContext, name: str | None, as_json: bool) -> None:
    """Every lab with its node; for a learner, whether it is locked and the best score so far."""
    from labs.catalog import all_labs

    learner = _maybe_learner(app, name)
    progress = app.progress(learner) if learner else {}
    rows = []
    for item in all_labs():
        node_id = _node_of(app, item)
        p = progress.get(node_id)
        rows.append({"id": item.id, "title": item.title, "node": node_id, "time_limit_s": item.time_limit_s,
                     "locked": None if p is None else p.state == "locked",
                     "state": None if p is None else p.state,
                     "best_score": None if p is None else p.best_score,
                     "missing": [] if p is None else p.missing})
    if as_json:
        echo_json({"learner": learner.name if learner else None, "labs": rows})
        return
    width = max(len(r["id"]) for r in rows)
    for r in rows:
        extra = ""
        if r["state"] is not None:
            extra = "locked" if r["locked"] else r["state"].replace("_", " ")
            if r["best_score"] is not None:
                extra += f", best {r['best_score']:.0f}"
            extra = f"  [{extra}]"
        click.echo(f"{r['id']:<{width}}  {r['title']}  (node {r['node']}){extra}")


def _node_of(app: AppContext, item: Any) -> str:
    for node in app.curriculum.nodes.values():
        if node.lab == item.id:
            return node.id
    return item.node_id


@lab.command("show")
@click.argument("lab_id", metavar="LAB")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def show(lab_id: str, as_json: bool) -> None:
    """A lab's description, hyperparameters (defaults, bounds, help) and checks with points."""
    item = _get_lab(lab_id)
    specs = item.param_specs()
    if as_json:
        echo_json({
            "id": item.id, "title": item.title, "node": item.node_id, "description": item.description,
            "pass_mark": item.pass_mark, "time_limit_s": item.time_limit_s,
            "params": [s.model_dump() | {"bounds": s.bounds_text()} for s in specs],
            "checks": [c.model_dump() for c in item.checks]})
        return
    click.echo(click.style(f"{item.title}  ({item.id}, node {item.node_id})", bold=True))
    click.echo(item.description.strip() + "\n")
    click.echo(click.style("Hyperparameters (--set key=value)", bold=True))
    for s in specs:
        click.echo(f"  {s.name} = {s.default}   [{s.bounds_text()}]  {s.description}")
    click.echo(click.style(f"\nChecks (pass mark {item.pass_mark:g}/100, time limit {item.time_limit_s:g} s)",
                           bold=True))
    for c in item.checks:
        click.echo(f"  {c.points:>5g} pts  {c.title}{'  (required)' if c.required else ''}")


def _parse_sets(pairs: tuple[str, ...]) -> dict[str, str]:
    raw: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise click.BadParameter(f"{pair!r} is not key=value", param_hint="--set")
        raw[key.strip()] = value.strip()
    return raw


@lab.command("run")
@click.argument("lab_id", metavar="LAB")
@click.option("--learner", "name", help="Who is running it (may be left out with one learner).")
@click.option("--set", "sets", multiple=True, metavar="KEY=VALUE", help="A hyperparameter (repeatable).")
@click.option("--seed", type=SEED, default=None, help="Random seed, 0 to 2**32-1 (default 0: the calibrated run).")
@click.option("--practice", is_flag=True, help="Run a locked lab anyway; a pass completes the node (test-out).")
@click.option("--model", metavar="HASH|best|none", expose_value=False,
              callback=lambda ctx, _param, value: ctx.meta.__setitem__("pathlab.model", value),
              help="For a lab that builds on your model: which stored one (a sha256 prefix; default best).")
@click.option("--diagnosis", "diagnosis", metavar="ID",
              help="If the run fails: your answer to 'what went wrong?' (a failure-mode id, see lab show).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of progress and a table.")
@pass_app
def run(app: AppContext, lab_id: str, name: str | None, sets: tuple[str, ...], seed: int | None,
        practice: bool, diagnosis: str | None, as_json: bool) -> None:
    """Train a lab in its own process, grade it and record the attempt."""
    from labs.catalog import ParamError
    from planner.checkpoints import ModelChoiceError
    from planner.service import LabLocked

    item = _get_lab(lab_id)
    raw = _parse_sets(sets)
    modes = [m.id for m in item.failure_modes]
    if diagnosis is not None and diagnosis not in modes:
        raise click.BadParameter(f"{diagnosis!r} is not a failure mode of {item.id} "
                                 f"({', '.join(modes) or 'it has none'})", param_hint="--diagnosis")
    learner = app.resolve_learner(name)
    svc = app.service  # opening the store has already marked dead runs interrupted
    try:
        session = svc.start_lab(learner, item.id, raw, seed, practice=practice,
                                model=click.get_current_context().meta.get("pathlab.model"))
    except ParamError as exc:
        raise click.BadParameter(str(exc), param_hint="--set") from None
    except LabLocked as exc:
        raise click.UsageError(str(exc)) from None
    except ModelChoiceError as exc:  # a missing or corrupt stored model: one line, and how to retrain
        raise click.ClickException(str(exc)) from None
    if as_json:
        outcome = session.wait()
    else:
        from planner.cli.progress_view import LiveProgress

        with LiveProgress(item.title, enabled=sys.stdout.isatty()) as view:
            outcome = session.wait(view.update)
    if not as_json:
        from planner.cli.progress_view import print_outcome

        print_outcome(outcome, app.curriculum)
    asked = _diagnose(app, learner, outcome, diagnosis, quiet=as_json,
                      interactive=not as_json and sys.stdin.isatty())
    if as_json:
        echo_json(outcome_json(outcome, learner.name, session) | {"diagnosis": asked})
    sys.exit(0 if outcome.passed else 1)


def _diagnose(app: AppContext, learner: Any, outcome: Any, answer: str | None, *, quiet: bool,
              interactive: bool) -> dict[str, Any] | None:
    """Ask (or answer from --diagnosis) "what went wrong?" after a failed run; the JSON's `diagnosis`."""
    question = app.service.diagnosis_question(outcome)
    if question is None:
        if answer is not None:
            click.echo(f"(--diagnosis ignored: {'the run passed' if outcome.passed else 'no diagnosis to answer'})",
                       err=True)
        return None
    data: dict[str, Any] = {"question": question.question, "expected": question.expected,
                            "options": [o.model_dump() for o in question.options]}
    if answer is None and interactive:
        click.echo(f"\n{question.question}")
        for i, o in enumerate(question.options, 1):
            click.echo(f"  {i}. {o.label}")
        pick = click.prompt("Your answer (number)", type=click.IntRange(1, len(question.options)))
        answer = question.options[pick - 1].id
    if answer is None:
        return data
    if answer not in question.option_ids:  # --diagnosis names a mode of the lab that this run did not offer
        click.echo(f"(--diagnosis {answer} not recorded: this run offered {', '.join(question.option_ids)})",
                   err=True)
        return data
    result = app.service.answer_diagnosis(learner, question, answer)
    data |= {"answer": result.answer, "correct": result.correct,
             "explanation": result.expected_explanation, "chosen_explanation": result.chosen_explanation}
    if not quiet:
        verdict = "✔ Right." if result.correct else f"✘ Not this time: it was “{result.expected_label}”."
        click.echo(f"{verdict}\n  Why: {result.expected_explanation}")
        if not result.correct:
            click.echo(f"  Your answer, “{result.chosen_label}”: {result.chosen_explanation}")
    return data


def outcome_json(outcome: Any, learner_name: str, session: Any) -> dict[str, Any]:
    grade = outcome.grade
    return {
        "attempt_id": outcome.attempt_id, "lab": outcome.lab_id, "node": outcome.node_id,
        "learner": learner_name, "mode": session.mode, "test_out": session.test_out,
        "status": outcome.status, "passed": outcome.passed, "score": outcome.score,
        "checks": [c.model_dump() for c in grade.checks] if grade else [],
        "metrics": outcome.metrics, "params": session.params, "seed": session.seed,
        "duration_s": outcome.duration_s, "feedback": outcome.feedback,
        "mastery_before": outcome.mastery_before, "mastery_after": outcome.mastery_after,
        "unlocked": outcome.unlocked, "completed": outcome.completed,
        "checkpoint": getattr(session, "checkpoint_sha256", None),
    }


def _register_implement_commands() -> None:
    """Implement mode (`lab start/grade/hint/solution`) lives in its own module."""
    from planner.cli import lab_implement

    for cmd, cmd_name in ((lab_implement.start_cmd, "start"), (lab_implement.grade_cmd, "grade"),
                          (lab_implement.hint_cmd, "hint"), (lab_implement.solution_cmd, "solution")):
        lab.add_command(cmd, cmd_name)


_register_implement_commands()
