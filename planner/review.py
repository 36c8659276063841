"""The review queue: completed nodes come back as short quiz draws, scheduled by FSRS (issue 14 §7), pure.

    due = reviews_due(progress, cards, reviewable, now)     # [ReviewDue(node_id, due)], most overdue first
    quiz = review_quiz(pool)                                # the node's quiz pool, drawing REVIEW_QUESTIONS
    step = schedule(card_json, completed_at, score, now)    # ReviewStep: rating, new card, due before/after

The scheduler is the `fsrs` package (FSRS-6, the open spaced-repetition scheduler Anki ships), with its
default parameters and desired retention 0.9, no learning or relearning steps (a node is not a flash
card: its next review is days away, never minutes) and no fuzzing (the same history always gives the
same due time). One card per learner and completed node that has a quiz to draw from:

- a node never reviewed has no stored card: its card is the one a "Good" review at its completion time
  gives (`initial_card`), so its first review falls due a few days after completion (FSRS's initial
  stability for Good, about 2.3 days) and a read (the dashboard, `plan --json`) writes nothing;
- each review replaces the card by `Scheduler.review_card(card, rating, now)`; the store keeps its JSON.

A review asks `REVIEW_QUESTIONS` (3) questions of the node's quiz pool, fewer only when the pool is
smaller, drawn and ordered by the review's seed exactly as a quiz is (`planner.quiz.draw_quiz`). Its
score (the share of points earned, partial credit as in a quiz) gives the grade (`rating_for`):

    score = 1            Easy
    score >= 0.6         Good    (2 of 3)
    score >= 0.4         Hard
    otherwise            Again   a lapse: 1 of 3 or none

A lapse lowers the node's mastery one level (planner.progress: never below familiar, never un-completing
the node) until a later review is rated Hard or better; FSRS shortens its interval by itself.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import UTC, datetime
from functools import cache
from typing import Any

from pydantic import BaseModel

from planner.curriculum import Quiz
from planner.progress import NodeProgress

REVIEW_QUESTIONS = 3
RATING_NAMES = {1: "Again", 2: "Hard", 3: "Good", 4: "Easy"}
CARD_ID = 1  # every card's id: cards are keyed by (learner, node) in the store, fsrs's id is unused


class ReviewDue(BaseModel):
    node_id: str
    due: datetime
    reviewed: bool  # False: the card is still the one derived from completion


class ReviewStep(BaseModel):
    """What one review changes: its grade, the card after it (fsrs.Card JSON) and the due times."""

    score: float
    rating: int
    rating_name: str
    card: str
    due_before: datetime
    due_after: datetime

    @property
    def lapse(self) -> bool:
        return self.rating == 1


@cache
def scheduler() -> Any:
    from fsrs import Scheduler

    return Scheduler(learning_steps=(), relearning_steps=(), enable_fuzzing=False)


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def initial_card(completed_at: datetime) -> Any:
    """The card of a node completed at `completed_at` and never reviewed: a Good review then."""
    from fsrs import Card, Rating

    when = _utc(completed_at)
    card, _ = scheduler().review_card(Card(card_id=CARD_ID, due=when), Rating.Good, when)
    return card


def card_of(card_json: str | None, completed_at: datetime) -> Any:
    """The stored card, or the one derived from completion when the node was never reviewed."""
    from fsrs import Card

    return initial_card(completed_at) if card_json is None else Card.from_json(card_json)


def rating_for(score: float) -> int:
    """The FSRS grade (1 Again .. 4 Easy) a review's score earns (table in the module docstring)."""
    if score >= 1.0 - 1e-9:
        return 4
    if score >= 0.6:
        return 3
    if score >= 0.4:
        return 2
    return 1


def schedule(card_json: str | None, completed_at: datetime, score: float, now: datetime) -> ReviewStep:
    """Review the node's card at `now` with the grade `score` earns."""
    from fsrs import Rating

    card = card_of(card_json, completed_at)
    rating = rating_for(score)
    after, _ = scheduler().review_card(card, Rating(rating), _utc(now))
    return ReviewStep(score=score, rating=rating, rating_name=RATING_NAMES[rating], card=after.to_json(),
                      due_before=_utc(card.due), due_after=_utc(after.due))


def reviewable(progress: Mapping[str, NodeProgress], quiz_nodes: Collection[str]) -> dict[str, datetime]:
    """node id -> completion time, for each completed node with a quiz pool to draw from."""
    return {node_id: p.completed_at for node_id, p in progress.items()
            if p.state == "completed" and node_id in quiz_nodes and p.completed_at is not None
            and p.completed_at.year > 1}


def review_schedule(progress: Mapping[str, NodeProgress], quiz_nodes: Collection[str],
                    cards: Mapping[str, Mapping[str, Any]]) -> list[ReviewDue]:
    """Every reviewable node's next due time (soonest first); `cards` is `Store.review_cards`."""
    out = []
    for node_id, completed_at in reviewable(progress, quiz_nodes).items():
        stored = cards.get(node_id)
        if stored is None:
            out.append(ReviewDue(node_id=node_id, due=_utc(initial_card(completed_at).due), reviewed=False))
        else:
            out.append(ReviewDue(node_id=node_id, due=_utc(datetime.fromisoformat(stored["due"])), reviewed=True))
    return sorted(out, key=lambda r: (r.due, r.node_id))


def reviews_due(progress: Mapping[str, NodeProgress], quiz_nodes: Collection[str],
                cards: Mapping[str, Mapping[str, Any]], now: datetime) -> list[ReviewDue]:
    """The reviews due at `now`, most overdue first."""
    return [r for r in review_schedule(progress, quiz_nodes, cards) if r.due <= _utc(now)]


def review_quiz(pool: Quiz) -> Quiz:
    """The pool as a review draws from it: REVIEW_QUESTIONS questions (all of a smaller pool)."""
    return pool.model_copy(update={"draw": min(REVIEW_QUESTIONS, len(pool.questions))})
