"""The LLM-engineer capstone: a modern LM on BPE tokens, graded in bits per character against a target and a
time budget, writing through its KV cache. Runs here use a 50 KB slice of the text (N_CHARS) and a tiny
model, so they take seconds; the full recipe's figures are in benchmarks/CALIBRATION.md."""

from __future__ import annotations

import math

import numpy as np
import pytest

from labs.catalog import ParamError, get_lab
from labs.catalog import capstone_llm_engineer as capstone
from labs.events import Progress, Sample, Started
from labs.nn.modern import ModernLM, default_ffn_dim

LAB = get_lab("capstone-llm-engineer")
TINY = {"layers": 1, "width": 16, "heads": 2, "context": 16, "steps": 30, "lr": 0.01, "warmup": 5}


@pytest.fixture(autouse=True)
def small_text(monkeypatch):
    monkeypatch.setattr(capstone, "N_CHARS", 50_000)


def run(**overrides):
    events = []
    finished = LAB.train(LAB.validate_params({**TINY, **overrides}), 0, events.append)
    return events, finished


def check(finished, check_id):
    return next(c for c in finished.grade.checks if c.id == check_id)


def test_a_tiny_run_reports_every_check_in_bits_per_character_and_writes_through_its_cache():
    events, finished = run(weight_decay=0.1, tie_weights=True)
    assert isinstance(events[0], Started) and events[0].lab_id == LAB.id
    assert "train_loss" in {name for e in events if isinstance(e, Progress) for name in e.metrics}
    assert any(isinstance(e, Sample) and e.text for e in events)
    assert {c.id for c in finished.grade.checks} == {c.id for c in LAB.checks}
    m = finished.metrics
    assert m["parameters"] == ModernLM.count_parameters(capstone.VOCAB, 1, 16, default_ffn_dim(16), tie_weights=True)
    assert m["tokens_seen"] == 30 * capstone.BATCH * 16 and m["steps_done"] == 30
    assert m["val_loss"] == pytest.approx(m["bits_per_char"] * math.log(2))  # per character, like the char labs
    assert m["val_loss_per_token"] > m["val_loss"]  # a token holds more than one character
    assert check(finished, "kv-cache").status == "passed" and m["max_logit_error"] <= capstone.CACHE_TOL
    assert finished.status == "failed" and finished.diagnosis == "lr-too-small"  # 30 steps reach nothing


def test_the_cache_check_compares_every_position_with_the_full_pass():
    model = ModernLM(40, 12, n_layer=2, n_head=2, dim=16, rng=np.random.default_rng(0), dtype=np.float64)
    ids = np.random.default_rng(1).integers(0, 40, size=(1, 12))
    assert capstone.cached_logit_error(model, ids) < 1e-10
    model.forward_cached = lambda x, cache: model.forward(x)  # a "cache" that forgets the past
    assert capstone.cached_logit_error(model, ids) > 1e-3


def test_a_run_cut_short_by_the_budget_loses_the_budget_check(monkeypatch):
    monkeypatch.setattr(capstone, "BUDGET_S", 1e-9)
    _, finished = run(steps=500)
    assert check(finished, "time-budget").status == "failed"
    assert finished.metrics["steps_done"] == 1 and finished.diagnosis == "over-budget"


def test_heads_that_do_not_split_the_width_evenly_are_refused_by_name():
    with pytest.raises(ParamError, match="heads"):
        LAB.validate_params({"width": 30, "heads": 4})
    with pytest.raises(ParamError, match="even width"):
        LAB.validate_params({"width": 48, "heads": 16})  # heads of width 3: RoPE turns pairs


def test_a_diverging_learning_rate_fails_with_the_divergence_feedback():
    _, finished = run(lr=10.0, warmup=0)
    assert finished.status == "failed" and finished.diagnosis == "lr-too-large"
    assert "diverged" in finished.feedback and "lr=10" in finished.feedback


def test_residual_dropout_for_tinygpts_stored_by_the_earlier_capstone_acts_in_training_only():
    from labs.nn.language_models import TinyGPT

    rng = np.random.default_rng(0)
    model = TinyGPT(65, 8, n_layer=2, n_head=2, dim=16, rng=rng)
    x = rng.integers(0, 65, size=(2, 8))
    plain = model.eval().forward(x)
    capstone.add_residual_dropout(model, 0.5, rng)
    np.testing.assert_array_equal(model.eval().forward(x), plain)
    assert not np.allclose(model.train().forward(x), plain)
