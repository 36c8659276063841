"""transfer-digits build (issue 17) through the real grader: the reference pretrains the library's ConvNet
on 0-4 and fine-tunes it on 50 labels of 5-9 through the learner's mask, step and augmentation (frozen
layers unchanged by hash, beats training from scratch, augmentation lifts shifted digits). Classic
mistakes are edited into two copies of the reference, each in a different function, so two gradings show
each costing exactly its own check with a message in the learner's terms. The reference's 100 and the
scaffold's 0 for every task are test_implement_grading.py's; its training is read from graded_reference."""

from __future__ import annotations

import numpy as np

from labs.implement.checks import transfer_digits as checks
from labs.implement.solutions import transfer_digits as ref
from labs.implement.tasks import TRAIN
from tests.implement.helpers import assert_costs_exactly, by_id, grade_source, graded_reference, solution_source

LAB = "transfer-digits"


def edited(*edits: tuple[str, str]) -> str:
    source = solution_source(LAB)
    for line, wrong in edits:
        assert source.count(line) == 1, line
        source = source.replace(line, wrong)
    return source


def test_the_reference_keeps_frozen_layers_beats_scratch_and_lifts_shifted_digits():
    result = graded_reference(LAB)
    assert result.status == "passed" and result.grade.score == 100, result.feedback
    m = result.metrics
    assert m["frozen_unchanged"] == 1.0
    assert m["test_accuracy"] - m["scratch_test_accuracy"] >= checks.MARGIN
    assert m["shifted_accuracy"] - m["unaugmented_shifted_accuracy"] >= checks.LIFT
    assert "from scratch" in by_id(result)[TRAIN].message


def test_rotation_is_about_the_centre_and_matches_rot90_and_the_library():
    from labs.augment import rotate

    x = np.random.default_rng(0).random((3, 1, 8, 8))
    quarter = ref.rotate_images(x, np.full(3, 90.0))
    assert np.allclose(quarter, np.rot90(x, 1, axes=(2, 3)))
    assert np.allclose(ref.rotate_images(x, np.zeros(3)), x)
    angles = np.array([7.0, -12.5, 33.0])
    assert np.allclose(ref.rotate_images(x, angles), rotate(x, angles))
    # the corner mistake is a different image: the checker can tell the two apart
    assert not np.allclose(checks._rotate(x, angles, centre=False), ref.rotate_images(x, angles))


def test_the_augmentations_are_vectorised_and_agree_with_the_library():
    from labs.augment import shift

    x = np.random.default_rng(1).random((5, 1, 8, 8))
    dx, dy = np.array([1, -1, 0, 2, -3]), np.array([0, 1, -2, 1, 3])
    assert np.array_equal(ref.shift_images(x, dx, dy), shift(x, dx, dy))
    perm = np.array([4, 2, 0, 1, 3])
    images, labels = ref.augment_batch(x, np.arange(5), perm, dx, dy, np.zeros(5), np.zeros_like(x), 0.0)
    assert np.array_equal(labels, perm)
    assert np.allclose(images, shift(x[perm], dx, dy))


def test_frozen_parameters_come_back_exactly_and_trainable_ones_decay():
    params, grads, vel, train = checks._step_inputs()
    new_p, new_v = ref.finetune_step(params, grads, vel, train, 0.1, 0.9, 0.05)
    for p, q, v, w, t in zip(params, new_p, vel, new_v, train):
        assert np.array_equal(p, q) == (not t) and np.array_equal(v, w) == (not t)
    assert ref.freeze_mask(checks.NAMES, "9.", "head") == [False] * 6 + [True] * 2


def test_classic_augmentation_and_freezing_mistakes_each_cost_their_own_check(tmp_path):
    source = edited(
        ("    rows = np.arange(h)[None, :] - dy[:, None]  # (N, H): the source row of every output row\n"
         "    cols = np.arange(w)[None, :] - dx[:, None]  # (N, W)",
         "    rows = np.arange(h)[None, :] + dy[:, None]\n    cols = np.arange(w)[None, :] + dx[:, None]"),
        ("    ci, cj = (h - 1) / 2.0, (w - 1) / 2.0\n", "    ci, cj = 0.0, 0.0\n"),
        ("return np.clip(images + sigma * z, 0.0, 1.0).astype(images.dtype)",
         "return (images + sigma * z).astype(images.dtype)"),
        ("shuffled, their_labels = images[permutation], labels[permutation]",
         "shuffled, their_labels = images[permutation], labels"),
        ("return images, labels, test_images, test_labels",
         "return images, labels, add_noise(test_images, z[:len(test_images)], sigma), test_labels"),
        ("return [name.startswith(head) for name in names]", "return [True for _ in names]"),
        ("            new_params.append(p.copy())", "            new_params.append(p - lr * weight_decay * p)"),
    )
    assert_costs_exactly(grade_source(tmp_path, LAB, source), LAB, {
        "forward:shift_images": ["the opposite way"],
        "forward:rotate_images": ["about their corner", "centre"],
        "forward:add_noise": ["clip"],
        "forward:augment_batch": ["SAME permutation"],
        "forward:training_and_test": ["changed the test images"],
        "forward:freeze_mask": ["trains every parameter"],
        "forward:finetune_step": ["shrunk by the weight decay"],
    })


def test_degrees_coupled_decay_and_the_order_of_stages_are_named(tmp_path):
    source = edited(
        ("    t = np.deg2rad(degrees)[:, None, None]", "    t = degrees[:, None, None]"),
        ("        v = momentum * v + g\n        new_params.append(p - lr * v - lr * weight_decay * p)",
         "        v = momentum * v + g + weight_decay * p\n        new_params.append(p - lr * v)"),
        ("moved = rotate_images(shift_images(shuffled, dx, dy), degrees)",
         "moved = shift_images(rotate_images(shuffled, degrees), dx, dy)"),
    )
    result = grade_source(tmp_path, LAB, source)
    assert_costs_exactly(result, LAB, {
        "forward:rotate_images": ["radians"],
        "forward:finetune_step": ["into the velocity"],
        "forward:augment_batch": ["rotated before shifting"],
    })
