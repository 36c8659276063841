"""Quiz mechanics: seeded option order, grading of each question kind, and the pass mark."""

from __future__ import annotations

import pytest

from planner.curriculum import Question, Quiz
from planner.quiz import QuizAnswerError, grade_answer, grade_quiz, shuffled_options


def single() -> Question:
    return Question.model_validate({
        "id": "pick-one", "kind": "single", "prompt": "?",
        "option": [
            {"text": "A", "explanation": "A is wrong because..."},
            {"text": "B", "correct": True, "explanation": "B is right because..."},
            {"text": "C", "explanation": "C is wrong because..."},
            {"text": "D", "explanation": "D is wrong because..."},
            {"text": "E", "explanation": "E is wrong because..."},
        ],
    })


def multiple() -> Question:
    return Question.model_validate({
        "id": "pick-some", "kind": "multiple", "prompt": "?", "points": 2,
        "option": [
            {"text": "A", "correct": True, "explanation": "why A"},
            {"text": "B", "explanation": "why not B"},
            {"text": "C", "correct": True, "explanation": "why C"},
        ],
    })


def numeric() -> Question:
    return Question.model_validate({"id": "count", "kind": "numeric", "prompt": "?", "answer": 1168,
                                    "tolerance": 0.5, "explanation": "3*3*8*16 + 16"})


def test_option_order_is_stable_for_a_seed_and_moves_with_it():
    q = single()
    first = [i for i, _ in shuffled_options(q, seed=7)]
    assert first == [i for i, _ in shuffled_options(q, seed=7)]
    assert sorted(first) == list(range(5))
    orders = {tuple(i for i, _ in shuffled_options(q, seed=s)) for s in range(10)}
    assert len(orders) > 3


def test_shuffled_pairs_keep_each_option_with_its_original_index():
    q = single()
    for index, option in shuffled_options(q, seed=3):
        assert q.options[index] is option


def test_single_right_answer_earns_its_points_and_explains_it():
    result = grade_answer(single(), 1)
    assert result.correct and result.points == result.max_points == 1
    assert result.explanations == ["B is right because..."]


def test_single_wrong_answer_explains_the_choice_then_the_right_option():
    result = grade_answer(single(), 3)
    assert not result.correct and result.points == 0
    assert result.explanations == ["D is wrong because...", "B is right because..."]


@pytest.mark.parametrize("answer, correct, points", [
    ([0, 2], True, 2.0), ([2, 0, 2], True, 2.0), ({0, 2}, True, 2.0),
    # The partial-credit rule (issue 14) deliberately changed [0]: half the right options, nothing
    # wrong, now earns half the points (it earned 0 when the question was all-or-nothing).
    ([0], False, 1.0), ([0, 1, 2], False, 0.0), ([], False, 0.0),
])
def test_multiple_is_correct_only_for_the_exact_set_with_partial_credit(answer, correct, points):
    result = grade_answer(multiple(), answer)
    assert result.correct is correct
    assert result.points == points


def test_multiple_explains_the_mistaken_options_first():
    result = grade_answer(multiple(), [0, 1])  # ticked wrong B, missed right C
    assert result.explanations[:2] == ["why not B", "why C"]


@pytest.mark.parametrize("answer, correct", [(1168, True), (1167.5, True), (1168.6, False), (1152, False)])
def test_numeric_accepts_answers_within_tolerance(answer, correct):
    assert grade_answer(numeric(), answer).correct is correct


@pytest.mark.parametrize("typed", [float("nan"), float("inf")])
def test_a_non_finite_number_is_wrong_not_an_error(typed):
    result = grade_answer(numeric(), typed)
    assert not result.correct and result.answer is None


def test_unanswered_scores_zero_and_shows_the_right_answer():
    result = grade_answer(single(), None)
    assert not result.correct and result.points == 0
    assert result.explanations == ["B is right because..."]


@pytest.mark.parametrize("question, answer", [
    (single(), 5), (single(), -1), (single(), "1"), (single(), True),
    (multiple(), 0), (multiple(), "02"), (multiple(), [0, 9]),
    (numeric(), "1168"), (numeric(), True),
])
def test_malformed_answers_name_the_question(question, answer):
    with pytest.raises(QuizAnswerError, match=question.id):
        grade_answer(question, answer)


def quiz() -> Quiz:
    questions = [numeric().model_copy(update={"id": f"q{i}"}) for i in range(5)]
    return Quiz(node="cnn", pass_mark=0.8, questions=questions)


def test_quiz_passes_exactly_at_the_pass_mark():
    four_right = grade_quiz(quiz(), {"q0": 1168, "q1": 1168, "q2": 1168, "q3": 1168, "q4": 0})
    assert four_right.score == pytest.approx(0.8) and four_right.passed
    three_right = grade_quiz(quiz(), {"q0": 1168, "q1": 1168, "q2": 1168})
    assert three_right.score == pytest.approx(0.6) and not three_right.passed
    assert [r.question_id for r in three_right.results] == ["q0", "q1", "q2", "q3", "q4"]


def test_quiz_rejects_answers_to_questions_it_does_not_have():
    with pytest.raises(QuizAnswerError, match="no-such"):
        grade_quiz(quiz(), {"no-such": 1})


def test_results_are_plain_json_data_for_the_store():
    result = grade_quiz(quiz(), {"q0": 1168})
    dumped = result.model_dump(mode="json")
    assert dumped["results"][0]["answer"] == 1168.0 and dumped["results"][1]["answer"] is None
