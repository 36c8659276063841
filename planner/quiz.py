"""Quiz mechanics: the seeded draw of an attempt's questions, option order and numbers, and the grading
of answers (pure; no I/O, no storage).

An attempt is fixed by its seed (stored with the attempt) and the quiz file:

    draw_quiz(quiz, seed)   the questions asked: `quiz.draw` of the pool in a seeded order (without
                            `draw`, every question in file order), each template filled in with its
                            seeded parameters (prompt, explanation, answer; a draw whose formula fails
                            is drawn again, deterministically); the same seed always gives the same
                            questions, order and numbers, so an attempt can be shown again or regraded
                            from its stored seed and answers
    shuffled_options(q, seed)   the options of one question in a seeded order

A quiz with `draw` therefore asks other questions, in another order, with other numbers on a retake
(another seed). With `seed=None` (a caller that draws nothing) the pool is asked whole, in file order,
templates as for seed 0.

Answers are plain data, so the service can store them as JSON without translation:

    single    the original (file-order) index of the chosen option      e.g. 2
    multiple  the original indices of every chosen option               e.g. [0, 3]
    numeric   the number entered                                        e.g. 1168

Partial credit on a `multiple` question, with k right options among n: each right option ticked earns
+1/k, each wrong option ticked costs 1/(n - k), and the sum is floored at 0, times the question's points.
So ticking every box, or none, earns 0 (the habit the question exists to break earns nothing), half
the right ones and nothing wrong earns half, and only the exact set counts as `correct`.

A numeric answer is right within max(tolerance, rel_tolerance * |answer|). A typed numeric answer is
read by `parse_number`: a point for decimals, commas only between groups of three digits.

An unanswered question (None) earns no points, and so does a non-finite number (a typed "nan"); a
malformed answer (wrong type, index out of range) is a caller's mistake and raises `QuizAnswerError`
naming the question.

Every result carries what a screen needs to mark each option right or wrong with its explanation
(`AnswerResult.options`), the right answer (`right_answer`, `right_answer_text`), and the quiz result
lists the missed questions with their right answers (`QuizResult.missed`).
"""

from __future__ import annotations

import math
import random
import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field

from planner.templates import Formula, FormulaError, fill, format_number, values_for

if TYPE_CHECKING:  # the pydantic models live with the loader
    from planner.curriculum import Option, Question, Quiz

Answer = int | list[int] | float | None


class QuizAnswerError(ValueError):
    """An answer whose shape does not fit its question (a programming or input error, not a wrong answer)."""


class OptionMark(BaseModel):
    """One option after answering: whether it is a right one, whether it was chosen, and why."""

    index: int = Field(description="the option's index in file order")
    text: str
    correct: bool = Field(description="the option is one of the right ones")
    chosen: bool
    explanation: str


class AnswerResult(BaseModel):
    question_id: str
    answer: Answer = Field(description="the answer as given, normalised to JSON-friendly data")
    correct: bool
    points: float
    max_points: float
    explanations: list[str] = Field(description="what to show after answering, most relevant first")
    kind: str = ""
    prompt: str = Field(default="", description="the prompt as asked (a template's numbers filled in)")
    options: list[OptionMark] = Field(default_factory=list, description="file order; empty for numeric")
    right_answer: Answer = Field(default=None, description="the right answer in the answer's own shape")
    right_answer_text: str = Field(default="", description="the right answer in words")


class MissedQuestion(BaseModel):
    """A question not fully right, with what would have been."""

    question_id: str
    prompt: str
    right_answer: Answer
    right_answer_text: str
    explanation: str


class QuizResult(BaseModel):
    node_id: str
    score: float = Field(ge=0, le=1, description="share of points earned")
    passed: bool
    pass_mark: float
    points: float
    max_points: float
    results: list[AnswerResult]
    seed: int | None = None
    missed: list[MissedQuestion] = Field(default_factory=list, description="in the order asked")


# -- the draw --------------------------------------------------------------------------------------


def draw_questions(quiz: Quiz, seed: int | None) -> list[Question]:
    """The questions an attempt with `seed` asks, in order, templates filled in (module docstring)."""
    if seed is None:
        return [instantiate(q, 0) for q in quiz.questions]
    if quiz.draw is None:  # no pool: every question, in the author's order
        return [instantiate(q, seed) for q in quiz.questions]
    chosen = random.Random(f"{seed}:{quiz.node}:draw").sample(quiz.questions, min(quiz.draw, len(quiz.questions)))
    return [instantiate(q, seed) for q in chosen]


def draw_quiz(quiz: Quiz, seed: int | None) -> Quiz:
    """The quiz as one attempt sees it: its drawn questions only (so `len(...questions)` is the count asked)."""
    return quiz.model_copy(update={"questions": draw_questions(quiz, seed), "draw": None})


REDRAWS = 20  # a draw whose formula fails is drawn again, deterministically, up to this many times


def template_values(question: Question, seed: int) -> dict[str, int | float]:
    """The parameters a template draws for `seed` (empty for a plain question)."""
    return _drawn(question, seed)[0] if question.is_template else {}


def _drawn(question: Question, seed: int) -> tuple[dict[str, int | float], float]:
    """The values and answer for `seed`: the first draw whose answer is a finite number. `curriculum
    check` reports any failing first draw over its sample of seeds; this keeps a rarer one, met by a
    learner's seed, from stopping the quiz."""
    formula = Formula(question.formula or "", question.params)
    for retry in range(REDRAWS):
        values = values_for(question.id, question.params, seed, retry)
        try:
            return values, formula.evaluate(values)
        except FormulaError:
            continue
    raise FormulaError(f"question {question.id!r}: no finite answer in {REDRAWS} draws for seed {seed}")


def instantiate(question: Question, seed: int) -> Question:
    """A template as a plain numeric question for `seed`; any other question unchanged."""
    if not question.is_template:
        return question
    values, answer = _drawn(question, seed)
    return question.model_copy(update={
        "prompt": fill(question.prompt, values),
        "explanation": fill(question.explanation, {**values, "answer": answer}),
        "answer": answer, "formula": None, "params": {},
    })


def shuffled_options(question: Question, seed: int) -> list[tuple[int, Option]]:
    """The question's options as (original index, option) in an order fixed by `seed` and the question id."""
    order = list(range(len(question.options)))
    random.Random(f"{seed}:{question.id}").shuffle(order)
    return [(i, question.options[i]) for i in order]


# -- typed answers ---------------------------------------------------------------------------------

_GROUPED = re.compile(r"[+-]?\d{1,3}(,\d{3})+(\.\d*)?")


def parse_number(text: str) -> float:
    """A typed numeric answer; commas only as thousands separators (`1,168`), never as a decimal point.

    Dropping every comma read a decimal-comma "0,8" as 8, grading a right answer wrong; it is refused instead.
    """
    text = text.strip()
    if "," in text:
        if not _GROUPED.fullmatch(text):
            raise ValueError(f"{text!r} is not a number: use a point for decimals (0.8) and commas only "
                             f"between groups of three digits (1,168)")
        text = text.replace(",", "")
    try:
        return float(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a number; type digits, e.g. 1168") from None


# -- grading ---------------------------------------------------------------------------------------


def grade_answer(question: Question, answer: Any) -> AnswerResult:
    """Grade one answer to a plain (or instantiated) question; see the module docstring for the shapes."""
    if question.is_template:
        raise QuizAnswerError(f"question {question.id!r} is a template: grade the drawn question "
                              "(planner.quiz.draw_questions)")
    if answer is None:
        return _result(question, None, False, 0.0, _unanswered_explanations(question), chosen=set())
    if question.kind == "single":
        return _grade_single(question, answer)
    if question.kind == "multiple":
        return _grade_multiple(question, answer)
    return _grade_numeric(question, answer)


def grade_quiz(quiz: Quiz, answers: Mapping[str, Any], seed: int | None = None) -> QuizResult:
    """Grade the questions the attempt with `seed` asked (every question without a seed) from `answers`
    (question id -> answer); a question not answered counts as unanswered, an answer to a question that
    was not asked is a QuizAnswerError naming it."""
    questions = draw_questions(quiz, seed)
    asked = {q.id for q in questions}
    unknown = sorted(set(answers) - asked)
    if unknown:
        pool = {q.id for q in quiz.questions}
        not_drawn = [u for u in unknown if u in pool]
        if not_drawn and len(not_drawn) == len(unknown):
            raise QuizAnswerError(f"quiz {quiz.node!r}: question(s) {', '.join(not_drawn)} are not among this "
                                  f"attempt's questions (seed {seed}: {', '.join(q.id for q in questions)})")
        raise QuizAnswerError(f"quiz {quiz.node!r} has no question(s) {', '.join(unknown)}")
    results = [grade_answer(q, answers.get(q.id)) for q in questions]
    points = sum(r.points for r in results)
    max_points = sum(r.max_points for r in results)
    score = min(1.0, points / max_points) if max_points else 0.0
    missed = [MissedQuestion(question_id=r.question_id, prompt=r.prompt, right_answer=r.right_answer,
                             right_answer_text=r.right_answer_text, explanation=_why_right(q))
              for q, r in zip(questions, results) if not r.correct]
    return QuizResult(
        node_id=quiz.node, score=score, passed=score >= quiz.pass_mark - 1e-9, pass_mark=quiz.pass_mark,
        points=points, max_points=max_points, results=results, seed=seed, missed=missed,
    )


def multiple_credit(question: Question, chosen: set[int]) -> float:
    """The share of a multiple question's points earned by ticking `chosen` (the rule in the docstring)."""
    right = {i for i, o in enumerate(question.options) if o.correct}
    wrong = len(question.options) - len(right)
    share = len(chosen & right) / len(right) - (len(chosen - right) / wrong if wrong else 0.0)
    return max(0.0, share)


def _grade_single(question: Question, answer: Any) -> AnswerResult:
    chosen = _index(question, answer)
    correct = question.options[chosen].correct
    explanations = [question.options[chosen].explanation]
    if not correct:
        explanations += [o.explanation for o in question.options if o.correct]
    return _result(question, chosen, correct, 1.0 if correct else 0.0, explanations, chosen={chosen})


def _grade_multiple(question: Question, answer: Any) -> AnswerResult:
    if isinstance(answer, (str, bytes)) or not isinstance(answer, (Sequence, set, frozenset)):
        raise QuizAnswerError(f"question {question.id!r} takes a list of option indices, got {answer!r}")
    chosen = sorted({_index(question, a) for a in answer})
    right = [i for i, o in enumerate(question.options) if o.correct]
    correct = chosen == right
    # Explain every option the learner got wrong first, then the ones they got right.
    wrong_first = sorted(range(len(question.options)), key=lambda i: ((i in chosen) == (i in right), i))
    return _result(question, chosen, correct, multiple_credit(question, set(chosen)),
                   [question.options[i].explanation for i in wrong_first], chosen=set(chosen))


def _grade_numeric(question: Question, answer: Any) -> AnswerResult:
    if isinstance(answer, bool) or not isinstance(answer, (int, float)):
        raise QuizAnswerError(f"question {question.id!r} takes a number, got {answer!r}")
    assert question.answer is not None  # the loader refuses a plain numeric question without one
    # A typed "nan" or "inf" is a wrong answer, not a crash; it is stored as null (JSON has no NaN).
    finite = math.isfinite(answer)
    correct = finite and abs(float(answer) - question.answer) <= question.allowed_error(question.answer) + 1e-12
    return _result(question, float(answer) if finite else None, correct, 1.0 if correct else 0.0,
                   [question.explanation], chosen=set())


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


def _why_right(question: Question) -> str:
    return " ".join(e for e in _unanswered_explanations(question) if e)


def right_answer(question: Question) -> tuple[Answer, str]:
    """The right answer of a plain question, as data and in words."""
    if question.kind == "numeric":
        assert question.answer is not None
        text = format_number(question.answer)
        error = question.allowed_error(question.answer)
        return question.answer, text + (f" (± {error:.2g})" if error else "")
    right = [i for i, o in enumerate(question.options) if o.correct]
    texts = "; ".join(question.options[i].text.rstrip(".") for i in right)
    return (right[0] if question.kind == "single" else right), texts


def _result(question: Question, answer: Answer, correct: bool, share: float, explanations: list[str],
            *, chosen: set[int]) -> AnswerResult:
    value, text = right_answer(question)
    marks = [OptionMark(index=i, text=o.text, correct=o.correct, chosen=i in chosen, explanation=o.explanation)
             for i, o in enumerate(question.options)]
    return AnswerResult(
        question_id=question.id, answer=answer, correct=correct,
        points=float(question.points) * share, max_points=float(question.points),
        explanations=[e for e in explanations if e], kind=question.kind, prompt=question.prompt,
        options=marks, right_answer=value, right_answer_text=text,
    )
