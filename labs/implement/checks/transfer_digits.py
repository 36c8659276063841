"""transfer-digits in the checker: the learner's shift, rotation, noise, augmented batch, data preparation,
freeze mask and fine-tuning step on fixed inputs, then transfer for real: the library's ConvNet pretrained
on the digits 0-4 (here, once per grading), given a fresh head for 5-9 and fine-tuned on 50 labels with
batches the learner augments and updates the learner's step makes on the parameters the learner's mask
leaves trainable. Graded: the frozen layers' hash is unchanged after head-only fine-tuning; the whole
network fine-tuned this way beats the same ConvNet trained from scratch on the same 50 labels and batches
(the checker's own step); the learner's augmentation lifts accuracy on shifted test digits over the same
fine-tuning without it.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

from labs.catalog.transfer_digits import (HEAD, frozen_digest, make_task, new_convnet, pretrain, shifted_accuracy,
                                          with_new_head)
from labs.catalog._training import accuracy
from labs.datasets import load_digits
from labs.grading import partial_credit
from labs.implement.checks.common import CheckFailed, call, expect_array, unpack
from labs.implement.remote import Learner
from labs.implement.solutions import transfer_digits as ref
from labs.nn import Layer, SoftmaxCrossEntropy

Report = Callable[[int, int, dict[str, float]], None]


def _images(seed: int, n: int = 4, h: int = 6, w: int = 7) -> np.ndarray:
    return np.random.default_rng(seed).random((n, 1, h, w))


def _rotate(x: np.ndarray, degrees: np.ndarray, *, centre: bool = True, radians: bool = False) -> np.ndarray:
    """The reference rotation with a classic mistake switched on: about pixel (0, 0), or degrees handed to
    cos and sin as if they were radians."""
    n, _, h, w = x.shape
    t = (degrees if radians else np.deg2rad(degrees))[:, None, None]
    ci, cj = ((h - 1) / 2.0, (w - 1) / 2.0) if centre else (0.0, 0.0)
    u, v = (np.arange(h) - ci)[None, :, None], (np.arange(w) - cj)[None, None, :]
    si, sj = ci + u * np.cos(t) + v * np.sin(t), cj - u * np.sin(t) + v * np.cos(t)
    top, left = np.floor(si), np.floor(sj)
    fi, fj = si - top, sj - left
    top, left = top.astype(np.int64), left.astype(np.int64)
    out = np.zeros((n, h, w))
    for r, c, wt in ((top, left, (1 - fi) * (1 - fj)), (top, left + 1, (1 - fi) * fj),
                     (top + 1, left, fi * (1 - fj)), (top + 1, left + 1, fi * fj)):
        inside = (r >= 0) & (r < h) & (c >= 0) & (c < w)
        out += np.where(inside, x[np.arange(n)[:, None, None], 0, np.clip(r, 0, h - 1), np.clip(c, 0, w - 1)], 0) * wt
    return out[:, None]


def _unchanged(name: str, before: np.ndarray, after: np.ndarray) -> None:
    if not np.array_equal(before, after):
        raise CheckFailed(f"{name} changed the arrays passed in; return new arrays")


def check_shift(m: Learner) -> str:
    x = _images(1)
    dx, dy = np.array([1, -2, 0, 3], dtype=np.int64), np.array([0, 1, -1, 2], dtype=np.int64)
    got = call(m, "shift_images", x, dx, dy)
    want = ref.shift_images(x, dx, dy)
    rolled = np.stack([np.roll(np.roll(x[k], dy[k], axis=-2), dx[k], axis=-1) for k in range(len(x))])
    expect_array("shift_images", got, want, mistakes={
        "what leaves one edge comes back at the other (np.roll wraps around): fill the uncovered edge with 0":
            rolled,
        "dx and dy are swapped: dx moves the COLUMNS (right), dy the ROWS (down)": ref.shift_images(x, dy, dx),
        "the images move the opposite way: out[i, j] = x[i - dy, j - dx], so a positive dx moves the ink right":
            ref.shift_images(x, -dx, -dy),
        "every image moved by the first image's amounts: each image has its own dx[n], dy[n]":
            ref.shift_images(x, np.full_like(dx, dx[0]), np.full_like(dy, dy[0])),
    })
    _unchanged("shift_images", x, _images(1))
    return "each image moved by its own (dx, dy), edges filled with 0"


def check_rotate(m: Learner) -> str:
    x = _images(2, n=4, h=8, w=8)
    degrees = np.array([0.0, 12.0, -7.5, 90.0])
    got = call(m, "rotate_images", x, degrees)
    want = ref.rotate_images(x, degrees)
    expect_array("rotate_images", got, want, mistakes={
        "the images turn about their corner (0, 0): rotate about the centre ((H - 1) / 2, (W - 1) / 2), or the "
        "digit swings out of the frame": _rotate(x, degrees, centre=False),
        "the angle reached cos and sin in degrees: convert it to radians first (np.deg2rad)":
            _rotate(x, degrees, radians=True),
        "the images turn clockwise: a positive angle turns them counter-clockwise as displayed (90 is np.rot90)":
            ref.rotate_images(x, -degrees),
    })
    if not np.allclose(got[0], x[0]):  # unreachable once equal to the reference; kept as the contract's words
        raise CheckFailed("rotate_images by 0 degrees should return the image unchanged")
    _unchanged("rotate_images", x, _images(2, n=4, h=8, w=8))
    odd = _images(3, n=2, h=5, w=7)
    expect_array("rotate_images on 5x7 images", call(m, "rotate_images", odd, np.array([30.0, -45.0])),
                 ref.rotate_images(odd, np.array([30.0, -45.0])))
    return "about the centre, counter-clockwise, bilinear, 0 outside; right on non-square images too"


def check_noise(m: Learner) -> str:
    x = _images(4)
    z = np.random.default_rng(5).standard_normal(x.shape) * 3
    got = call(m, "add_noise", x, z, 0.2)
    want = ref.add_noise(x, z, 0.2)
    expect_array("add_noise", got, want, mistakes={
        "pixels leave [0, 1]: clip the noisy image to the pixel range": x + 0.2 * z,
        "the noise is not scaled by sigma": np.clip(x + z, 0, 1),
    })
    _unchanged("add_noise", x, _images(4))
    return "x + sigma z, clipped to [0, 1]"


def _amounts(n: int, h: int = 8, w: int = 8, seed: int = 6):
    r = np.random.default_rng(seed)
    return (r.permutation(n).astype(np.int64), r.integers(-1, 2, n).astype(np.int64),
            r.integers(-1, 2, n).astype(np.int64), r.uniform(-10, 10, n), r.standard_normal((n, 1, h, w)))


def _composed(m: Learner, x, perm, dx, dy, deg, z, sigma, *, order: str = "shift-rotate") -> np.ndarray:
    """The batch built from the LEARNER's own pieces, so augment_batch is judged on its own logic."""
    s = x[perm]
    if order == "shift-rotate":
        return call(m, "add_noise", call(m, "rotate_images", call(m, "shift_images", s, dx, dy), deg), z, sigma)
    return call(m, "add_noise", call(m, "shift_images", call(m, "rotate_images", s, deg), dx, dy), z, sigma)


def check_augment_batch(m: Learner) -> str:
    n = 8
    x, y = _images(7, n=n, h=8, w=8), np.arange(n, dtype=np.int64) % 5
    perm, dx, dy, deg, z = _amounts(n)
    got_x, got_y = unpack("augment_batch", call(m, "augment_batch", x, y, perm, dx, dy, deg, z, 0.05),
                          ("images", "labels"))
    want_x = _composed(m, x, perm, dx, dy, deg, z, 0.05)
    expect_array("augment_batch's labels", got_y, y[perm], mistakes={
        "the labels are not in the images' new order: index the labels with the SAME permutation as the "
        "images, or every image is paired with another image's label": y,
        "the labels were shuffled with another order than the images: use one permutation for both":
            y[np.argsort(perm)],
    })
    expect_array("augment_batch's images", got_x, want_x, mistakes={
        "the images were not shuffled: return them in the order `permutation` gives": _composed(
            m, x, np.arange(n), dx, dy, deg, z, 0.05),
        "the amounts were applied before shuffling: dx[k] and the rest belong to the k-th image of the "
        "SHUFFLED batch": _composed(m, x, np.arange(n), dx, dy, deg, z, 0.05)[perm],
        "rotated before shifting: shift, then rotate, then add noise": _composed(
            m, x, perm, dx, dy, deg, z, 0.05, order="rotate-shift"),
        "no noise was added: the last stage is your add_noise": call(
            m, "rotate_images", call(m, "shift_images", x[perm], dx, dy), deg),
    })
    return "shuffled with one permutation for images and labels, then shifted, rotated and noised"


def check_training_and_test(m: Learner) -> str:
    n, k = 6, 5
    x, y = _images(8, n=n, h=8, w=8), np.arange(n, dtype=np.int64) % 3
    tx, ty = _images(9, n=k, h=8, w=8), np.arange(k, dtype=np.int64) % 3
    perm, dx, dy, deg, z = _amounts(n, seed=10)
    got = unpack("training_and_test", call(m, "training_and_test", x, y, tx, ty, perm, dx, dy, deg, z, 0.05),
                 ("train_images", "train_labels", "test_images", "test_labels"))
    want_x, want_y = unpack("augment_batch", call(m, "augment_batch", x, y, perm, dx, dy, deg, z, 0.05),
                            ("images", "labels"))
    if not (isinstance(got[2], np.ndarray) and got[2].shape == tx.shape and np.array_equal(got[2], tx)):
        raise CheckFailed("training_and_test changed the test images: the test set is scored as it is; "
                          "augmenting it measures a different task")
    expect_array("training_and_test's test labels", got[3], ty, mistakes={
        "the test labels were shuffled: the test set keeps its order and its labels": ty[::-1].copy()})
    expect_array("training_and_test's training images", got[0], want_x, mistakes={
        "the training images were not augmented: they go through your augment_batch": x})
    expect_array("training_and_test's training labels", got[1], want_y)
    return "the training pair augmented by your augment_batch, the test pair exactly as it came"


NAMES = ["0.W", "0.b", "3.W", "3.b", "7.W", "7.b", "9.W", "9.b"]


def _mask(m: Learner, strategy: str) -> list[bool]:
    got = call(m, "freeze_mask", list(NAMES), "9.", strategy)
    if not isinstance(got, (list, tuple)) or len(got) != len(NAMES) or \
            not all(isinstance(v, (bool, np.bool_)) for v in got):
        raise CheckFailed(f"freeze_mask should return a list of {len(NAMES)} bools (one per name), got {got!r:.80}")
    return [bool(v) for v in got]


def check_freeze_mask(m: Learner) -> str:
    head, whole = _mask(m, "head"), _mask(m, "whole")
    want_head = ref.freeze_mask(NAMES, "9.", "head")
    if head != want_head:
        if head == [not v for v in want_head]:
            raise CheckFailed("freeze_mask('head') is inverted: True means the parameter TRAINS, so only the "
                              "head's names are True and the pretrained body is frozen")
        if all(head):
            raise CheckFailed("freeze_mask('head') trains every parameter: the 'frozen' body would move")
        raise CheckFailed(f"freeze_mask('head') gives {head}; only the names starting with the head's prefix train")
    if whole != [True] * len(NAMES):
        raise CheckFailed(f"freeze_mask('whole') gives {whole}: fine-tuning the whole network trains every "
                          "parameter")
    return "head: only the head trains; whole: everything trains"


def _step_inputs(seed: int = 11):
    r = np.random.default_rng(seed)
    shapes = [(3, 2), (2,), (2, 4), (4,)]
    return ([r.standard_normal(s) for s in shapes], [r.standard_normal(s) for s in shapes],
            [r.standard_normal(s) for s in shapes], [False, True, False, True])


def _reference_step(params, grads, vel, train, lr, mu, wd, *, decay_frozen=False, velocity_frozen=False,
                    coupled=False):
    out_p, out_v = [], []
    for p, g, v, t in zip(params, grads, vel, train):
        if not t:
            v2 = mu * v if velocity_frozen else v.copy()
            p2 = p - lr * wd * p if decay_frozen else p.copy()
            if velocity_frozen:
                p2 = p2 - lr * v2
            out_p.append(p2)
            out_v.append(v2)
            continue
        v2 = mu * v + g + (wd * p if coupled else 0)
        out_p.append(p - lr * v2 - (0 if coupled else lr * wd * p))
        out_v.append(v2)
    return out_p, out_v


def check_finetune_step(m: Learner) -> str:
    params, grads, vel, train = _step_inputs()
    lr, mu, wd = 0.1, 0.9, 0.05
    got = unpack("finetune_step", call(m, "finetune_step", params, grads, vel, train, lr, mu, wd),
                 ("params", "velocities"))
    want_p, want_v = ref.finetune_step(params, grads, vel, train, lr, mu, wd)
    for name, got_list, want_list in (("params", got[0], want_p), ("velocities", got[1], want_v)):
        if not isinstance(got_list, (list, tuple)) or len(got_list) != len(want_list):
            raise CheckFailed(f"finetune_step should return a list of {len(want_list)} {name}, got "
                              f"{type(got_list).__name__}")
    decayed, _ = _reference_step(params, grads, vel, train, lr, mu, wd, decay_frozen=True)
    drifted, drift_v = _reference_step(params, grads, vel, train, lr, mu, wd, velocity_frozen=True)
    coupled, coupled_v = _reference_step(params, grads, vel, train, lr, mu, wd, coupled=True)
    for k, (gp, wp) in enumerate(zip(got[0], want_p)):
        what = "frozen" if not train[k] else "trainable"
        expect_array(f"finetune_step's params[{k}] ({what})", gp, wp, mistakes={
            "a frozen parameter was shrunk by the weight decay: frozen means not updated at all, decay included":
                decayed[k],
            "a frozen parameter was moved by its old velocity: skip frozen parameters entirely": drifted[k],
            "the decay went into the velocity (L2 coupled through momentum): decoupled decay is "
            "p <- p - lr * v - lr * weight_decay * p, with v <- momentum * v + g": coupled[k],
            "the momentum is missing: v <- momentum * v + g, then p <- p - lr * v - lr * weight_decay * p":
                params[k] - lr * grads[k] - lr * wd * params[k],
        })
    for k, (gv, wv) in enumerate(zip(got[1], want_v)):
        expect_array(f"finetune_step's velocities[{k}]", gv, wv, mistakes={
            "a frozen parameter's velocity was updated: it must come back as it went in": drift_v[k],
            "the decay went into the velocity: keep v <- momentum * v + g": coupled_v[k],
        })
    before = _step_inputs()
    for a, b in zip(params + grads + vel, before[0] + before[1] + before[2]):
        _unchanged("finetune_step", b, a)
    return "momentum and decoupled decay on the trainable parameters; frozen ones returned exactly"


CHECKS = {
    "forward:shift_images": check_shift,
    "forward:rotate_images": check_rotate,
    "forward:add_noise": check_noise,
    "forward:augment_batch": check_augment_batch,
    "forward:training_and_test": check_training_and_test,
    "forward:freeze_mask": check_freeze_mask,
    "forward:finetune_step": check_finetune_step,
}

# -- training ----------------------------------------------------------------------------------------
SEED, STEPS, LR, MOMENTUM, WEIGHT_DECAY, SIGMA, MAX_DEGREES = 0, 100, 0.003, 0.9, 1e-3, 0.05, 10.0
MARGIN, LIFT, MIN_BUDGET_S = 0.02, 0.05, 90.0
"""the build's calibrated recipe (benchmarks/BUILD_CALIBRATION.md, 'transfer-digits build'): SGD with momentum
0.9 at 0.003 and decoupled decay 1e-3, 100 full-batch steps on the 50 labels: a budget in which the
pretrained start shows (with many more steps, scratch catches up on these small digits)"""


def _amounts_for(rng: np.random.Generator, n: int, steps: int):
    """Every step's draws at once: the permutation within each step's block of n, shifts, angles, noise."""
    perm = np.concatenate([rng.permutation(n) + s * n for s in range(steps)]).astype(np.int64)
    return (perm, rng.integers(-1, 2, n * steps).astype(np.int64), rng.integers(-1, 2, n * steps).astype(np.int64),
            rng.uniform(-MAX_DEGREES, MAX_DEGREES, n * steps), rng.standard_normal((n * steps, 1, 8, 8)))


def _params(model: Layer) -> tuple[list[str], list]:
    named = list(model.named_parameters())
    return [n for n, _ in named], [p for _, p in named]


def _finetune(model: Layer, batches: list[tuple[np.ndarray, np.ndarray]], trainable: list[bool],
              step: Callable, report: Callable[[int, float], None] | None = None) -> None:
    """Full-batch fine-tuning: the checker's forward and backward, `step` (the learner's or the reference)
    for every update."""
    loss_fn = SoftmaxCrossEntropy()
    names, ps = _params(model)
    velocities = [np.zeros_like(p.data) for p in ps]
    for i, (x, y) in enumerate(batches):
        model.zero_grad()
        loss = float(loss_fn.forward(model.forward(x), y))
        model.backward(loss_fn.backward())
        new_p, velocities = step([p.data for p in ps], [p.grad for p in ps], velocities, trainable)
        for p, value in zip(ps, new_p):
            if not isinstance(value, np.ndarray) or value.shape != p.data.shape:
                raise CheckFailed(f"finetune_step returned {type(value).__name__} of shape {np.shape(value)} for a "
                                  f"parameter of shape {p.data.shape}")
            p.data[...] = value
        if report is not None:
            report(i + 1, loss)


def _learner_step(m: Learner) -> Callable:
    def step(params, grads, velocities, trainable):
        got = unpack("finetune_step", call(m, "finetune_step", params, grads, velocities, trainable, LR, MOMENTUM,
                                           WEIGHT_DECAY), ("params", "velocities"))
        return list(got[0]), list(got[1])
    return step


def _reference_step_fn(params, grads, velocities, trainable):
    return ref.finetune_step(params, grads, velocities, trainable, LR, MOMENTUM, WEIGHT_DECAY)


def train(m: Learner, budget_s: float, report: Report | None = None) -> tuple[float, str, dict[str, float]]:
    """Pretrain on 0-4, then fine-tune on 50 labels of 5-9 through the learner's pieces, and compare."""
    start, data = time.perf_counter(), load_digits()
    budget_s = max(budget_s, MIN_BUDGET_S)  # the library's ConvNet, not the learner's code, takes the time
    task = make_task(data, SEED)
    pretrained = pretrain(task, SEED)
    rng = np.random.default_rng([SEED, 21])
    n = len(task.labelled_y)
    perm, dx, dy, deg, z = _amounts_for(rng, n, STEPS)
    stacked_x, stacked_y = np.tile(task.labelled_x, (STEPS, 1, 1, 1)), np.tile(task.labelled_y, STEPS)
    got = unpack("training_and_test", call(m, "training_and_test", stacked_x, stacked_y, task.test_x, task.test_y,
                                           perm, dx, dy, deg, z, SIGMA),
                 ("train_images", "train_labels", "test_images", "test_labels"))
    aug_x, aug_y, test_x, test_y = got
    if not (isinstance(aug_x, np.ndarray) and aug_x.shape == stacked_x.shape and isinstance(aug_y, np.ndarray)
            and aug_y.shape == stacked_y.shape):
        raise CheckFailed("training_and_test returned training arrays of the wrong shape for the 50 labels")
    if not np.array_equal(test_x, task.test_x):
        raise CheckFailed("training_and_test changed the test images, so they cannot be scored")
    augmented = [(aug_x[s * n:(s + 1) * n].astype(np.float32), aug_y[s * n:(s + 1) * n]) for s in range(STEPS)]
    plain = [(task.labelled_x, task.labelled_y)] * STEPS
    total = 3 * STEPS

    def live(phase: int) -> Callable[[int, float], None] | None:
        if report is None:
            return None
        return lambda i, loss: report(phase * STEPS + i, total, {"train_loss": loss})

    # 1. head only, through the learner's mask and step: the frozen body must come back bit for bit
    head_model = with_new_head(pretrained, np.random.default_rng([SEED, 11]))
    names, _ = _params(head_model)
    mask = [bool(v) for v in call(m, "freeze_mask", names, HEAD + ".", "head")]
    trainable = {nm for nm, t in zip(names, mask) if t}
    before = frozen_digest(head_model, {nm for nm in names if nm.startswith(HEAD + ".")})
    _finetune(head_model, augmented, mask, _learner_step(m), live(0))
    frozen_kept = frozen_digest(head_model, {nm for nm in names if nm.startswith(HEAD + ".")}) == before
    head_acc = accuracy(head_model, task.test_x, task.test_y)
    # 2. the whole network, the learner's mask and step, the learner's augmented batches
    whole = with_new_head(pretrained, np.random.default_rng([SEED, 11]))
    _finetune(whole, augmented, [bool(v) for v in call(m, "freeze_mask", names, HEAD + ".", "whole")],
              _learner_step(m), live(1))
    # 3. from scratch on the same batches (the checker's step), and 4. the whole network without augmentation
    scratch = new_convnet(np.random.default_rng([SEED, 11]))
    _finetune(scratch, augmented, [True] * len(names), _reference_step_fn, live(2))
    unaugmented = with_new_head(pretrained, np.random.default_rng([SEED, 11]))
    _finetune(unaugmented, plain, [True] * len(names), _reference_step_fn)
    acc, scratch_acc = accuracy(whole, test_x, test_y), accuracy(scratch, test_x, test_y)
    moved, moved_plain = (shifted_accuracy(whole, test_x, test_y), shifted_accuracy(unaugmented, test_x, test_y))
    seconds = time.perf_counter() - start
    metrics = {"test_accuracy": acc, "scratch_test_accuracy": scratch_acc, "head_test_accuracy": head_acc,
               "shifted_accuracy": moved, "unaugmented_shifted_accuracy": moved_plain,
               "frozen_unchanged": float(frozen_kept), "train_seconds": seconds}
    message = (f"fine-tuned {acc:.4f} vs from scratch {scratch_acc:.4f} on the same 50 labels (needs +{MARGIN}); "
               f"head only {head_acc:.4f}; moved digits {moved:.4f} with your augmentation vs {moved_plain:.4f} "
               f"without (needs +{LIFT})")
    if seconds > budget_s:
        return 0.0, message + f"; but training took {seconds:.0f} s (budget {budget_s:.0f} s)", metrics
    if not frozen_kept or trainable != {nm for nm in names if nm.startswith(HEAD + ".")}:
        return 0.0, "the frozen layers changed during head-only fine-tuning (their hash differs): " + message, metrics
    if acc - scratch_acc < MARGIN:
        return 0.0, message + "; the fine-tuned network must beat the one trained from scratch", metrics
    if moved - moved_plain < LIFT:
        return 0.0, message + "; your augmentation must lift the accuracy on moved digits", metrics
    return 0.5 + 0.5 * partial_credit(acc, 0.75, 0.88), message, metrics
