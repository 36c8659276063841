"""rnn-chars build (issue 13 §2): gradient clipping by global norm and sampling with temperature, next to
the step and BPTT. Each classic mistake, edited into a copy of the reference solution and graded by the
real grader, costs exactly its check (and the training stage, which waits for every earlier check) with a
message that names it. The reference scoring 100 and the scaffold 0 are the parametrized tests of
test_implement_grading.py (they cover every task); the training loop's use of the learner's clipping and
sampling is tested here on the reference functions in-process, with a few steps."""

from __future__ import annotations

import ast
import types

import numpy as np
import pytest

from labs.datasets import load_text
from labs.implement import get_task
from labs.implement.checks import charlm
from labs.implement.checks import rnn_chars as checks
from labs.implement.solutions import rnn_chars as ref
from tests.implement.helpers import assert_costs_exactly, grade_source, solution_source

LAB = "rnn-chars"
SAMPLE = """    scaled = logits / temperature
    weights = np.exp(scaled - scaled.max())
    cumulative = np.cumsum(weights / weights.sum())
"""

MISTAKES = [
    # (what, [(line in the reference, the mistake)], check it breaks, words the message must contain)
    ("per-tensor clipping",
     [("return [g * scale for g in grads], total_norm",
       "return [g * min(1.0, max_norm / np.linalg.norm(g)) for g in grads], total_norm")],
     "forward:clip_by_global_norm", ["clipped[0]", "clipped by its own norm", "GLOBAL norm"]),
    ("clipping below the norm",
     [("scale = max_norm / total_norm if total_norm > max_norm else 1.0", "scale = max_norm / total_norm")],
     "forward:clip_by_global_norm", ["rescaled although their global norm", "below max_norm",
                                     "only when the norm exceeds max_norm"]),
    ("the norm not returned",
     [("return [g * scale for g in grads], total_norm", "return [g * scale for g in grads]")],
     "forward:clip_by_global_norm", ["returned only the clipped arrays", "return (clipped, total_norm)"]),
    ("probabilities divided by the temperature",
     [(SAMPLE, "    weights = np.exp(logits - logits.max())\n"
               "    probs = weights / weights.sum() / temperature\n"
               "    cumulative = np.cumsum(probs / probs.sum())\n")],
     "forward:sample_next", ["temperature changes nothing", "divide the LOGITS by the temperature"]),
    ("temperature 0 not greedy",
     [("    if temperature == 0:\n        return int(np.argmax(logits))\n", "")],
     "forward:sample_next", ["temperature=0", "temperature 0 means greedy", "largest logit"]),
    ("overflow at a small temperature",
     [("weights = np.exp(scaled - scaled.max())", "weights = np.exp(scaled)")],
     "forward:sample_next", ["temperature=0.01", "np.exp overflows", "subtract the largest scaled logit"]),
    ("a draw of its own instead of u",
     [("return min(int(np.sum(cumulative <= u)), len(logits) - 1)",
       "return min(int(np.sum(cumulative <= np.random.random())), len(logits) - 1)")],
     "forward:sample_next", ["different indices for the same logits, temperature and u", "not np.random"]),
]


def mutated(edits: list[tuple[str, str]]) -> str:
    source = solution_source(LAB)
    for line, wrong in edits:
        assert source.count(line) == 1, f"{line!r} should appear exactly once in the {LAB} solution"
        source = source.replace(line, wrong)
    return source


@pytest.mark.parametrize("what, edits, broken, words", MISTAKES, ids=[m[0] for m in MISTAKES])
def test_a_classic_mistake_costs_exactly_its_check(tmp_path, what, edits, broken, words):
    assert_costs_exactly(grade_source(tmp_path, LAB, mutated(edits)), LAB, {broken: words})


def test_points_add_to_100_and_the_new_pieces_have_their_checks():
    task = get_task(LAB)
    assert sum(c.points for c in task.checks) == 100
    assert {"forward:clip_by_global_norm", "forward:sample_next"} <= {c.id for c in task.checks}


def _learner(**replaced) -> types.SimpleNamespace:
    """The reference functions as a learner in this process (what `call` and the loop need: attributes)."""
    names = [f.name for f in get_task(LAB).functions]
    return types.SimpleNamespace(**{n: getattr(ref, n) for n in names} | replaced)


def test_training_clips_with_the_learners_clipping_and_writes_with_their_sampling(monkeypatch):
    monkeypatch.setattr(checks, "STEPS", 3)
    clip_calls: list[float] = []

    def clip(grads, max_norm):
        clip_calls.append(max_norm)
        return ref.clip_by_global_norm(grads, max_norm)

    first = lambda logits, temperature, u: 0  # noqa: E731 - always the vocabulary's first character
    reports: list[tuple[int, int]] = []
    _, message, metrics = checks.train(_learner(clip_by_global_norm=clip, sample_next=first), 60.0,
                                       report=lambda step, total, _: reports.append((step, total)))
    corpus = load_text(charlm.N_CHARS)
    assert clip_calls == [checks.MAX_NORM] * 3
    assert repr(checks.PROMPT + corpus.chars[0] * checks.SAMPLE_CHARS) in message
    assert "Your sampling at temperature 0.8" in message and "rescaled" in message
    assert 0.0 <= metrics["clipped_fraction"] <= 1.0 and metrics["grad_norm_last"] > 0
    assert reports[-1] == (3, 3)


def test_the_sample_is_reproducible_and_of_the_right_length(monkeypatch):
    monkeypatch.setattr(checks, "STEPS", 2)

    def sample() -> str:
        message = checks.train(_learner(), 60.0)[1]
        return ast.literal_eval(message.split(f"temperature {checks.SAMPLE_TEMPERATURE:g}: ")[1])

    text = sample()
    assert text == sample()
    assert text.startswith(checks.PROMPT) and len(text) == len(checks.PROMPT) + checks.SAMPLE_CHARS


def test_clipping_reference_keeps_the_direction_and_returns_the_norm_before():
    grads = [np.full((2, 2), 3.0), np.full(3, 4.0)]
    norm = float(np.sqrt(4 * 9 + 3 * 16))
    clipped, total = ref.clip_by_global_norm(grads, 1.0)
    assert total == pytest.approx(norm)
    assert float(np.sqrt(sum(np.sum(g * g) for g in clipped))) == pytest.approx(1.0)
    assert np.allclose(clipped[0] / grads[0], clipped[1][0] / grads[1][0])
    same, total = ref.clip_by_global_norm(grads, 2 * norm)
    assert all(np.array_equal(a, b) for a, b in zip(same, grads)) and total == pytest.approx(norm)
