"""labs.nn.decoding: each filter exact on fixed logits with ties, seeded sampling reproducible, and the
KV-cached forward equal to the full forward at every position (float64 <= 1e-10, float32 <= 1e-5)."""

from __future__ import annotations

import numpy as np
import pytest

from labs.nn.decoding import apply_temperature, generate, greedy, sample, top_k_filter, top_p_filter
from labs.nn.modern import ModernLM

NEG = -np.inf


def kept(filtered: np.ndarray) -> list[list[int]]:
    return [np.flatnonzero(np.isfinite(row)).tolist() for row in np.atleast_2d(filtered)]


# -- filters on fixed logits ----------------------------------------------------------------------------
def test_greedy_takes_the_lowest_id_on_a_tie():
    assert greedy(np.array([[1.0, 3.0, 3.0, 0.0], [5.0, 5.0, 5.0, 5.0]])).tolist() == [1, 0]


def test_top_k_keeps_the_k_largest_and_every_tie_at_the_boundary():
    logits = np.array([[1.0, 4.0, 2.0, 3.0, 0.0], [1.0, 2.0, 2.0, 2.0, 3.0]])
    assert kept(top_k_filter(logits, 2)) == [[1, 3], [1, 2, 3, 4]]
    assert kept(top_k_filter(logits, 1)) == [[1], [4]]
    assert kept(top_k_filter(logits, 5)) == kept(top_k_filter(logits, 50)) == [[0, 1, 2, 3, 4]] * 2
    np.testing.assert_array_equal(top_k_filter(logits, 2)[0, [1, 3]], [4.0, 3.0])  # kept values unchanged
    with pytest.raises(ValueError, match="top_k"):
        top_k_filter(logits, 0)


def test_top_p_keeps_the_smallest_likeliest_set_reaching_p():
    probs = np.array([0.5, 0.05, 0.3, 0.15])
    logits = np.log(probs)[None]
    assert kept(top_p_filter(logits, 0.4)) == [[0]]            # 0.5 alone reaches 0.4
    assert kept(top_p_filter(logits, 0.6)) == [[0, 2]]         # 0.5 < 0.6, then 0.3
    assert kept(top_p_filter(logits, 0.9)) == [[0, 2, 3]]      # 0.8 < 0.9, then 0.15
    assert kept(top_p_filter(logits, 0.99)) == [[0, 1, 2, 3]]
    assert kept(top_p_filter(logits, 1.0)) == [[0, 1, 2, 3]]
    assert kept(top_p_filter(logits, 1e-9)) == [[0]]           # the likeliest token always stays


def test_top_p_keeps_or_drops_tied_tokens_together():
    # probabilities 0.4, 0.2, 0.2, 0.2: after the first, the three ties are all needed or none
    logits = np.log(np.array([[0.2, 0.4, 0.2, 0.2], [0.25, 0.25, 0.25, 0.25]]))
    assert kept(top_p_filter(logits, 0.3)) == [[1], [0, 1, 2, 3]]
    assert kept(top_p_filter(logits, 0.5)) == [[0, 1, 2, 3], [0, 1, 2, 3]]
    # the order of tied tokens in the input does not change the result
    assert kept(top_p_filter(logits[:, ::-1], 0.5)) == [[0, 1, 2, 3], [0, 1, 2, 3]]


def test_temperature_scales_the_logits():
    np.testing.assert_allclose(apply_temperature(np.array([[2.0, 4.0]]), 2.0), [[1.0, 2.0]])
    with pytest.raises(ValueError, match="temperature"):
        apply_temperature(np.array([[1.0]]), 0.0)


# -- sampling ---------------------------------------------------------------------------------------------
def test_seeded_sampling_is_reproducible_and_temperature_zero_is_greedy():
    logits = np.random.default_rng(0).standard_normal((4, 30))
    a = [sample(logits, np.random.default_rng(7), temperature=0.8, top_k=10, top_p=0.9) for _ in range(3)]
    b = [sample(logits, np.random.default_rng(7), temperature=0.8, top_k=10, top_p=0.9) for _ in range(3)]
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    np.testing.assert_array_equal(sample(logits, np.random.default_rng(1), temperature=0), logits.argmax(-1))


def test_samples_follow_the_filtered_distribution_and_never_leave_it():
    logits = np.log(np.array([[0.5, 0.05, 0.3, 0.15]]))
    rng = np.random.default_rng(3)
    draws = np.array([sample(np.repeat(logits, 1000, axis=0), rng, top_p=0.6) for _ in range(4)]).ravel()
    assert set(draws.tolist()) == {0, 2}
    assert np.mean(draws == 0) == pytest.approx(0.5 / 0.8, abs=0.02)  # renormalised over {0, 2}
    draws = np.array([sample(np.repeat(logits, 1000, axis=0), rng, top_k=1) for _ in range(2)]).ravel()
    assert set(draws.tolist()) == {0}
    # a token of probability zero is never drawn, even by the extreme draws
    edge = np.array([[0.0, NEG, 0.0, NEG]])
    assert set(sample(np.repeat(edge, 5000, axis=0), rng).tolist()) == {0, 2}


# -- the KV cache ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype,tolerance", [(np.float64, 1e-10), (np.float32, 1e-5)])
@pytest.mark.parametrize("tie", [False, True])
def test_cached_logits_equal_the_full_forward_at_every_position(dtype, tolerance, tie):
    model = ModernLM(40, 24, n_layer=3, n_head=2, dim=16, tie_weights=tie, rng=np.random.default_rng(0), dtype=dtype)
    for name, p in model.named_parameters():  # weights of order one, so an error would be visible
        if "norm" not in name:
            p.data = (np.random.default_rng(len(name)).standard_normal(p.shape) * 0.3).astype(dtype)
    idx = np.random.default_rng(1).integers(0, 40, (3, 20))
    full = model.forward(idx)
    cache = model.new_cache(3)
    pieces, start = [], 0
    for size in (5, 1, 1, 3, 1, 9):  # a prompt, single tokens and chunks: positions continue
        pieces.append(model.forward_cached(idx[:, start:start + size], cache))
        start += size
    assert cache.length == 20
    cached = np.concatenate(pieces, axis=1)
    assert cached.dtype == dtype
    assert float(np.abs(cached - full).max()) <= tolerance * max(1.0, float(np.abs(full).max()))


def test_the_cache_refuses_tokens_past_its_capacity():
    model = ModernLM(10, 8, n_layer=1, n_head=2, dim=8, rng=np.random.default_rng(0))
    cache = model.new_cache(1, 4)
    model.forward_cached(np.zeros((1, 4), dtype=np.int64), cache)
    with pytest.raises(ValueError, match="holds 4 tokens"):
        model.forward_cached(np.zeros((1, 1), dtype=np.int64), cache)


def test_cached_and_recomputed_generation_give_the_same_tokens():
    model = ModernLM(30, 40, n_layer=2, n_head=2, dim=16, rng=np.random.default_rng(0), dtype=np.float64)
    for p in model.parameters():
        p.data = np.random.default_rng(p.data.size).standard_normal(p.shape) * 0.5
    prompt = np.array([[1, 2, 3], [4, 5, 6]])
    options = dict(temperature=0.9, top_k=8, top_p=0.95)
    cached = generate(model, prompt, 25, np.random.default_rng(5), use_cache=True, **options)
    recomputed = generate(model, prompt, 25, np.random.default_rng(5), use_cache=False, **options)
    np.testing.assert_array_equal(cached, recomputed)
    np.testing.assert_array_equal(cached[:, :3], prompt)
    np.testing.assert_array_equal(model.generate(prompt, 25, np.random.default_rng(5), **options), cached)
    with pytest.raises(ValueError, match="context 40"):
        generate(model, prompt, 38, np.random.default_rng(5), use_cache=True)
    assert generate(model, prompt, 45, np.random.default_rng(5)).shape == (2, 48)  # slides the window
