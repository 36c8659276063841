""""What went wrong?" after a failed experiment (issue 14 §1): a real run of gd-linear's naive defaults
(trained in this process, recorded through the service), its question, the recorded answer."""

from __future__ import annotations

from typing import Any

import pytest

from labs.catalog import get_lab
from labs.catalog.base import FailureMode
from planner.diagnosis import MAX_OTHERS, diagnosis_question, judge
from planner.service import Service


class InProcessRun:
    """A LabRunner that trains the real lab here (no worker process): the same events, sooner."""

    def __init__(self, lab_id: str, params: Any, seed: int):
        self.lab, self.params, self.seed, self.result, self.pid = get_lab(lab_id), params, seed, None, 0

    def start(self) -> "InProcessRun":
        return self

    @property
    def done(self) -> bool:
        return self.result is not None

    def events(self, timeout: float | None = None):
        if self.result is not None:
            return
        out: list = []
        self.result = self.lab.train(self.params, self.seed, out.append)
        yield from out
        yield self.result

    def cancel(self):
        return self.result


@pytest.fixture
def failed_run(store, curriculum):
    svc = Service(store, curriculum, runner_factory=InProcessRun)
    learner = store.add_learner("Ada")
    outcome = svc.start_lab(learner, "gd-linear", {}, seed=0, practice=True).wait()  # the naive defaults
    return svc, learner, outcome


def test_a_failed_run_asks_what_went_wrong_and_records_the_answer(failed_run, store):
    svc, learner, outcome = failed_run
    assert (outcome.status, outcome.diagnosis) == ("failed", "lr-too-large")
    question = svc.diagnosis_question(outcome)
    modes = {m.id for m in get_lab("gd-linear").failure_modes}
    assert question.expected == "lr-too-large" and question.question == "What went wrong?"
    assert set(question.option_ids) <= modes and "lr-too-large" in question.option_ids
    assert len(question.option_ids) == min(len(modes), 1 + MAX_OTHERS) == len(set(question.option_ids))
    assert svc.diagnosis_question(outcome) == question  # seeded by the attempt: shown the same way again
    wrong = next(i for i in question.option_ids if i != question.expected)
    result = svc.answer_diagnosis(learner, question, wrong)
    assert not result.correct and result.expected == "lr-too-large"
    assert "2/lambda_max" in result.expected_explanation  # the lesson's step bound, in the lab's words
    assert result.chosen_explanation == get_lab("gd-linear").failure_mode(wrong).explanation
    right = svc.answer_diagnosis(learner, question, str(question.option_ids.index("lr-too-large") + 1))
    assert right.correct and right.answer == "lr-too-large"  # a position as shown names its option
    rows = store.diagnosis_answers(learner.id, outcome.attempt_id)
    assert [(r["answer"], r["correct"], r["options"]) for r in rows] == [
        (wrong, False, question.option_ids), ("lr-too-large", True, question.option_ids)]
    with pytest.raises(ValueError, match="not one of this question's options"):
        svc.answer_diagnosis(learner, question, "no-such-mode")


def test_a_pass_asks_nothing(store, curriculum):
    svc = Service(store, curriculum, runner_factory=InProcessRun)
    learner = store.add_learner("Bo")
    outcome = svc.start_lab(learner, "gd-linear", get_lab("gd-linear").good_settings, seed=0, practice=True).wait()
    assert outcome.passed and outcome.diagnosis is None and svc.diagnosis_question(outcome) is None


def test_options_are_the_right_one_and_up_to_three_others_seeded_by_the_attempt():
    modes = [FailureMode(id=f"m{i}", label=f"mode {i}", explanation=f"why {i}") for i in range(7)]
    shown = {tuple(diagnosis_question("lab", modes, attempt, "m3").option_ids) for attempt in range(40)}
    assert all(len(s) == 4 and "m3" in s for s in shown)
    assert len(shown) > 10 and len({s.index("m3") for s in shown}) == 4  # other modes, other positions
    again = diagnosis_question("lab", modes, 5, "m3")
    assert again == diagnosis_question("lab", modes, 5, "m3")
    assert judge(again, modes, "m3").correct
    assert diagnosis_question("lab", modes, 5, "not-declared") is None
    assert diagnosis_question("lab", modes, None, "m3") is None


def test_lab_run_refuses_an_unknown_diagnosis_before_training(run_cli, store):
    store.add_learner("Ada")
    done = run_cli("lab", "run", "gd-linear", "--practice", "--diagnosis", "bad-luck")
    assert done.exit_code == 2 and "'bad-luck' is not a failure mode of gd-linear" in done.output
    assert store.attempt_count(store.get_learner("Ada").id) == 0


def test_reports_show_the_diagnosis_of_the_attempt(failed_run):
    svc, learner, outcome = failed_run
    question = svc.diagnosis_question(outcome)
    svc.answer_diagnosis(learner, question, "lr-too-large")
    markdown = svc.report(learner, "md")
    assert "## Diagnoses: what went wrong?" in markdown
    assert f"| #{outcome.attempt_id} | `gd-linear` | `lr-too-large` | `lr-too-large` | right |" in markdown
    import json

    [attempt] = [a for a in json.loads(svc.report(learner, "json"))["attempts"] if a["id"] == outcome.attempt_id]
    assert attempt["diagnosis"]["answer"] == "lr-too-large" and attempt["diagnosis"]["correct"] is True
    assert attempt["diagnosis"]["options"] == question.option_ids
    assert "<h2>Diagnoses: what went wrong?</h2>" in svc.report(learner, "html")
