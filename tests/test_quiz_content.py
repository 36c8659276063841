"""The bundled quizzes test understanding, not test-taking (issue 14 §3): the right option is not told by
its length or its place in the file, wrong options are of the same length as the right one, every quiz
draws from a larger pool, templates show the learner clean numbers, and no plain numeric question repeats
its lesson's worked example."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

from planner.curriculum import Question, load_curriculum
from planner.quiz import draw_questions, template_values
from planner.templates import placeholders

DATA = Path(__file__).resolve().parents[1] / "data"
MAX_TELL = 0.40  # the bound: at most 40 % of single-answer questions may show a given tell


@pytest.fixture(scope="module")
def curriculum():
    return load_curriculum(DATA)


def singles(curriculum) -> list[tuple[str, Question]]:
    return [(quiz.file, q) for quiz in curriculum.quizzes.values() for q in quiz.questions if q.kind == "single"]


def right_index(q: Question) -> int:
    return next(i for i, o in enumerate(q.options) if o.correct)


def share(curriculum, tell) -> float:
    found = singles(curriculum)
    return sum(bool(tell(q)) for _, q in found) / len(found)


def lengths(q: Question) -> list[int]:
    return [len(o.text) for o in q.options]


@pytest.mark.parametrize("name, tell", [
    # Ties count against the quiz: an option as long as the longest one is "the longest".
    ("longest", lambda q: lengths(q)[right_index(q)] == max(lengths(q))),
    ("shortest", lambda q: lengths(q)[right_index(q)] == min(lengths(q))),
    ("first in the file", lambda q: right_index(q) == 0),
    ("last in the file", lambda q: right_index(q) == len(q.options) - 1),
])
def test_no_tell_gives_away_the_right_option(curriculum, name, tell):
    assert share(curriculum, tell) <= MAX_TELL, f"the right option is the {name} one too often"


def test_no_single_file_position_holds_most_right_answers(curriculum):
    positions = Counter(right_index(q) for _, q in singles(curriculum))
    assert max(positions.values()) <= 0.5 * sum(positions.values()), positions


def test_wrong_options_are_as_long_as_the_right_one(curriculum):
    for file, q in singles(curriculum):
        right = lengths(q)[right_index(q)]
        wrong = [n for i, n in enumerate(lengths(q)) if i != right_index(q)]
        mean = sum(wrong) / len(wrong)
        assert 0.6 <= right / mean <= 1.4, f"{file} {q.id}: right {right} characters, wrong ones {wrong}"


def test_right_options_of_multiple_questions_are_not_simply_the_first_ones(curriculum):
    multiples = [q for quiz in curriculum.quizzes.values() for q in quiz.questions if q.kind == "multiple"]
    prefix = [q for q in multiples if [o.correct for o in q.options] == sorted((o.correct for o in q.options),
                                                                               reverse=True)]
    assert len(prefix) <= MAX_TELL * len(multiples), [q.id for q in prefix]


def test_every_quiz_draws_from_a_larger_pool(curriculum):
    for quiz in curriculum.quizzes.values():
        assert quiz.draw is not None and 5 <= quiz.draw <= 10, quiz.file
        assert len(quiz.questions) >= quiz.draw + 3, quiz.file
        seen = {frozenset(q.id for q in draw_questions(quiz, seed)) for seed in range(20)}
        assert len(seen) > 5, f"{quiz.file}: retakes keep asking the same questions"


def test_templates_vary_and_show_clean_numbers(curriculum):
    templates = [(quiz, q) for quiz in curriculum.quizzes.values() for q in quiz.questions if q.is_template]
    assert len(templates) >= 20
    for quiz, q in templates:
        prompts = set()
        for seed in range(50):
            asked = next(a for a in draw_questions(quiz.model_copy(update={"draw": None}), seed) if a.id == q.id)
            left = placeholders(asked.prompt + asked.explanation) & (set(q.params) | {"answer"})
            assert not left, (quiz.file, q.id, asked.prompt)
            assert not re.search(r"\d\.\d{7,}", asked.prompt), (quiz.file, q.id, asked.prompt)  # no float noise
            prompts.add(asked.prompt)
        assert len(prompts) >= 3, f"{quiz.file} {q.id}: the numbers hardly change between attempts"
        assert set(template_values(q, 0)) == set(q.params)


def _spellings(value: float) -> set[str]:
    whole = int(value)
    return {f"{whole:,}", str(whole)} if value == whole else {f"{value:g}"}


def test_no_plain_numeric_question_repeats_its_lessons_worked_example(curriculum):
    # A distinctive result (100 or more) printed in the lesson is the lesson's own example: the quiz must
    # ask it with other numbers (a template), not repeat it.
    for quiz in curriculum.quizzes.values():
        lesson = curriculum.lesson_text(quiz.node)
        for q in quiz.questions:
            if q.kind == "numeric" and not q.is_template and q.answer is not None and abs(q.answer) >= 100:
                for written in _spellings(q.answer):
                    assert not re.search(rf"(?<![\d,.]){re.escape(written)}(?![\d,])", lesson), \
                        f"{quiz.file} {q.id}: its answer {written} is worked in the lesson"
