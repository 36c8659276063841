"""The LLM-engineer capstone: a tiny GPT graded against Kneser-Ney, a strict target and a time budget."""

from __future__ import annotations

import numpy as np
import pytest

from labs.catalog import ParamError, get_lab
from labs.catalog import capstone_llm_engineer as capstone
from labs.events import Progress, Sample, Started
from labs.nn.language_models import TinyGPT

LAB = get_lab("capstone-llm-engineer")
TINY = {"layers": 1, "width": 16, "heads": 2, "context": 16, "steps": 30, "lr": 0.01, "warmup": 5}


def run(**overrides):
    events = []
    finished = LAB.train(LAB.validate_params({**TINY, **overrides}), 0, events.append)
    return events, finished


def check(finished, check_id):
    return next(c for c in finished.grade.checks if c.id == check_id)


def test_a_tiny_run_reports_every_check_the_losses_and_what_it_trained():
    events, finished = run(dropout=0.1, weight_decay=0.1)
    assert isinstance(events[0], Started) and events[0].lab_id == LAB.id
    names = {name for e in events if isinstance(e, Progress) for name in e.metrics}
    assert {"train_loss", "val_loss"} <= names
    assert any(isinstance(e, Sample) and len(e.text) == 200 for e in events)
    assert {c.id for c in finished.grade.checks} == {c.id for c in LAB.checks}
    assert all(c.status != "skipped" for c in finished.grade.checks)
    m = finished.metrics
    assert m["parameters"] == TinyGPT.count_parameters(65, 16, 1, 16)  # dropout adds no parameters
    assert m["tokens_seen"] == 30 * 16 * 16 and m["steps_done"] == 30
    assert m["kneser_ney_val_loss"] < m["add_k_val_loss"]
    assert finished.status == "failed"  # 30 steps are nowhere near the strict target
    assert f"{m['kneser_ney_val_loss']:.3f}" in check(finished, "beats-kneser-ney").message


def test_residual_dropout_acts_in_training_only():
    rng = np.random.default_rng(0)
    model = TinyGPT(65, 8, n_layer=2, n_head=2, dim=16, rng=rng)
    x = rng.integers(0, 65, size=(2, 8))
    plain = model.eval().forward(x)
    capstone.add_residual_dropout(model, 0.5, rng)
    np.testing.assert_array_equal(model.eval().forward(x), plain)
    assert not np.allclose(model.train().forward(x), plain)


def test_a_run_cut_short_by_the_budget_loses_the_budget_check(monkeypatch):
    monkeypatch.setattr(capstone, "BUDGET_S", 1e-9)
    _, finished = run(steps=500)
    assert check(finished, "time-budget").status == "failed"
    assert finished.metrics["steps_done"] == 1
    assert "Stopped after 1 of 500 steps" in finished.feedback


def test_heads_that_do_not_divide_the_width_are_refused_by_name():
    with pytest.raises(ParamError, match="heads"):
        LAB.validate_params({"width": 30, "heads": 4})
    with pytest.raises(ParamError, match="dropout"):
        LAB.validate_params({"dropout": 0.95})


def test_a_diverging_learning_rate_fails_with_the_divergence_feedback():
    _, finished = run(lr=10.0, warmup=0)
    assert finished.status == "failed"
    assert "diverged" in finished.feedback and "lr=10" in finished.feedback
