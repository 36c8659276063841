"""`pathlab quiz`: prompts or --answers FILE, --json, exit codes, and an attempt recorded like the app's
(seed, real start and finish, one answer row per question asked), reproducible from its seed."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest

from planner.curriculum import load_curriculum
from planner.quiz import draw_quiz, grade_quiz, shuffled_options
from planner.store import Store
from tests.test_readme_contract import documented_keys

POOL_QUIZ = '''node = "gradient-descent"
pass_mark = 0.8
draw = 3

[[question]]
id = "step-direction"
kind = "single"
prompt = "Which way does a gradient-descent step move the weights?"
  [[question.option]]
  text = "Against the gradient"
  correct = true
  explanation = "The gradient points uphill."
  [[question.option]]
  text = "Along the gradient"
  explanation = "That climbs the loss."

[[question]]
id = "one-step"
kind = "numeric"
prompt = "Loss (w - {t})^2 at w = {w} with learning rate {lr}: what is w after one step?"
formula = "w - lr * 2 * (w - t)"
tolerance = 0.001
explanation = "w - {lr} * 2 (w - {t}) = {answer}"
  [question.params.w]
  min = -4
  max = 4
  [question.params.t]
  min = 1.0
  max = 5.0
  decimals = 1
  [question.params.lr]
  choices = [0.05, 0.1, 0.25]

[[question]]
id = "facts"
kind = "multiple"
prompt = "Which are true?"
  [[question.option]]
  text = "A smaller rate takes smaller steps"
  correct = true
  explanation = "The step is lr times the gradient."
  [[question.option]]
  text = "The gradient points downhill"
  explanation = "It points uphill."
  [[question.option]]
  text = "A too large rate can diverge"
  correct = true
  explanation = "Each step overshoots further."

[[question]]
id = "halve"
kind = "numeric"
prompt = "Loss w^2 at w = 1 with learning rate 0.25: what is w after one step?"
answer = 0.5
tolerance = 0.0
explanation = "w - 0.25 * 2w = 0.5"
'''


@pytest.fixture
def pool_root(curriculum_copy: Path) -> Path:
    (curriculum_copy / "quizzes" / "gradient-descent.toml").write_text(POOL_QUIZ, encoding="utf-8")
    return curriculum_copy


def right_answers(quiz) -> dict:
    out = {}
    for q in quiz.questions:
        if q.kind == "numeric":
            out[q.id] = q.answer
        elif q.kind == "single":
            out[q.id] = next(i for i, o in enumerate(q.options) if o.correct)
        else:
            out[q.id] = [i for i, o in enumerate(q.options) if o.correct]
    return out


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_answers_file_records_the_attempt_and_prints_the_documented_json(run_cli, db_path, tmp_path):
    run_cli("learner", "add", "Ada")
    answers = write(tmp_path, "a.json", json.dumps({"step-direction": 0, "halve": "0.5"}))
    result = run_cli("quiz", "gradient-descent", "--answers", str(answers), "--seed", "4", "--json")
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["passed"] is True and out["score"] == 1 and out["pass_mark"] == 0.5 and out["seed"] == 4
    assert {q["id"] for q in out["questions"]} == {"step-direction", "halve"}
    by_id = {q["id"]: q for q in out["questions"]}
    assert by_id["halve"]["right_answer"] == 0.5 and by_id["step-direction"]["right_answer_text"] == \
        "Against the gradient"
    documented = documented_keys("`pathlab quiz")
    assert set(out) <= documented and set(out["questions"][0]) <= documented
    with Store.open(db_path) as store:
        [attempt] = store.quiz_attempts(store.get_learner("Ada").id)
    assert attempt.id == out["attempt_id"] and attempt.seed == 4 and attempt.passed
    assert attempt.started_at == datetime.fromisoformat(out["started_at"]).replace(tzinfo=attempt.started_at.tzinfo)
    assert attempt.started_at <= attempt.finished_at
    assert {a.question_id for a in attempt.answers} == {"step-direction", "halve"}


def test_a_toml_file_may_name_options_by_text_and_a_fail_exits_1(run_cli, tmp_path):
    run_cli("learner", "add", "Ada")
    answers = write(tmp_path, "a.toml", 'step-direction = "along the gradient"\nhalve = 0.25\n')
    result = run_cli("quiz", "gradient-descent", "--answers", str(answers))
    assert result.exit_code == 1, result.output
    assert "Score 0% (0 of 2 points) · pass mark 50% · not passed yet" in result.stdout
    assert "Right answer: Against the gradient" in result.stdout and "Right answer: 0.5" in result.stdout


@pytest.mark.parametrize("args, message", [
    (["quiz", "no-such-node"], "unknown node 'no-such-node'"),
    (["quiz", "ffnn"], "node 'ffnn' has no quiz"),
])
def test_unknown_node_or_no_quiz_is_a_usage_error(run_cli, args, message):
    run_cli("learner", "add", "Ada")
    result = run_cli(*args)
    assert result.exit_code == 2 and result.stderr.startswith("Error:") and message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("name, text, message", [
    ("a.json", "{not json", "not valid JSON"),
    ("a.toml", "= 1", "not valid TOML"),
    ("a.json", "[1, 2]", "expected an object"),
    ("a.json", '{"nope": 1}', "question 'nope' is not a question of the 'gradient-descent' quiz"),
    ("a.json", '{"step-direction": 7}', "question 'step-direction': 7 is not an option index"),
    ("a.json", '{"step-direction": "sideways"}', "question 'step-direction': no option reads 'sideways'"),
    ("a.json", '{"halve": "0,5"}', "question 'halve': '0,5' is not a number"),
    ("a.json", '{"halve": true}', "question 'halve': expected a number"),
])
def test_a_bad_answers_file_names_the_file_and_question_and_records_nothing(run_cli, db_path, tmp_path,
                                                                            name, text, message):
    run_cli("learner", "add", "Ada")
    path = write(tmp_path, name, text)
    result = run_cli("quiz", "gradient-descent", "--answers", str(path))
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith(f"Error: {path}: ") and message in result.stderr
    with Store.open(db_path) as store:
        assert store.quiz_attempts(store.get_learner("Ada").id) == []


def test_a_missing_answers_file_is_a_usage_error(run_cli, tmp_path):
    run_cli("learner", "add", "Ada")
    result = run_cli("quiz", "gradient-descent", "--answers", str(tmp_path / "none.json"))
    assert result.exit_code == 2 and "none.json" in result.stderr


def test_interactive_prompts_mark_options_and_end_with_score_pass_mark_and_missed(run_cli, curriculum, db_path):
    run_cli("learner", "add", "Ada")
    quiz = curriculum.quiz_for("gradient-descent")
    seed = 9
    asked = draw_quiz(quiz, seed)
    typed = []
    for q in asked.questions:  # the wrong option for the single question, the right number for the other
        if q.kind == "single":
            order = [i for i, _ in shuffled_options(q, seed)]
            typed.append(str(order.index(1) + 1))
        else:
            typed += ["0,5", "0.5"]  # a decimal comma is refused and asked again, as in the app
    from click.testing import CliRunner

    from planner.cli import main

    result = CliRunner().invoke(main, ["--db", str(db_path), "--data", str(Path(curriculum.root)), "quiz",
                                       "gradient-descent", "--seed", str(seed)], input="\n".join(typed) + "\n")
    assert result.exit_code == 0, result.output  # 1 of 2 right meets the fixture's pass mark of 50 %
    out = result.output
    assert "2 questions · pass mark 50% · seed 9" in out
    assert "[right, not chosen] Against the gradient" in out and "[wrong, you chose it] Along the gradient" in out
    assert "Why: The gradient points uphill." in out and "is not a number" in out
    assert "Score 50% (1 of 2 points) · pass mark 50% · passed" in out
    assert "Missed:\n  - Which way does a gradient-descent step move the weights?\n    Right answer: Against" in out
    with Store.open(db_path) as store:
        [attempt] = store.quiz_attempts(store.get_learner("Ada").id)
    assert attempt.seed == seed and attempt.score == 0.5


def test_a_pool_draws_by_seed_reproducibly_and_the_record_regrades(run_cli, pool_root, db_path, tmp_path):
    run_cli("learner", "add", "Ada")
    pool = load_curriculum(pool_root).quiz_for("gradient-descent")
    shown = {}
    for seed in range(12):
        asked = draw_quiz(pool, seed)
        assert len(asked.questions) == 3
        shown[seed] = [(q.id, q.prompt) for q in asked.questions]
    assert len({tuple(v) for v in shown.values()}) > 4  # retakes ask other questions or other numbers
    seed = next(s for s, v in shown.items() if "one-step" in dict(v))
    asked = draw_quiz(pool, seed)
    answers = write(tmp_path, "a.json", json.dumps(right_answers(asked)))
    first = run_cli("quiz", "gradient-descent", "--seed", str(seed),
                    "--answers", str(answers), "--json", data=pool_root)
    again = run_cli("quiz", "gradient-descent", "--seed", str(seed), "--answers", str(answers), "--json",
                    data=pool_root)
    assert first.exit_code == again.exit_code == 0, first.output
    a, b = json.loads(first.stdout), json.loads(again.stdout)
    assert [(q["id"], q["prompt"]) for q in a["questions"]] == [(q["id"], q["prompt"]) for q in b["questions"]] \
        == shown[seed]
    assert "{" not in dict(shown[seed])["one-step"]
    with Store.open(db_path) as store:
        stored = store.quiz_attempts(store.get_learner("Ada").id)[0]
    # The seed and the file are enough to regrade the stored answers to the same points.
    regraded = grade_quiz(pool, {r.question_id: r.answer for r in stored.answers}, seed=stored.seed)
    assert [(r.question_id, r.points) for r in regraded.results] == \
        [(r.question_id, r.points) for r in sorted(stored.answers, key=lambda r: [q.id for q in asked.questions].index(r.question_id))]
    not_asked = next(q.id for q in pool.questions if q.id not in {q.id for q in asked.questions})
    bad = write(tmp_path, "b.json", json.dumps({not_asked: 0}))
    result = run_cli("quiz", "gradient-descent", "--seed", str(seed), "--answers", str(bad), data=pool_root)
    assert result.exit_code == 2 and f"question {not_asked!r} is not among this attempt's questions" in result.stderr


def test_the_interactive_attempt_records_when_it_started_not_when_it_was_submitted(run_cli, db_path, monkeypatch):
    import time

    import click

    run_cli("learner", "add", "Ada")
    real_prompt = click.prompt

    def slow_prompt(*args, **kwargs):  # a learner who thinks for 0.2 s over each question
        time.sleep(0.2)
        return real_prompt(*args, **kwargs)

    monkeypatch.setattr(click, "prompt", slow_prompt)
    from click.testing import CliRunner

    from planner.cli import main
    from tests.conftest import FIXTURE_CURRICULUM

    result = CliRunner().invoke(main, ["--db", str(db_path), "--data", str(FIXTURE_CURRICULUM), "quiz",
                                       "gradient-descent", "--seed", "1"], input="1\n0.5\n")
    assert result.exit_code in (0, 1), result.output
    with Store.open(db_path) as store:
        [attempt] = store.quiz_attempts(store.get_learner("Ada").id)
    assert (attempt.finished_at - attempt.started_at).total_seconds() >= 0.4


def test_the_service_outcome_carries_the_pass_mark_and_the_missed_questions(store, curriculum):
    from planner.service import Service

    learner = store.add_learner("Ada")
    outcome = Service(store, curriculum).submit_quiz(learner, "gradient-descent", {"step-direction": 1}, seed=2)
    assert outcome.pass_mark == 0.5 and not outcome.passed
    assert [(m.question_id, m.right_answer_text) for m in outcome.missed] == [
        ("step-direction", "Against the gradient"), ("halve", "0.5")]


def test_interactive_json_keeps_prompts_off_stdout(run_cli, curriculum, db_path):
    from click.testing import CliRunner

    from planner.cli import main

    run_cli("learner", "add", "Ada")
    order = [i for i, _ in shuffled_options(curriculum.quiz_for("gradient-descent").questions[0], 3)]
    result = CliRunner().invoke(main, ["--db", str(db_path), "--data", str(Path(curriculum.root)), "quiz",
                                       "gradient-descent", "--seed", "3", "--json"],
                                input=f"{order.index(0) + 1}\n0.5\n")
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)  # nothing but the document
    assert out["score"] == 1 and "Question 1 of 2" in result.stderr
