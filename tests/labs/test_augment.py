"""labs.augment: shifts, rotations and noise are exact where they must be, seeded, and vectorised."""

from __future__ import annotations

import ast
import inspect

import numpy as np
import pytest

from labs import augment
from labs.datasets import as_images, load_digits, shift_images


def _images(n=5, side=8, seed=0, dtype=np.float64):
    return np.random.default_rng(seed).random((n, side, side)).astype(dtype)


# -- shifts ---------------------------------------------------------------------------------------------
def test_a_shift_of_one_then_back_restores_the_interior_and_zeroes_the_lost_edge():
    x = _images()
    there_and_back = augment.shift(augment.shift(x, 1, 0), -1, 0)
    np.testing.assert_array_equal(there_and_back[:, :, :-1], x[:, :, :-1])
    np.testing.assert_array_equal(there_and_back[:, :, -1], 0)
    down_up = augment.shift(augment.shift(x, 0, 1), 0, -1)
    np.testing.assert_array_equal(down_up[:, :-1], x[:, :-1])
    np.testing.assert_array_equal(down_up[:, -1], 0)


@pytest.mark.parametrize("dx, dy", [(1, 0), (-1, 0), (0, 1), (0, -1), (2, -3), (0, 0)])
def test_a_batch_shift_equals_the_datasets_shift_on_digit_images(dx, dy):
    x = as_images(load_digits().test.x[:20])
    np.testing.assert_array_equal(augment.shift(x, dx, dy), shift_images(x, dx, dy))


def test_a_shift_past_the_edge_leaves_nothing():
    np.testing.assert_array_equal(augment.shift(_images(), np.array([8, -9, 0, 0, 20]), np.array([0, 0, 8, -8, 0])), 0)


def test_per_image_shifts_move_each_image_by_its_own_amount():
    x = as_images(load_digits().test.x[:6])
    dx, dy = np.array([1, -1, 0, 0, 2, -2]), np.array([0, 0, 1, -1, 2, -1])
    out = augment.shift(x, dx, dy)
    assert out.shape == x.shape and out.dtype == np.float32
    for i in range(len(x)):
        np.testing.assert_array_equal(out[i:i + 1], shift_images(x[i:i + 1], int(dx[i]), int(dy[i])))


def test_a_random_shift_stays_within_its_range_and_is_seeded():
    x = _images(n=200)
    a, b = augment.random_shift(x, 1, seed=3), augment.random_shift(x, 1, seed=3)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, augment.random_shift(x, 1, seed=4))
    candidates = [augment.shift(x, dx, dy) for dx in (-1, 0, 1) for dy in (-1, 0, 1)]
    matches = np.array([[np.array_equal(a[i], c[i]) for c in candidates] for i in range(len(x))])
    assert matches.any(axis=1).all(), "every image is one of the nine one-pixel-or-less shifts"
    assert matches.any(axis=0).all(), "and all nine occur in 200 draws"


# -- rotations ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("side", [8, 7])
def test_rotation_by_zero_is_the_identity(side):
    x = _images(side=side)
    np.testing.assert_array_equal(augment.rotate(x, 0.0), x)


@pytest.mark.parametrize("side", [8, 7])
@pytest.mark.parametrize("degrees, k", [(90, 1), (180, 2), (270, 3), (-90, -1)])
def test_rotation_by_quarter_turns_equals_rot90_on_a_square_image(side, degrees, k):
    """Quarter turns land on grid points, so bilinear interpolation must give the pixels themselves."""
    x = _images(side=side)
    np.testing.assert_allclose(augment.rotate(x, degrees), np.rot90(x, k=k, axes=(1, 2)), atol=1e-12)


def test_per_image_angles_and_the_channel_axis_are_kept():
    x = _images(n=3)[:, None].astype(np.float32)
    out = augment.rotate(x, np.array([0.0, 90.0, 12.5]))
    assert out.shape == x.shape and out.dtype == np.float32
    np.testing.assert_array_equal(out[0], x[0])
    np.testing.assert_allclose(out[1, 0], np.rot90(x[1, 0]), atol=1e-6)
    np.testing.assert_array_equal(out[2:], augment.rotate(x[2:], 12.5))


def test_a_small_rotation_interpolates_bilinearly():
    """A constant image stays constant wherever all four neighbours are inside, and a linear ramp
    along the rows becomes the ramp of the rotated coordinate (bilinear is exact on linear images)."""
    flat = np.full((1, 9, 9), 0.5)
    out = augment.rotate(flat, 10.0)
    np.testing.assert_allclose(out[0, 2:7, 2:7], 0.5, atol=1e-12)
    assert out[0, 0, 0] < 0.5  # the corner reads partly outside the image
    i = np.arange(9.0)[:, None] * np.ones(9)
    ramp = augment.rotate(i[None], 10.0)[0]
    theta, c = np.deg2rad(10.0), 4.0
    u, v = np.meshgrid(np.arange(9) - c, np.arange(9) - c, indexing="ij")
    expected = c + u * np.cos(theta) + v * np.sin(theta)
    np.testing.assert_allclose(ramp[2:7, 2:7], expected[2:7, 2:7], atol=1e-12)


def test_a_random_rotation_is_seeded_and_bounded():
    x = _images(n=50)
    a = augment.random_rotate(x, 15.0, seed=np.random.default_rng(1))
    np.testing.assert_array_equal(a, augment.random_rotate(x, 15.0, seed=1))
    assert not np.array_equal(a, augment.random_rotate(x, 15.0, seed=2))
    np.testing.assert_array_equal(augment.random_rotate(x, 0.0, seed=5), x)


# -- noise ----------------------------------------------------------------------------------------------
def test_noise_is_clipped_to_the_pixel_range_has_the_asked_spread_and_is_seeded():
    x = np.full((100, 8, 8), 0.5, np.float32)
    out = augment.add_noise(x, 0.05, seed=0)
    assert out.dtype == np.float32
    assert abs(float((out - x).std()) - 0.05) < 0.003
    edge = augment.add_noise(np.zeros((10, 8, 8)), 0.5, seed=0)
    assert edge.min() == 0.0 and edge.max() <= 1.0 and (edge == 0).mean() > 0.4
    np.testing.assert_array_equal(augment.add_noise(x, 0.05, seed=0), out)
    np.testing.assert_array_equal(augment.add_noise(x, 0.0, seed=0), x)


def test_the_composite_is_reproducible_from_one_seed_and_keeps_shape_dtype_and_range():
    x = as_images(load_digits().train.x[:64])
    a = augment.augment(x, seed=7)
    np.testing.assert_array_equal(a, augment.augment(x, seed=7))
    assert not np.array_equal(a, augment.augment(x, seed=8))
    assert a.shape == x.shape and a.dtype == x.dtype and a.min() >= 0 and a.max() <= 1


# -- contract -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("call, message", [
    (lambda: augment.shift(np.zeros((4, 64)), 1, 0), r"\(N, H, W\) or \(N, 1, H, W\), got \(4, 64\)"),
    (lambda: augment.shift(np.zeros((4, 3, 8, 8)), 1, 0), r"got \(4, 3, 8, 8\)"),
    (lambda: augment.shift(np.zeros((4, 8, 8)), 0.5, 0), "dx must be whole pixels"),
    (lambda: augment.shift(np.zeros((4, 8, 8)), np.array([1, 2]), 0), r"one per image \(4\), got shape \(2,\)"),
    (lambda: augment.random_shift(np.zeros((4, 8, 8)), -1, 0), "max_shift"),
    (lambda: augment.random_rotate(np.zeros((4, 8, 8)), 200, 0), "max_degrees"),
    (lambda: augment.add_noise(np.zeros((4, 8, 8)), -0.1, 0), "sigma"),
])
def test_bad_input_is_one_line_naming_it(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_no_function_loops_in_python():
    """Vectorised over the batch: the module has no for or while statement at all."""
    tree = ast.parse(inspect.getsource(augment))
    loops = [node.lineno for node in ast.walk(tree) if isinstance(node, (ast.For, ast.While))]
    assert not loops, f"labs/augment.py loops at lines {loops}"


def test_the_input_is_never_modified():
    x = _images()
    before = x.copy()
    augment.augment(x, seed=0, max_shift=2, max_degrees=30, sigma=0.2)
    np.testing.assert_array_equal(x, before)
