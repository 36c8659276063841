"""The language labs (rnn-chars, transformer-chars, scaling-laws) and what they are built from:
n-gram baselines, the power-law fit, evaluation, the time-aware training loop. Tiny, fast settings."""

import numpy as np
import pytest

from labs.catalog import ParamError, get_lab
from labs.catalog._language import LoopConfig, evaluate, random_windows, train_language_model
from labs.catalog._ngram import AddK, KneserNey
from labs.catalog.base import RunContext
from labs.catalog.scaling_laws import fit_power_law
from labs.datasets import load_text
from labs.events import Progress, Sample, Started
from labs.nn.language_models import CharRNN


# -- n-gram baselines ------------------------------------------------------------------------------
@pytest.mark.parametrize("model_cls", [AddK, KneserNey])
def test_ngram_probabilities_sum_to_one_for_seen_and_unseen_histories(model_cls):
    rng = np.random.default_rng(0)
    train = rng.integers(0, 6, size=400) % np.array([6, 3])[rng.integers(0, 2, size=400)]  # skewed counts
    model = model_cls(train, 3, 7)  # id 6 never occurs, so some histories are unseen
    for history in ([train[10], train[11]], [6, 6], [0, 6]):
        streams = np.array([[*history, w] for w in range(7)])
        total = sum(np.exp(model.log_prob(s, 2))[0] for s in streams)
        assert total == pytest.approx(1.0, abs=1e-12)


def test_kneser_ney_learns_a_deterministic_text_and_beats_add_k_on_shakespeare():
    periodic = np.tile(np.arange(5), 60)
    assert KneserNey(periodic[:200], 3, 5).loss(periodic[200:], 2) < 0.05
    corpus = load_text(20_000)
    stream = np.concatenate([corpus.train[-3:], corpus.val])
    kn = KneserNey(corpus.train, 4, corpus.vocab_size).loss(stream, 3)
    add_k = AddK(corpus.train, 4, corpus.vocab_size).loss(stream, 3)
    assert kn < add_k < np.log(corpus.vocab_size)


# -- the power-law fit -----------------------------------------------------------------------------
def test_power_law_fit_recovers_the_law_that_made_the_data():
    rng = np.random.default_rng(1)
    a, alpha, c = rng.uniform(2, 6), rng.uniform(0.05, 0.5), rng.uniform(0.5, 1.0)
    n = np.array([1e3, 4e3, 2e4, 1e5, 5e5])
    plain = fit_power_law(n, a * n**-alpha)
    assert plain.alpha == pytest.approx(alpha, rel=1e-9) and plain.a == pytest.approx(a, rel=1e-9)
    assert plain.r2 == pytest.approx(1.0)
    with_offset = fit_power_law(n, a * n**-alpha + c, offset=True)
    assert with_offset.c == pytest.approx(c, abs=0.01) and with_offset.alpha == pytest.approx(alpha, rel=0.1)
    assert fit_power_law(n, a * n**-alpha + c).r2 < with_offset.r2  # the offset explains the bend
    flat = fit_power_law(n, 2.0 + rng.normal(0, 0.01, size=5))
    assert flat.r2 < 0.9


# -- training helpers ------------------------------------------------------------------------------
def test_windows_are_next_character_pairs():
    ids = np.arange(100)
    x, y = random_windows(ids, 4, 8, np.random.default_rng(0))
    assert x.shape == y.shape == (4, 8)
    np.testing.assert_array_equal(y, x + 1)


def test_evaluate_carries_the_recurrent_state_across_chunks():
    rng = np.random.default_rng(2)
    model = CharRNN(5, 6, cell="gru", rng=rng, dtype=np.float64)
    ids = rng.integers(0, 5, size=16 * 21)
    chunked = evaluate(model, ids, seq_len=4)
    streams = ids.reshape(16, 21)
    logits = model.forward(streams[:, :-1])
    log_p = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    whole = -np.take_along_axis(log_p, streams[:, 1:, None], axis=-1).mean()
    assert chunked == pytest.approx(whole, rel=1e-12)


def test_training_stops_when_its_time_budget_is_spent():
    lab = get_lab("rnn-chars")
    events = []
    ctx = RunContext(lab, lab.default_params(), 0, events.append)
    model = CharRNN(65, 8, cell="rnn", rng=ctx.rng)
    cfg = LoopConfig(steps=1000, batch=2, seq_len=8, lr=0.01, warmup=0, eval_every=500, time_budget_s=1e-9)
    result = train_language_model(model, load_text(5_000), cfg, ctx)
    assert result.stopped_early and result.steps_done == 1
    assert [type(e) for e in events] == [Progress, Progress, Sample]


# -- the labs, end to end --------------------------------------------------------------------------
TINY = {
    "rnn-chars": {"cell": "gru", "hidden": 24, "embedding": 8, "seq_len": 16, "steps": 60, "lr": 0.01},
    "transformer-chars": {"layers": 1, "width": 16, "heads": 2, "context": 16, "steps": 30, "lr": 0.01},
    "scaling-laws": {"widths": "8,12,16", "layers": 1, "steps": 15, "lr": 0.01},
}


def run(lab_id, **overrides):
    lab = get_lab(lab_id)
    events = []
    finished = lab.train(lab.validate_params({**TINY[lab_id], **overrides}), 0, events.append)
    return lab, events, finished


@pytest.mark.parametrize("lab_id", sorted(TINY))
def test_lab_runs_reports_and_grades_every_check(lab_id):
    lab, events, finished = run(lab_id)
    assert isinstance(events[0], Started) and events[0].lab_id == lab_id
    names = {name for e in events if isinstance(e, Progress) for name in e.metrics}
    assert {"train_loss", "val_loss"} <= names
    assert any(isinstance(e, Sample) and len(e.text) == 200 for e in events)
    assert {c.id for c in finished.grade.checks} == {c.id for c in lab.checks}
    assert all(c.status != "skipped" for c in finished.grade.checks)
    assert 0 < finished.metrics["val_loss"] < np.log(65) + 0.5


@pytest.mark.parametrize("lab_id", sorted(TINY))
def test_too_few_steps_fail(lab_id):
    _, _, finished = run(lab_id, steps=2)
    assert finished.status == "failed" and finished.grade.score < finished.grade.pass_mark, finished.grade


def test_a_huge_learning_rate_fails_with_advice():
    _, _, finished = run("rnn-chars", lr=10.0)
    assert finished.status == "failed"
    assert "lr" in finished.feedback or "learning rate" in finished.feedback


def test_scaling_lab_reports_the_fitted_exponent():
    _, _, finished = run("scaling-laws")
    assert {"alpha", "a", "r2", "val_loss_width_8", "val_loss_width_16"} <= set(finished.metrics)
    exponent = next(c for c in finished.grade.checks if c.id == "exponent")
    assert f"{finished.metrics['alpha']:.3f}" in exponent.message


@pytest.mark.parametrize("lab_id, raw, named", [
    ("transformer-chars", {"width": 30, "heads": 4}, "heads"),
    ("scaling-laws", {"widths": "16,8,32"}, "widths"),
    ("scaling-laws", {"widths": "16,32"}, "widths"),
    ("scaling-laws", {"widths": "a,b,c"}, "widths"),
    ("rnn-chars", {"cell": "transformer"}, "cell"),
])
def test_bad_parameters_are_refused_with_the_key_named(lab_id, raw, named):
    with pytest.raises(ParamError, match=named):
        get_lab(lab_id).validate_params(raw)
