"""Quiz mechanics: a seeded option order and the grading of answers (pure; no I/O, no storage).

Options are shown in an order drawn from the attempt's seed, so a retake asks the same questions with the
options moved: the learner has to know the answer, not remember where it was. The order is stable for one
seed (a resumed attempt looks the same) and changes with the seed.

Answers are plain data, so the service can store them as JSON without translation:

    single    the original index of the chosen option          e.g. 2
    multiple  the original indices of every chosen option      e.g. [0, 3]
    numeric   the number entered                               e.g. 1168

A `multiple` question is all-or-nothing: ticking a wrong box, or missing a right one, earns no points.
Partial credit would reward ticking everything, which is the habit the question exists to break.
An unanswered question (None) earns no points, and so does a non-finite number (a typed "nan"); a
malformed answer (wrong type, index out of range) is a caller's mistake and raises `QuizAnswerError`
naming the question.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field

if TYPE_CHECKING:  # the pydantic models live with the loader
    from planner.curriculum import Option, Question, Quiz

Answer = int | list[int] | float | None


class QuizAnswerError(ValueError):
    """An answer whose shape does not fit its question (a programming or input error, not a wrong answer)."""


class AnswerResult(BaseModel):
    question_id: str
    answer: Answer = Field(description="the answer as given, normalised to JSON-friendly data")
    correct: bool
    points: float
    max_points: float
    explanations: list[str] = Field(description="what to show after answering, most relevant first")


class QuizResult(BaseModel):
    node_id: str
    score: float = Field(ge=0, le=1, description="share of points earned")
    passed: bool
    pass_mark: float
    points: float
    max_points: float
    results: list[AnswerResult]


def shuffled_options(question: Question, seed: int) -> list[tuple[int, Option]]:
    """The question's options as (original index, option) in an order fixed by `seed` and the question id."""
    order = list(range(len(question.options)))
    random.Random(f"{seed}:{question.id}").shuffle(order)
    return [(i, question.options[i]) for i in order]


def grade_answer(question: Question, answer: Any) -> AnswerResult:
    """Grade one answer; see the module docstring for the answer shape each kind expects."""
    if answer is None:
        return _result(question, None, False, _unanswered_explanations(question))
    if question.kind == "single":
        return _grade_single(question, answer)
    if question.kind == "multiple":
        return _grade_multiple(question, answer)
    return _grade_numeric(question, answer)


def grade_quiz(quiz: Quiz, answers: Mapping[str, Any]) -> QuizResult:
    """Grade every question of `quiz` from `answers` (question id -> answer); missing ids count as unanswered."""
    unknown = sorted(set(answers) - {q.id for q in quiz.questions})
    if unknown:
        raise QuizAnswerError(f"quiz {quiz.node!r} has no question(s) {', '.join(unknown)}")
    results = [grade_answer(q, answers.get(q.id)) for q in quiz.questions]
    points = sum(r.points for r in results)
    max_points = sum(r.max_points for r in results)
    score = points / max_points if max_points else 0.0
    return QuizResult(
        node_id=quiz.node, score=score, passed=score >= quiz.pass_mark - 1e-9, pass_mark=quiz.pass_mark,
        points=points, max_points=max_points, results=results,
    )


def _grade_single(question: Question, answer: Any) -> AnswerResult:
    chosen = _index(question, answer)
    correct = question.options[chosen].correct
    explanations = [question.options[chosen].explanation]
    if not correct:
        explanations += [o.explanation for o in question.options if o.correct]
    return _result(question, chosen, correct, explanations)


def _grade_multiple(question: Question, answer: Any) -> AnswerResult:
    if isinstance(answer, (str, bytes)) or not isinstance(answer, (Sequence, set, frozenset)):
        raise QuizAnswerError(f"question {question.id!r} takes a list of option indices, got {answer!r}")
    chosen = sorted({_index(question, a) for a in answer})
    right = [i for i, o in enumerate(question.options) if o.correct]
    correct = chosen == right
    # Explain every option the learner got wrong first, then the ones they got right.
    wrong_first = sorted(range(len(question.options)), key=lambda i: ((i in chosen) == (i in right), i))
    return _result(question, chosen, correct, [question.options[i].explanation for i in wrong_first])


def _grade_numeric(question: Question, answer: Any) -> AnswerResult:
    if isinstance(answer, bool) or not isinstance(answer, (int, float)):
        raise QuizAnswerError(f"question {question.id!r} takes a number, got {answer!r}")
    # A typed "nan" or "inf" is a wrong answer, not a crash; it is stored as null (JSON has no NaN).
    finite = math.isfinite(answer)
    correct = finite and abs(float(answer) - question.answer) <= question.tolerance
    return _result(question, float(answer) if finite else None, correct, [question.explanation])


def _index(question: Question, answer: Any) -> int:
    if isinstance(answer, bool) or not isinstance(answer, int) or not 0 <= answer < len(question.options):
        raise QuizAnswerError(
            f"question {question.id!r}: {answer!r} is not an option index (0..{len(question.options) - 1})"
        )
    return answer


def _unanswered_explanations(question: Question) -> list[str]:
    if question.kind == "numeric":
        return [question.explanation]
    return [o.explanation for o in question.options if o.correct]


def _result(question: Question, answer: Answer, correct: bool, explanations: list[str]) -> AnswerResult:
    return AnswerResult(
        question_id=question.id, answer=answer, correct=correct,
        points=float(question.points) if correct else 0.0, max_points=float(question.points),
        explanations=[e for e in explanations if e],
    )
