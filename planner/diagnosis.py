""""What went wrong?": the diagnosis question after a failed experiment run (issue 14 §1), pure.

    question = diagnosis_question(lab_id, failure_modes, attempt_id, expected)   # None if not askable
    result = judge(question, failure_modes, answer)                             # DiagnosisResult

A failed run's `labs.events.Finished.diagnosis` names the lab's failure mode (`Lab.failure_modes`, each
a `labs.catalog.base.FailureMode`: id, label, explanation) that its evidence points to: the *expected*
answer. The question offers that mode and up to `MAX_OTHERS` others of the same lab, chosen and ordered
by a `random.Random` seeded with the attempt id, so the same attempt always shows the same options (and
the options are recorded with the answer, `diagnosis_answers.options`). The learner picks one by id;
the result carries both explanations: the expected one's (why this run failed) and the chosen one's (what
that mistake would have looked like), which are the same text when the answer is right.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, Field

QUESTION = "What went wrong?"
MAX_OTHERS = 3


class DiagnosisOption(BaseModel):
    id: str
    label: str


class DiagnosisQuestion(BaseModel):
    """One failed attempt's question: the options in the order shown, and the id the evidence names."""

    attempt_id: int
    lab_id: str
    question: str = QUESTION
    options: list[DiagnosisOption]
    expected: str = Field(description="the failure mode the run's evidence names (Finished.diagnosis)")

    @property
    def option_ids(self) -> list[str]:
        return [o.id for o in self.options]

    def option(self, answer: str | int) -> DiagnosisOption:
        """The option an answer names: its id, or its 1-based position as shown (ValueError otherwise)."""
        text = str(answer).strip()
        if text.isdigit() and 1 <= int(text) <= len(self.options) and text not in self.option_ids:
            return self.options[int(text) - 1]
        for o in self.options:
            if o.id == text:
                return o
        raise ValueError(f"{text!r} is not one of this question's options: "
                         f"{', '.join(f'{i} {o.id}' for i, o in enumerate(self.options, 1))}")


class DiagnosisResult(BaseModel):
    attempt_id: int
    answer: str
    expected: str
    correct: bool
    expected_label: str
    expected_explanation: str
    chosen_label: str
    chosen_explanation: str


def _modes(failure_modes: Sequence[Any]) -> dict[str, Any]:
    return {m.id: m for m in failure_modes}


def diagnosis_question(lab_id: str, failure_modes: Sequence[Any], attempt_id: int | None,
                       expected: str | None) -> DiagnosisQuestion | None:
    """The question for failed attempt `attempt_id` whose evidence names `expected`; None when there is
    nothing to ask (no attempt row, no diagnosis, or an id the lab does not declare)."""
    modes = _modes(failure_modes)
    if attempt_id is None or expected is None or expected not in modes:
        return None
    rng = random.Random(f"diagnosis:{lab_id}:{attempt_id}")
    others = [m for m in modes if m != expected]
    chosen = [expected, *rng.sample(others, min(MAX_OTHERS, len(others)))]
    rng.shuffle(chosen)
    return DiagnosisQuestion(attempt_id=attempt_id, lab_id=lab_id, expected=expected,
                             options=[DiagnosisOption(id=m, label=modes[m].label) for m in chosen])


def judge(question: DiagnosisQuestion, failure_modes: Sequence[Any], answer: str | int) -> DiagnosisResult:
    """Grade `answer` (an option id or its 1-based position; ValueError naming the options if neither)."""
    chosen = question.option(answer).id
    modes = _modes(failure_modes)
    right, picked = modes[question.expected], modes[chosen]
    return DiagnosisResult(attempt_id=question.attempt_id, answer=chosen, expected=question.expected,
                           correct=chosen == question.expected, expected_label=right.label,
                           expected_explanation=right.explanation, chosen_label=picked.label,
                           chosen_explanation=picked.explanation)
