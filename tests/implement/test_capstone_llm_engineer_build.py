"""The capstone-llm-engineer build through the real grader: the reference pipeline earns 100 (the library's
modern LM on BPE tokens, trained on the learner's windows at the learner's rates, reaches the capstone's
bits per character and writes through its KV cache with the learner's sampling), the scaffold 0, and each
classic mistake (targets not shifted or off by one, a warm-up from 0 or a cosine over the wrong span, bits
per token or in nats, perplexity from the sum, top-k keeping k+1 on a tie, sampling unnormalised
exponentials) costs exactly its check, named.
The checker's recipe: checks/capstone_llm_engineer.py (STEPS...), the lab's good settings."""

from __future__ import annotations

import math

import pytest

from labs.catalog.capstone_llm_engineer import TARGET_BPC
from labs.implement import get_task
from labs.implement.grader import DEFAULT_TIMEOUT_S
from labs.implement.tasks import STRUCTURE, TRAIN
from tests.implement.helpers import graded_reference, assert_costs_exactly, by_id, grade_source, scaffold_source, solution_source, \
    with_mistake

LAB = "capstone-llm-engineer"


def test_reference_earns_100_and_reaches_the_capstone_target(tmp_path):
    # no timeout given: the task's own (240 s) applies; the library's modern LM trains for real here
    result = graded_reference(LAB)
    assert result.status == "passed", result.feedback
    assert result.grade.score == 100
    assert result.metrics["bits_per_char"] <= TARGET_BPC
    assert result.metrics["perplexity"] == pytest.approx(math.exp(result.metrics["val_loss"]))
    assert "your sample through the KV cache:" in by_id(result)[TRAIN].message


def test_the_task_timeout_is_used_when_none_is_given(tmp_path, monkeypatch):
    # a task's own timeout replaces the grader's default: a 1 s task stops an endless loop after ~1 s
    from labs.implement import grader

    task = get_task(LAB)
    assert task.timeout_s is not None and task.timeout_s > DEFAULT_TIMEOUT_S
    monkeypatch.setitem(grader.get_task.__globals__["TASKS"], LAB, task.model_copy(update={"timeout_s": 1.0}))
    source = solution_source(LAB).replace('    offsets = starts[:, None] + np.arange(seq_len)\n',
                                          '    while True:\n        pass\n')
    result = grade_source(tmp_path, LAB, source)
    assert "stopped after 1 s" in result.feedback, result.feedback
    assert result.duration_s < DEFAULT_TIMEOUT_S / 2


def test_untouched_scaffold_scores_zero(tmp_path):
    result = grade_source(tmp_path, LAB, scaffold_source(LAB))
    checks = by_id(result)
    assert result.grade.score == 0
    assert "start with windows" in checks[STRUCTURE].message
    assert checks["forward:sample_next"].message == "sample_next is not written yet"
    assert checks[TRAIN].status == "skipped"


SCHEDULE = "progress = (step - warmup_steps) / (total_steps - warmup_steps)"
MISTAKES = [
    # (name, text in the reference, the mistake, check it breaks, words the message must contain)
    ("targets not shifted", "return ids[offsets], ids[offsets + 1]", "return ids[offsets], ids[offsets]",
     "forward:windows", ["windows' y", "the targets are not shifted"]),
    ("targets two ahead", "return ids[offsets], ids[offsets + 1]", "return ids[offsets], ids[offsets + 2]",
     "forward:windows", ["two characters ahead (off by one)"]),
    ("inputs one late", "return ids[offsets], ids[offsets + 1]", "return ids[offsets + 1], ids[offsets + 1]",
     "forward:windows", ["windows' x", "x starts one character late"]),
    ("warm-up starts at zero", "return base_lr * (step + 1) / warmup_steps", "return base_lr * step / warmup_steps",
     "forward:lr_at", ["warmup_steps=5", "the warm-up starts at rate 0", "off by one step"]),
    ("cosine reaches final_lr on the last step", SCHEDULE,
     "progress = (step - warmup_steps + 1) / (total_steps - warmup_steps)", "forward:lr_at",
     ["the cosine is off by one step", "ON the last step"]),
    ("cosine span one short", SCHEDULE, "progress = (step - warmup_steps) / (total_steps - warmup_steps - 1)",
     "forward:lr_at", ["the cosine's span is one step short"]),
    ("cosine ignores the warm-up", SCHEDULE, "progress = step / total_steps", "forward:lr_at",
     ["as if there were no warm-up"]),
    ("cosine to zero", "return float(final_lr + 0.5 * (1.0 + math.cos(math.pi * progress)) * (base_lr - final_lr))",
     "return float(0.5 * (1.0 + math.cos(math.pi * progress)) * base_lr)", "forward:lr_at",
     ["falls to 0, not to final_lr"]),
    ("bits per token, not per character", "return total / (n_chars * math.log(2)), math.exp(total / len(token_nats))",
     "return total / len(token_nats) / math.log(2), math.exp(total / len(token_nats))", "forward:loss_report",
     ["bits_per_char", "bits per TOKEN", "n_chars * ln 2"]),
    ("bits still in nats", "return total / (n_chars * math.log(2)), math.exp(total / len(token_nats))",
     "return total / n_chars, math.exp(total / len(token_nats))", "forward:loss_report",
     ["bits_per_char", "still in nats", "divide the natural-log loss by ln 2"]),
    ("perplexity from the sum", "return total / (n_chars * math.log(2)), math.exp(total / len(token_nats))",
     "return total / (n_chars * math.log(2)), math.exp(total)", "forward:loss_report",
     ["perplexity", "from the SUM of the losses"]),
    ("perplexity per character", "return total / (n_chars * math.log(2)), math.exp(total / len(token_nats))",
     "return total / (n_chars * math.log(2)), math.exp(total / n_chars)", "forward:loss_report",
     ["perplexity per character", "per token"]),
    ("top-k keeps k+1 on a tie",
     "        keep = np.argsort(-z, kind=\"stable\")[:top_k]\n"
     "        z = np.where(np.isin(np.arange(len(z)), keep), z, -np.inf)",
     "        z = np.where(z >= np.sort(z)[-top_k], z, -np.inf)", "forward:sample_next",
     ["keeps k+1 ids when two logits tie"]),
    ("unnormalised sampling", "    p /= p.sum()\n", "", "forward:sample_next", ["unnormalised exp(logits)"]),
    ("temperature multiplies", "z = logits.astype(np.float64) / temperature",
     "z = logits.astype(np.float64) * temperature", "forward:sample_next", ["MULTIPLIED by the temperature"]),
]


@pytest.mark.parametrize("text, wrong, broken, words", [m[1:] for m in MISTAKES], ids=[m[0] for m in MISTAKES])
def test_a_classic_mistake_costs_exactly_its_check(tmp_path, text, wrong, broken, words):
    result = grade_source(tmp_path, LAB, with_mistake(LAB, text, wrong))
    assert_costs_exactly(result, LAB, {broken: words})


def test_grade_and_record_gives_the_grader_the_task_timeout(tmp_path, monkeypatch):
    # the door the CLI and the app share: with no timeout named, the task's own reaches grade_file
    from planner import implement
    from planner.curriculum import load_curriculum
    from planner.service import Service
    from planner.store import Store

    workspace = tmp_path / "ws"
    workspace.mkdir()
    (workspace / get_task(LAB).filename).write_text(scaffold_source(LAB))
    seen, real_grade_file = [], implement.grade_file

    def spy(*args, **kwargs):
        seen.append(kwargs["timeout_s"])
        return real_grade_file(*args, **kwargs)

    monkeypatch.setattr(implement, "grade_file", spy)
    with Store.open(tmp_path / "pathlab.sqlite") as store:
        learner = store.add_learner("Ada", target_role=None, hours_per_week=None)
        implement.grade_and_record(Service(store, load_curriculum()), learner, LAB, "llm-engineer", workspace)
        implement.grade_and_record(Service(store, load_curriculum()), learner, LAB, "llm-engineer", workspace,
                                   timeout_s=7.0)
    assert seen == [get_task(LAB).timeout_s, 7.0]
