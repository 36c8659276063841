"""CharRNN and TinyGPT: parameter formulas, whole-model gradients, overfitting a tiny batch, sampling."""

import numpy as np
import pytest

from labs.nn.gradcheck import gradcheck_model
from labs.nn.language_models import CharRNN, TinyGPT, sample_next
from labs.nn.losses import SequenceCrossEntropy
from labs.nn.optim import Adam

VOCAB = 7


def tiny_batch(rng, batch=2, steps=10):
    """Random tokens; rows start with different tokens, so every context has one right answer."""
    tokens = rng.integers(0, VOCAB, size=(batch, steps + 1))
    tokens[:, 0] = np.arange(batch)
    return tokens[:, :-1], tokens[:, 1:]


def make(kind, rng, dtype=np.float32, **kwargs):
    if kind == "gpt":
        return TinyGPT(VOCAB, 16, n_layer=2, n_head=2, dim=8, rng=rng, dtype=dtype, **kwargs)
    cell, _, embed = kind.partition("+")
    return CharRNN(VOCAB, 8, cell=cell, embedding_dim=5 if embed else None, rng=rng, dtype=dtype, **kwargs)


KINDS = ["rnn", "lstm", "gru", "lstm+embed", "gpt"]


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("embedding_dim", [None, 6])
def test_charrnn_parameter_count_matches_formula(cell, embedding_dim):
    model = CharRNN(11, 9, cell=cell, embedding_dim=embedding_dim, rng=np.random.default_rng(0))
    gates = {"rnn": 1, "lstm": 4, "gru": 3}[cell]
    d = embedding_dim or 11
    recurrent = gates * 9 * (d + 9 + 1) + (gates * 9 if cell == "gru" else 0)
    expected = (11 * embedding_dim if embedding_dim else 0) + recurrent + 9 * 11 + 11
    assert model.num_parameters() == expected == CharRNN.count_parameters(11, 9, cell, embedding_dim)


@pytest.mark.parametrize("n_layer, dim", [(1, 8), (3, 16)])
def test_tinygpt_parameter_count_matches_formula(n_layer, dim):
    model = TinyGPT(11, 12, n_layer=n_layer, n_head=4, dim=dim, rng=np.random.default_rng(0))
    expected = 11 * dim + 12 * dim + n_layer * (12 * dim * dim + 13 * dim) + 2 * dim + dim * 11 + 11
    assert model.num_parameters() == expected == TinyGPT.count_parameters(11, 12, n_layer, dim)


@pytest.mark.parametrize("kind", KINDS)
def test_whole_model_gradients_match_finite_differences(kind):
    """Token ids are not perturbed; every parameter tensor is, at 20 sampled entries each."""
    rng = np.random.default_rng(7)
    model = make(kind, rng)
    for p in model.parameters():
        p.data = p.data + (rng.standard_normal(p.shape) * 0.3).astype(p.data.dtype)
    idx, targets = tiny_batch(rng, steps=6)
    report = gradcheck_model(model, SequenceCrossEntropy(), idx, targets, rng=rng, max_entries=20)
    assert report.ok(1e-7, 1e-5), str(report)


@pytest.mark.parametrize("kind, steps, lr", [
    ("rnn", 200, 0.03), ("lstm", 200, 0.03), ("gru", 200, 0.03), ("gpt", 300, 0.01),
])
def test_models_overfit_a_tiny_batch(kind, steps, lr):
    rng = np.random.default_rng(8)
    model = make(kind, rng)
    idx, targets = tiny_batch(np.random.default_rng(10))
    loss, opt = SequenceCrossEntropy(), Adam(model.parameters(), lr=lr)
    first = loss(model.forward(idx), targets)
    for _ in range(steps):
        opt.zero_grad()
        value = loss(model.forward(idx), targets)
        model.backward(loss.backward())
        opt.step()
    assert first > 1.5 and value < 0.05, (first, value)


@pytest.mark.parametrize("kind", KINDS)
def test_generate_continues_the_prompt_reproducibly(kind):
    model = make(kind, np.random.default_rng(9))
    prompt = np.array([[1, 2, 3], [4, 5, 6]])
    a = model.generate(prompt, 20, np.random.default_rng(1), temperature=1.0)
    b = model.generate(prompt, 20, np.random.default_rng(1), temperature=1.0)
    assert a.shape == (2, 23) and np.array_equal(a[:, :3], prompt) and np.array_equal(a, b)
    assert a.min() >= 0 and a.max() < VOCAB
    greedy = model.generate(prompt, 1, np.random.default_rng(1), temperature=0)
    assert greedy[0, 3] == model.forward(prompt)[0, -1].argmax()


def test_sampling_follows_the_distribution_and_temperature():
    rng = np.random.default_rng(0)
    logits = np.tile(np.log([0.7, 0.2, 0.1]), (20000, 1))
    freq = np.bincount(sample_next(logits, rng), minlength=3) / 20000
    np.testing.assert_allclose(freq, [0.7, 0.2, 0.1], atol=0.015)
    cold = np.bincount(sample_next(logits, rng, temperature=0.25), minlength=3) / 20000
    assert cold[0] > 0.95


def test_tinygpt_generation_beyond_its_context_and_bad_inputs():
    model = make("gpt", np.random.default_rng(0))
    out = model.generate(np.zeros((1, 14), dtype=int), 5, np.random.default_rng(0))
    assert out.shape == (1, 19)
    with pytest.raises(ValueError, match="context 16"):
        model.forward(np.zeros((1, 17), dtype=int))
    with pytest.raises(ValueError, match="token index 7"):
        model.forward(np.array([[7]]))
    with pytest.raises(ValueError, match="prompt"):
        model.generate(np.zeros((1, 0), dtype=int), 3, np.random.default_rng(0))


@pytest.mark.parametrize("kind", KINDS)
def test_float32_stays_float32_end_to_end(kind):
    """A stray float64 (e.g. a NumPy scalar) would silently double the cost of every later layer."""
    model = make(kind, np.random.default_rng(11))
    idx, targets = tiny_batch(np.random.default_rng(12))
    loss = SequenceCrossEntropy()
    logits = model.forward(idx)
    loss(logits, targets)
    model.backward(loss.backward())
    assert logits.dtype == np.float32
    assert all(p.data.dtype == p.grad.dtype == np.float32 for p in model.parameters())
