"""`pathlab quiz NODE [--learner NAME] [--seed N] [--answers FILE] [--json]`: take a node's quiz.

On a terminal it asks one question at a time (options numbered in the attempt's seeded order; a
numeric answer read by `planner.quiz.parse_number`, as the app reads it), marks each option right or
wrong with its explanation after every answer, and ends with the score against the pass mark and each
missed question with its right answer. With `--answers FILE` (JSON or TOML: question id -> answer;
single = option index in file order or the option's text, multiple = a list of those, numeric = a
number) it asks nothing. Either way the attempt is recorded through `Service.submit_quiz`, with the
moment the quiz started and the moment it was submitted.

The questions, their order and a template's numbers come from the seed (`--seed`, else a random one,
printed and recorded), so `--seed N` shows the same attempt again. Exit codes: 0 passed, 1 not passed,
2 usage (unknown node, a node without a quiz, an answers file that cannot be read or does not fit,
naming the file and the question).
"""

from __future__ import annotations

import json
import random
import sys
import tomllib
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from planner.cli import AppContext, echo_json, pass_app

if TYPE_CHECKING:
    from planner.curriculum import Question, Quiz
    from planner.quiz import AnswerResult

ANSWERS_MAX_BYTES = 1024 * 1024  # an answers file is a few hundred bytes; refuse anything absurd unread


@click.command("quiz")
@click.argument("node_id", metavar="NODE")
@click.option("--learner", "name", help="Whose attempt this is (default: the only learner).")
@click.option("--seed", type=click.IntRange(0, 2**32 - 1), metavar="N",
              help="Draw this attempt's questions, order and numbers from N (default: a random seed).")
@click.option("--answers", "answers_file", type=click.Path(path_type=Path, dir_okay=False),
              help="Answer from a JSON or TOML file (question id -> answer) instead of prompting.")
@click.option("--json", "as_json", is_flag=True, help="Print the graded attempt as JSON.")
@pass_app
def quiz(app: AppContext, node_id: str, name: str | None, seed: int | None, answers_file: Path | None,
         as_json: bool) -> None:
    """Take NODE's quiz: prompts on a terminal, or --answers FILE; exit 0 passed, 1 not passed."""
    from planner.quiz import draw_quiz

    if node_id not in app.curriculum.nodes:
        raise click.UsageError(f"unknown node {node_id!r} (see: pathlab nodes)")
    pool = app.curriculum.quiz_for(node_id)
    if pool is None:
        raise click.UsageError(f"node {node_id!r} has no quiz")
    learner = app.resolve_learner(name)
    seed = random.randrange(2**32) if seed is None else seed
    asked = draw_quiz(pool, seed)
    started = datetime.now(timezone.utc)
    if answers_file is not None:
        answers = answers_from_file(answers_file, pool, asked, seed)
    else:
        answers = _ask(asked, seed, quiet=as_json)
    outcome = app.service.submit_quiz(learner, node_id, answers, seed, started_at=started)
    results: list[AnswerResult] = list(outcome.results)
    if as_json:
        echo_json({
            "attempt_id": outcome.quiz_attempt_id, "node": node_id, "learner": learner.name, "seed": seed,
            "score": outcome.score, "passed": outcome.passed, "pass_mark": pool.pass_mark,
            "points": outcome.points, "max_points": outcome.max_points,
            "started_at": started.isoformat(), "unlocked": outcome.unlocked, "completed": outcome.completed,
            "questions": [{"id": r.question_id, "kind": r.kind, "prompt": r.prompt, "answer": r.answer,
                           "correct": r.correct, "points": r.points, "max_points": r.max_points,
                           "right_answer": r.right_answer, "right_answer_text": r.right_answer_text,
                           "explanations": r.explanations} for r in results],
        })
    else:
        _summary(outcome, pool, results)
    sys.exit(0 if outcome.passed else 1)


# -- answers from a file ---------------------------------------------------------------------------


def answers_from_file(path: Path, pool: Quiz, asked: Quiz, seed: int) -> dict[str, Any]:
    """The file's answers in the shapes `planner.quiz` grades; a problem is one usage error naming the
    file and the question."""
    try:
        size = path.stat().st_size
        if size > ANSWERS_MAX_BYTES:
            raise click.UsageError(f"{path}: {size} bytes is too large for an answers file")
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise click.UsageError(f"{path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise click.UsageError(f"{path}: not UTF-8 text") from None
    try:
        data = tomllib.loads(text) if path.suffix.lower() == ".toml" else json.loads(text)
    except (json.JSONDecodeError, tomllib.TOMLDecodeError) as exc:
        kind = "TOML" if path.suffix.lower() == ".toml" else "JSON"
        raise click.UsageError(f"{path}: not valid {kind} ({exc})") from None
    if not isinstance(data, dict):
        raise click.UsageError(f"{path}: expected an object mapping question id to answer")
    questions = {q.id: q for q in asked.questions}
    answers: dict[str, Any] = {}
    for qid, raw in data.items():
        if qid not in questions:
            where = ("is not among this attempt's questions (seed "
                     f"{seed} asks: {', '.join(questions)})") if any(q.id == qid for q in pool.questions) \
                else f"is not a question of the {pool.node!r} quiz"
            raise click.UsageError(f"{path}: question {qid!r} {where}")
        try:
            answers[qid] = normalise_answer(questions[qid], raw)
        except ValueError as exc:
            raise click.UsageError(f"{path}: question {qid!r}: {exc}") from None
    return answers


def normalise_answer(question: Question, raw: Any) -> Any:
    """An answer as a person writes it in a file, in the shape `planner.quiz` grades (ValueError if not)."""
    if question.kind == "numeric":
        if isinstance(raw, bool):
            raise ValueError(f"expected a number, got {raw!r}")
        if isinstance(raw, (int, float)):
            return float(raw)
        if isinstance(raw, str):
            from planner.quiz import parse_number

            return parse_number(raw)
        raise ValueError(f"expected a number, got {raw!r}")
    if question.kind == "single":
        if isinstance(raw, list):
            raise ValueError("takes one option (an index or its text), not a list")
        return _option_index(question, raw)
    if not isinstance(raw, list):
        raise ValueError("takes a list of options (indices or texts)")
    return sorted({_option_index(question, item) for item in raw})


def _option_index(question: Question, raw: Any) -> int:
    if isinstance(raw, int) and not isinstance(raw, bool):
        if 0 <= raw < len(question.options):
            return raw
        raise ValueError(f"{raw} is not an option index (0..{len(question.options) - 1}, in file order)")
    if isinstance(raw, str):
        wanted = " ".join(raw.split()).casefold()
        for i, option in enumerate(question.options):
            if " ".join(option.text.split()).casefold() == wanted:
                return i
        raise ValueError(f"no option reads {raw!r}")
    raise ValueError(f"{raw!r} is neither an option index nor an option's text")


# -- prompting -------------------------------------------------------------------------------------


def _ask(asked: Quiz, seed: int, *, quiet: bool) -> dict[str, Any]:
    """One question at a time; after each answer, every option marked with its explanation."""
    from planner.quiz import grade_answer, shuffled_options

    def out(message: str) -> None:  # with --json, stdout carries only the JSON document
        click.echo(message, err=quiet)

    answers: dict[str, Any] = {}
    total = len(asked.questions)
    out(f"{total} questions · pass mark {asked.pass_mark:.0%} · seed {seed}")
    for number, question in enumerate(asked.questions, 1):
        out(f"\nQuestion {number} of {total} · {question.points:g} point(s)\n{question.prompt}")
        shown = shuffled_options(question, seed) if question.kind != "numeric" else []
        for position, (_, option) in enumerate(shown, 1):
            out(f"  {position}. {option.text}")
        if question.kind == "single":
            pick = click.prompt("Your answer (number)", type=click.IntRange(1, len(shown)), err=quiet)
            answers[question.id] = shown[pick - 1][0]
        elif question.kind == "multiple":
            picks = click.prompt("Your answers (numbers, e.g. 1,3)", value_proc=_positions(len(shown)),
                                 err=quiet)
            answers[question.id] = sorted(shown[p - 1][0] for p in picks)
        else:
            from planner.quiz import parse_number

            answers[question.id] = click.prompt("Your answer (a number)", value_proc=_number(parse_number),
                                                err=quiet)
        result = grade_answer(question, answers[question.id])
        out(_marks(result, [i for i, _ in shown]))
    return answers


def _positions(count: int):
    def read(text: str) -> list[int]:
        parts = [p for p in text.replace(",", " ").split() if p]
        if not parts or not all(p.isdigit() and 1 <= int(p) <= count for p in parts):
            raise click.BadParameter(f"type option numbers between 1 and {count}, e.g. 1,3")
        return sorted({int(p) for p in parts})
    return read


def _number(parse):
    def read(text: str) -> float:
        try:
            return parse(text)
        except ValueError as exc:
            raise click.BadParameter(str(exc)) from None
    return read


def _marks(result: AnswerResult, order: list[int]) -> str:
    """The verdict, then each option in the order shown: right/wrong, chosen or not, and why."""
    if result.correct:
        lines = ["✔ Correct."]
    elif result.points > 0:
        lines = [f"◐ Partly right: {result.points:.3g} of {result.max_points:g} point(s)."]
    else:
        lines = [f"✘ Not quite. Right answer: {result.right_answer_text}"]
    by_index = {m.index: m for m in result.options}
    for position, index in enumerate(order, 1):
        mark = by_index[index]
        verdict = "right" if mark.correct else "wrong"
        chosen = "you chose it" if mark.chosen else "not chosen"
        lines.append(f"  {position}. [{verdict}, {chosen}] {mark.text}")
        if mark.explanation:
            lines.append(f"       Why: {mark.explanation}")
    if result.kind == "numeric" and result.explanations:
        lines.append(f"  Why: {result.explanations[0]}")
    return "\n".join(lines)


def _summary(outcome: Any, pool: Quiz, results: list[AnswerResult]) -> None:
    verdict = "passed" if outcome.passed else "not passed yet"
    click.echo(f"\nScore {outcome.score:.0%} ({outcome.points:.3g} of {outcome.max_points:g} points) · "
               f"pass mark {pool.pass_mark:.0%} · {verdict}")
    missed = [r for r in results if not r.correct]
    if missed:
        click.echo("Missed:")
        for r in missed:
            click.echo(f"  - {r.prompt}\n    Right answer: {r.right_answer_text}")
    if outcome.unlocked:
        click.echo(f"Unlocked: {', '.join(outcome.unlocked)}")
    click.echo(f"Recorded as quiz attempt {outcome.quiz_attempt_id}.")
