"""Training utilities: checkpoints that resume bit-identically, optimiser state_dict round trips,
get_batch (in memory and on a memmap), and the cosine schedule with linear warm-up from 0."""

from __future__ import annotations

import io

import numpy as np
import pytest

from labs.nn import SGD, Adam, AdamW, Parameter, SequenceCrossEntropy, WarmupCosine, clip_grad_norm
from labs.nn.checkpoint import CheckpointError, load_checkpoint, read_checkpoint_info, save_checkpoint
from labs.nn.data import get_batch, open_tokens
from labs.nn.modern import ModernLM
from labs.nn.optim import cosine_with_warmup

TOKENS = np.random.default_rng(0).integers(0, 37, 5000)
SCHEDULE = WarmupCosine(lr=3e-3, warmup_steps=3, total_steps=12, min_lr=3e-4)


def build(seed=0, tie=False):
    return ModernLM(37, 16, n_layer=2, n_head=2, dim=16, tie_weights=tie, rng=np.random.default_rng(seed))


def train(model, opt, rng, start, steps):
    loss_fn = SequenceCrossEntropy()
    losses = []
    for step in range(start, start + steps):
        opt.lr = SCHEDULE.lr_at(step)
        x, y = get_batch(TOKENS, 4, 16, rng)
        opt.zero_grad()
        losses.append(loss_fn.forward(model.forward(x), y))
        model.backward(loss_fn.backward())
        clip_grad_norm(model.parameters(), 1.0)
        opt.step()
    return losses


def make_optimizer(kind, params):
    return {"adamw": lambda: AdamW(params, lr=1e-3, weight_decay=0.1),
            "adam": lambda: Adam(params, lr=1e-3),
            "sgd": lambda: SGD(params, lr=1e-2, momentum=0.9, weight_decay=1e-4)}[kind]()


# -- resuming -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["adamw", "adam", "sgd"])
@pytest.mark.parametrize("to_file", [False, True], ids=["path", "open-file"])
def test_resuming_from_a_checkpoint_gives_bit_identical_next_steps(tmp_path, kind, to_file):
    model, rng = build(0, tie=kind == "adam"), np.random.default_rng(42)
    opt = make_optimizer(kind, model.parameters())
    train(model, opt, rng, 0, 4)
    target = tmp_path / "run.ckpt"
    if to_file:
        with open(target, "wb") as f:
            save_checkpoint(f, model, opt, 4, rng=rng, config={"arch": "modern"})
    else:
        save_checkpoint(target, model, opt, 4, rng=rng, config={"arch": "modern"})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.ckpt"]  # the exact name, no temporary left
    expected_losses = train(model, opt, rng, 4, 4)
    expected = model.state_dict()

    resumed, resumed_rng = build(seed=99, tie=kind == "adam"), np.random.default_rng(0)  # other weights, other rng
    resumed_opt = make_optimizer(kind, resumed.parameters())
    resumed_opt.lr = 0.5
    if to_file:
        with open(target, "rb") as f:
            info = load_checkpoint(f, resumed, resumed_opt, rng=resumed_rng)
    else:
        info = load_checkpoint(target, resumed, resumed_opt, rng=resumed_rng)
    assert info.iteration == 4 and info.config == {"arch": "modern"} and info.has_optimizer
    assert train(resumed, resumed_opt, resumed_rng, info.iteration, 4) == expected_losses
    for name, value in resumed.state_dict().items():
        np.testing.assert_array_equal(value, expected[name], err_msg=name)


def test_the_resume_test_would_see_a_lost_optimiser_state(tmp_path):
    """The control for the test above: weights alone (a fresh AdamW, moments at zero) do not resume."""
    model, rng = build(0), np.random.default_rng(42)
    opt = AdamW(model.parameters(), lr=1e-3, weight_decay=0.1)
    train(model, opt, rng, 0, 4)
    save_checkpoint(tmp_path / "run.ckpt", model, opt, 4, rng=rng)
    expected = train(model, opt, rng, 4, 2)
    resumed, resumed_rng = build(1), np.random.default_rng(0)
    load_checkpoint(tmp_path / "run.ckpt", resumed, rng=resumed_rng)
    assert train(resumed, AdamW(resumed.parameters(), lr=1e-3, weight_decay=0.1), resumed_rng, 4, 2) != expected


def test_a_checkpoint_in_memory_and_without_an_optimiser():
    model = build(0)
    buffer = io.BytesIO()
    save_checkpoint(buffer, model, iteration=7)
    buffer.seek(0)
    assert read_checkpoint_info(buffer).iteration == 7
    other = build(5)
    buffer.seek(0)
    load_checkpoint(buffer, other)
    for name, value in other.state_dict().items():
        np.testing.assert_array_equal(value, model.state_dict()[name])
    buffer.seek(0)
    with pytest.raises(CheckpointError, match="no optimiser state"):
        load_checkpoint(buffer, other, AdamW(other.parameters()))


def test_a_bad_or_mismatched_checkpoint_is_named_and_changes_nothing(tmp_path):
    junk = tmp_path / "junk.ckpt"
    junk.write_bytes(b"not a zip file at all")
    with pytest.raises(CheckpointError, match="junk.ckpt"):
        load_checkpoint(junk, build(0))
    foreign = tmp_path / "foreign.npz"
    np.savez(foreign, a=np.zeros(3))
    with pytest.raises(CheckpointError, match="foreign.npz: not a checkpoint"):
        load_checkpoint(foreign, build(0))
    with pytest.raises(CheckpointError, match="missing.ckpt"):
        load_checkpoint(tmp_path / "missing.ckpt", build(0))

    path = tmp_path / "small.ckpt"
    small = ModernLM(37, 16, n_layer=1, n_head=2, dim=16, rng=np.random.default_rng(0))
    save_checkpoint(path, small, AdamW(small.parameters()))
    model = build(0)
    before = model.state_dict()
    with pytest.raises(CheckpointError, match="does not match"):
        load_checkpoint(path, model)
    wider = ModernLM(37, 16, n_layer=1, n_head=2, dim=16, ffn_dim=40, rng=np.random.default_rng(0))
    with pytest.raises(CheckpointError, match="shape"):
        load_checkpoint(path, wider)
    same = ModernLM(37, 16, n_layer=1, n_head=2, dim=16, rng=np.random.default_rng(3))
    with pytest.raises(CheckpointError, match="for AdamW, not SGD"):
        load_checkpoint(path, same, SGD(same.parameters()))
    for name, value in model.state_dict().items():
        np.testing.assert_array_equal(value, before[name])


# -- optimiser state ------------------------------------------------------------------------------------
def test_optimiser_state_round_trips_and_a_mismatch_is_refused():
    params = [Parameter(np.ones(3)), Parameter(np.ones((2, 2)))]
    opt = AdamW(params, lr=0.1, betas=(0.8, 0.9), weight_decay=0.2)
    for p in params:
        p.grad[...] = 0.5
    opt.step()
    state = opt.state_dict()
    assert int(state["t"]) == 1 and state["buffer.0.m"].shape == (7,)
    fresh = AdamW([Parameter(np.ones(3)), Parameter(np.ones((2, 2)))], lr=1.0)
    fresh.load_state_dict(state)
    assert (fresh.t, fresh.lr, fresh.beta1, fresh.decoupled_weight_decay) == (1, 0.1, 0.8, 0.2)
    np.testing.assert_array_equal(fresh._buffers[(0, "v")], opt._buffers[(0, "v")])
    with pytest.raises(ValueError, match="sizes \\[7\\], these parameters \\[3\\]"):
        AdamW([Parameter(np.ones(3))]).load_state_dict(state)
    unstepped = SGD([Parameter(np.ones(2))], lr=0.1).state_dict()  # no buffers yet: still loads
    SGD([Parameter(np.ones(2))], lr=0.5).load_state_dict(unstepped)


# -- batches --------------------------------------------------------------------------------------------
def test_get_batch_gives_random_windows_and_their_next_tokens():
    tokens = np.arange(1000)
    x, y = get_batch(tokens, 8, 32, np.random.default_rng(0))
    assert x.shape == y.shape == (8, 32) and x.dtype == np.int64
    np.testing.assert_array_equal(y, x + 1)  # on arange, the next token is the id plus one
    np.testing.assert_array_equal(x, x[:, :1] + np.arange(32))  # contiguous windows
    starts = np.concatenate([get_batch(tokens, 64, 32, np.random.default_rng(s))[0][:, 0] for s in range(20)])
    assert starts.min() >= 0 and starts.max() <= 1000 - 33 and len(set(starts.tolist())) > 500
    x, y = get_batch(np.arange(5), 3, 4, np.random.default_rng(0))  # exactly one window fits
    np.testing.assert_array_equal(x, [[0, 1, 2, 3]] * 3)
    with pytest.raises(ValueError, match="too few"):
        get_batch(np.arange(4), 1, 4, np.random.default_rng(0))


def test_get_batch_reads_a_memmap_like_the_array(tmp_path):
    path = tmp_path / "tokens.bin"
    TOKENS.astype(np.uint16).tofile(path)
    mapped = open_tokens(path)
    assert isinstance(mapped, np.memmap) and len(mapped) == len(TOKENS)
    for a, b in zip(get_batch(mapped, 4, 16, np.random.default_rng(1)), get_batch(TOKENS, 4, 16, np.random.default_rng(1))):
        np.testing.assert_array_equal(a, b)
        assert type(a) is np.ndarray and a.dtype == np.int64


# -- the schedule ---------------------------------------------------------------------------------------
def test_warmup_starts_at_zero_and_rises_by_lr_over_warmup_per_step():
    # the definition: lr_max * t / T_w for t < T_w. The schedule as found gave lr * (t + 1) / T_w,
    # one step ahead: lr / T_w at step 0 and the full rate one step early.
    schedule = WarmupCosine(lr=1.0, warmup_steps=4, total_steps=14, min_lr=0.1)
    assert [schedule.lr_at(t) for t in range(5)] == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert schedule.lr_at(9) == pytest.approx(0.1 + 0.5 * (1 + np.cos(np.pi * 5 / 10)) * 0.9)
    assert schedule.lr_at(14) == pytest.approx(0.1) and schedule.lr_at(15) == 0.1 and schedule.lr_at(10**6) == 0.1
    rates = [schedule.lr_at(t) for t in range(4, 15)]
    assert all(a > b for a, b in zip(rates, rates[1:]))
    assert cosine_with_warmup(0, 2.0, 0.0, 0, 10) == 2.0  # no warm-up: the cosine starts at lr_max
    with pytest.raises(ValueError, match="warmup \\(5\\) < cycle \\(5\\)"):
        cosine_with_warmup(5, 1.0, 0.0, 5, 5)
