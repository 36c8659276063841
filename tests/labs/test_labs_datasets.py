"""Datasets: pinned content hashes, a stored split that is really stratified, and correct transforms."""

from __future__ import annotations

import numpy as np
import pytest

from labs.datasets import (SPLIT_FRACTIONS, content_hash, load_digits, load_text, make_linear, make_spirals,
                           shift_images, shuffle_split, stratified_split)

DIGITS_SHA256 = "6cbea7c92473"  # prefix; change only together with data/datasets/digits.npz
TEXT_SHA256 = "86c4e6aa9db7"  # the whole of tiny Shakespeare


def test_digits_hash_is_pinned_and_covers_the_split():
    d = load_digits()
    assert d.sha256.startswith(DIGITS_SHA256)
    assert (len(d.train), len(d.val), len(d.test)) == (1083, 359, 355)


def test_stored_digit_split_is_stratified_and_disjoint():
    d = load_digits()
    counts = np.stack([np.bincount(s.y, minlength=10) for s in (d.train, d.val, d.test)])
    shares = counts / counts.sum(axis=0)
    assert np.all(np.abs(shares - np.array(SPLIT_FRACTIONS)[:, None]) < 0.01)
    rows = {r.tobytes() for s in (d.train, d.val, d.test) for r in s.x}
    assert len(rows) >= 1790  # (the source has a handful of duplicate images, no more)
    assert d.train.x.dtype == np.float32 and 0.0 <= d.train.x.min() and d.train.x.max() == 1.0


def test_stratified_split_keeps_class_shares_even_for_skewed_labels():
    labels = np.repeat([0, 1, 2], [500, 100, 20])
    codes = stratified_split(labels, (0.5, 0.3, 0.2), seed=3)
    for c, n in zip(range(3), (500, 100, 20)):
        got = np.bincount(codes[labels == c], minlength=3)
        assert np.all(np.abs(got - np.array([0.5, 0.3, 0.2]) * n) <= 1)
    assert not np.array_equal(codes, stratified_split(labels, (0.5, 0.3, 0.2), seed=4))
    with pytest.raises(ValueError, match="sum to 1"):
        stratified_split(labels, (0.5, 0.3), seed=0)


def test_loaded_arrays_are_read_only():
    with pytest.raises(ValueError):
        load_digits().train.x[0, 0] = 1.0


def test_shift_moves_ink_one_pixel_and_fills_with_zero():
    img = np.arange(64, dtype=np.float32).reshape(1, 64) + 1
    right = shift_images(img, 1, 0).reshape(8, 8)
    assert np.all(right[:, 0] == 0) and np.array_equal(right[:, 1:], img.reshape(8, 8)[:, :-1])
    up = shift_images(img.reshape(1, 1, 8, 8), 0, -1)[0, 0]
    assert np.all(up[-1] == 0) and np.array_equal(up[:-1], img.reshape(8, 8)[1:])


def test_text_vocab_is_the_whole_corpus_and_ids_round_trip():
    small, full = load_text(2000), load_text()
    assert full.sha256.startswith(TEXT_SHA256) and len(full.text) == 1_115_394
    assert small.chars == full.chars and small.vocab_size == 65
    assert len(small.train) == 1800 and len(small.val) == 200
    assert small.decode(np.concatenate([small.train, small.val])) == full.text[:2000]
    assert np.array_equal(small.encode("First"), full.train[:5])
    with pytest.raises(ValueError, match="not in the vocabulary"):
        small.encode("é")
    with pytest.raises(ValueError, match="n_chars"):
        load_text(10)


def test_synthetic_sets_are_seeded_and_hashed():
    a, b, c = make_linear(seed=1), make_linear(seed=1), make_linear(seed=2)
    assert a.sha256 == b.sha256 != c.sha256 and np.array_equal(a.x, b.x)
    s = make_spirals(n_per_arm=50, arms=4, seed=0)
    assert s.x.shape == (200, 2) and np.array_equal(np.bincount(s.y), [50] * 4)
    assert np.all(np.linalg.norm(s.x, axis=1) <= 1.0 + 1e-12)
    assert content_hash(s.x, s.y) == s.sha256 != content_hash(s.x, s.y[::-1])


def test_shuffle_split_partitions_the_indices():
    tr, val = shuffle_split(100, 0.3, seed=0)
    assert len(val) == 30 and sorted(np.concatenate([tr, val])) == list(range(100))


@pytest.mark.parametrize("n, fraction", [(30, 0.99), (30, 1e-9), (2, 0.5)])
def test_shuffle_split_leaves_both_parts_non_empty(n, fraction):
    tr, val = shuffle_split(n, fraction, seed=0)
    assert len(tr) >= 1 and len(val) >= 1 and len(tr) + len(val) == n


def test_a_validation_share_that_leaves_no_training_point_runs_and_fails_instead_of_crashing():
    from labs.catalog import get_lab

    lab = get_lab("capstone-data-scientist")
    finished = lab.train(lab.validate_params({"n_per_arm": "10", "val_fraction": "0.99", "steps": "2"}), 0,
                         lambda event: None)
    assert finished.status == "failed" and "held-out accuracy on 29 points" in finished.feedback
