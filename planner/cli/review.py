"""`pathlab review [NODE] [--learner NAME] [--seed N] [--answers FILE] [--json]`: review a completed node.

A review is a short quiz draw (`planner.review.REVIEW_QUESTIONS` questions of the node's pool, drawn and
ordered by the seed: `--seed`, else a random one, printed and recorded), asked and answered exactly as
`pathlab quiz` asks (prompts on a terminal, or `--answers FILE`: JSON or TOML, question id -> answer).
Its score gives the FSRS grade (Again, Hard, Good, Easy) that schedules the node's next review; the
attempt is recorded as a quiz attempt of kind "review" with its grade (`Service.submit_review`).

Without NODE it reviews the most overdue node; with none due it says when the next one is and exits 0.
A NODE may be reviewed before it is due (FSRS takes the early review into account). Exit codes: 0 the
review was no lapse (rated Hard or better), 1 a lapse (Again) or a node that is not completed, 2 usage
(unknown node, a node without a quiz, an answers file that cannot be read or does not fit).
"""

from __future__ import annotations

import random
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import click

from planner.cli import AppContext, echo_json, pass_app


@click.command("review")
@click.argument("node_id", metavar="[NODE]", required=False)
@click.option("--learner", "name", help="Whose review this is (default: the only learner).")
@click.option("--seed", type=click.IntRange(0, 2**32 - 1), metavar="N",
              help="Draw the review's questions, order and numbers from N (default: a random seed).")
@click.option("--answers", "answers_file", type=click.Path(path_type=Path, dir_okay=False),
              help="Answer from a JSON or TOML file (question id -> answer) instead of prompting.")
@click.option("--json", "as_json", is_flag=True, help="Print the graded review as JSON.")
@pass_app
def review(app: AppContext, node_id: str | None, name: str | None, seed: int | None, answers_file: Path | None,
           as_json: bool) -> None:
    """Review NODE (default: the most overdue): exit 0 remembered, 1 a lapse."""
    from planner.cli.quiz import _ask, answers_from_file
    from planner.errors import UnknownName

    learner = app.resolve_learner(name)
    svc = app.service
    if node_id is None:
        due = svc.reviews_due(learner)
        if not due:
            upcoming = svc.review_schedule(learner)
            if as_json:
                echo_json({"learner": learner.name, "reviewed": False, "reviews_due": 0,
                           "next": ({"node": upcoming[0].node_id, "due": upcoming[0].due.isoformat()}
                                    if upcoming else None)})
            elif upcoming:
                click.echo(f"No review due. Next: {upcoming[0].node_id} on {upcoming[0].due:%Y-%m-%d %H:%M} UTC.")
            else:
                click.echo("No review due: a node comes back for review once it is completed.")
            return
        node_id = due[0].node_id
    if node_id not in app.curriculum.nodes:
        raise UnknownName(f"unknown node {node_id!r} (see: pathlab nodes)")
    pool = app.curriculum.quiz_for(node_id)
    if pool is None:
        raise click.UsageError(f"node {node_id!r} has no quiz, so nothing to review")
    if svc.progress(learner)[node_id].state != "completed":  # before asking anything
        raise ValueError(f"node {node_id!r} is not completed yet: only completed nodes come back for review")
    seed = random.randrange(2**32) if seed is None else seed
    asked = svc.review_draw(node_id, seed)
    started = datetime.now(timezone.utc)
    if not as_json:
        click.echo(click.style(f"Review: {app.curriculum.nodes[node_id].title}", bold=True))
    if answers_file is not None:
        answers = answers_from_file(answers_file, pool, asked, seed)
    else:
        answers = _ask(asked, seed, quiet=as_json)
    outcome = svc.submit_review(learner, node_id, answers, seed, started_at=started)
    if as_json:
        echo_json(_json(outcome, learner.name, seed, started))
    else:
        lost = "" if outcome.mastery_after == outcome.mastery_before else \
            f" · mastery {outcome.mastery_before} -> {outcome.mastery_after}"
        click.echo(f"\nScore {outcome.score:.0%} ({outcome.points:.3g} of {outcome.max_points:g} points) · "
                   f"graded {outcome.rating_name}{lost}")
        for r in outcome.results:
            if not r.correct:
                click.echo(f"  - {r.prompt}\n    Right answer: {r.right_answer_text}")
        click.echo(f"Next review of {node_id}: {outcome.due_after:%Y-%m-%d %H:%M} UTC. "
                   f"Recorded as quiz attempt {outcome.quiz_attempt_id} (a review).")
    sys.exit(0 if outcome.passed else 1)


def _json(outcome: Any, learner: str, seed: int, started: datetime) -> dict[str, Any]:
    return {
        "attempt_id": outcome.quiz_attempt_id, "kind": "review", "node": outcome.node_id, "learner": learner,
        "seed": seed, "score": outcome.score, "passed": outcome.passed, "lapse": not outcome.passed,
        "rating": outcome.rating, "rating_name": outcome.rating_name, "points": outcome.points,
        "max_points": outcome.max_points, "started_at": started.isoformat(),
        "due_before": outcome.due_before.isoformat(), "due_after": outcome.due_after.isoformat(),
        "mastery_before": outcome.mastery_before, "mastery_after": outcome.mastery_after,
        "questions": [{"id": r.question_id, "kind": r.kind, "prompt": r.prompt, "answer": r.answer,
                       "correct": r.correct, "points": r.points, "max_points": r.max_points,
                       "right_answer": r.right_answer, "right_answer_text": r.right_answer_text,
                       "explanations": r.explanations} for r in outcome.results],
    }
