"""The deep-nets and optimisers experiments (issue 17): the layer snapshots a deep-nets run emits (decoded
as they are stored, measured without disturbing training, a vanishing gradient visible in them), and the
two labs' defaults failing for the reason their diagnosis names while a good setting passes. The
calibration over ten seeds is benchmarks/CALIBRATION.md's."""

from __future__ import annotations

import numpy as np

from labs.catalog import get_lab
from labs.catalog._layerstats import PREFIX, LayerSnapshot, decode, is_layer_stats, snapshot
from labs.datasets import load_digits
from labs.events import Sample
from labs.nn import deep_mlp


def _probe():
    data = load_digits()
    return data.val.x[:64], data.val.y[:64]


def test_a_snapshot_leaves_training_untouched_and_shows_the_plain_sigmoid_stack_vanish():
    x, y = _probe()
    bn = deep_mlp(20, 16, rng=np.random.default_rng(0), activation="sigmoid", norm="batch")
    before = {k: v.copy() for k, v in bn.named_buffers()}
    snap = snapshot(bn, x, y, epoch=0)
    assert all(np.array_equal(before[k], v) for k, v in bn.named_buffers())  # running statistics restored
    assert all(not p.grad.any() for p in bn.parameters())  # the probe's gradients are not left for a step
    assert [layer.name for layer in snap.layers][:2] == ["L1 sigmoid", "L2 sigmoid"] and len(snap.layers) == 19
    plain = snapshot(deep_mlp(20, 16, rng=np.random.default_rng(0), activation="sigmoid"), x, y, epoch=0)
    assert plain.layers[0].grad_std < 1e-6 * plain.layers[-1].grad_std  # vanished on the way to the input
    assert snap.layers[0].grad_std > 1e-3 * snap.layers[-1].grad_std  # BatchNorm keeps it alive
    assert all(sum(layer.act) == 64 * 16 for layer in plain.layers)  # every entry counted, outliers included


def test_snapshots_travel_as_sample_text_and_only_they_decode():
    x, y = _probe()
    snap = snapshot(deep_mlp(4, 8, rng=np.random.default_rng(1), activation="relu", residual=True), x, y, epoch=3)
    text = snap.encode()
    assert text.startswith(PREFIX) and is_layer_stats(text)
    assert decode(text) == snap and isinstance(decode(text), LayerSnapshot)
    assert [layer.name for layer in snap.layers] == ["L1 relu", "L2 block"]  # a block counts after its sum
    assert decode("ROMEO: what light") is None and decode(PREFIX + "{broken") is None
    assert "after epoch 3: gradient std L1 relu" in snap.summary()


def test_deep_nets_defaults_fail_as_the_plain_stack_and_emit_a_snapshot_per_epoch():
    lab, events = get_lab("deep-nets"), []
    finished = lab.train(lab.validate_params({"width": 16, "epochs": 2}), 0, events.append)
    assert finished.status == "failed" and finished.diagnosis == "vanishing-gradient"
    beats = next(c for c in finished.grade.checks if c.id == "beats_plain")
    assert beats.status == "failed" and "plain stack itself" in beats.message
    snaps = [decode(e.text) for e in events if isinstance(e, Sample)]
    assert [s.epoch for s in snaps] == [0, 1, 2] and all(len(s.layers) == 19 for s in snaps)


def test_optimisers_defaults_are_too_timid_and_a_good_setting_beats_paired_sgd():
    lab = get_lab("optimisers")
    naive = lab.train(lab.default_params(), 0, lambda e: None)
    assert naive.status == "failed" and naive.diagnosis == "rate-too-small"
    good = lab.train(lab.good_params(), 0, lambda e: None)
    assert good.status == "passed", good.feedback
    assert good.metrics["gain_over_sgd"] >= 0.03 and good.metrics["sgd_test_accuracy"] == naive.metrics["sgd_test_accuracy"]
