"""transfer-digits: augmentation and transfer learning, written by you: shifts, small rotations and noise
as array functions over a whole batch, the augmented batch that keeps each label with its image, which
parameters a fine-tuning trains, and the update step that leaves the frozen ones alone.

The network is the library's ConvNet (the one you built in Convolutional networks). The grader pretrains
it on the digits 0-4, gives it a new head for the digits 5-9 and fine-tunes it on only 50 labelled images,
with every batch augmented by YOUR augment_batch and every update made by YOUR finetune_step on the
parameters YOUR freeze_mask leaves trainable. It then checks that the frozen layers are bit for bit what
pretraining left (a hash before and after), that the fine-tuned network beats one trained from scratch on
the same 50 labels, and that your augmentation lifts the accuracy on shifted test digits. Each function is
first checked on fixed inputs, with the classic mistakes named.

Conventions. Images are (N, 1, H, W) float arrays (channel first); row i runs down, column j right; the
centre of an image is ((H - 1) / 2, (W - 1) / 2). Every amount is per image: dx, dy (N,) int64, degrees
(N,) float64, z (N, 1, H, W) standard normal draws. Work on the whole batch at once with index arrays: no
Python loop over images or pixels (lesson "Data augmentation and transfer", "Vectorised"). Return new
arrays; never change the inputs. NumPy and the standard library only.
Grade with `pathlab lab grade transfer-digits`; stuck? `pathlab lab hint transfer-digits`.
"""

import numpy as np


def shift_images(images, dx, dy):
    """Image n moved dx[n] pixels right and dy[n] pixels down (negative: left, up), what moves in from the
    edge 0 (nothing wraps around):  out[n, c, i, j] = images[n, c, i - dy[n], j - dx[n]], 0 outside.

    images (N, 1, H, W); dx, dy (N,) int64. Returns an array of the input's shape and dtype."""
    n, _, h, w = images.shape
    rows = np.arange(h)[None, :] - dy[:, None]  # (N, H): the source row of every output row
    cols = np.arange(w)[None, :] - dx[:, None]  # (N, W)
    inside = ((rows >= 0) & (rows < h))[:, :, None] & ((cols >= 0) & (cols < w))[:, None, :]
    gathered = images[np.arange(n)[:, None, None], 0, np.clip(rows, 0, h - 1)[:, :, None],
                      np.clip(cols, 0, w - 1)[:, None, :]]
    return np.where(inside, gathered, 0.0).astype(images.dtype)[:, None]


def rotate_images(images, degrees):
    """Image n rotated about its CENTRE by degrees[n], counter-clockwise as displayed, bilinear, 0 outside.

    The output pixel at offset (u, v) = (i - c_i, j - c_j) from the centre (c_i, c_j) reads the input at
        (c_i + u cos t + v sin t,  c_j - u sin t + v cos t),   t = degrees in radians,
    interpolated between the four pixels around that point, each weighted by how near it is (a neighbour
    outside the image counts as 0). A rotation by 0 returns the image; one by 90 equals np.rot90.
    images (N, 1, H, W); degrees (N,) float64. Returns an array of the input's shape and dtype."""
    n, _, h, w = images.shape
    t = np.deg2rad(degrees)[:, None, None]
    ci, cj = (h - 1) / 2.0, (w - 1) / 2.0
    u = (np.arange(h) - ci)[None, :, None]
    v = (np.arange(w) - cj)[None, None, :]
    si = ci + u * np.cos(t) + v * np.sin(t)  # (N, H, W): where each output pixel reads
    sj = cj - u * np.sin(t) + v * np.cos(t)
    top, left = np.floor(si), np.floor(sj)
    fi, fj = si - top, sj - left
    top, left = top.astype(np.int64), left.astype(np.int64)
    out = np.zeros((n, h, w))
    batch = np.arange(n)[:, None, None]
    for r, c, weight in ((top, left, (1 - fi) * (1 - fj)), (top, left + 1, (1 - fi) * fj),
                         (top + 1, left, fi * (1 - fj)), (top + 1, left + 1, fi * fj)):  # four neighbours
        inside = (r >= 0) & (r < h) & (c >= 0) & (c < w)
        values = images[batch, 0, np.clip(r, 0, h - 1), np.clip(c, 0, w - 1)]
        out += np.where(inside, values, 0.0) * weight
    return out.astype(images.dtype)[:, None]


def add_noise(images, z, sigma):
    """Pixel noise that keeps the pixel range:  clip(images + sigma * z, 0, 1).

    images (N, 1, H, W) in [0, 1]; z the same shape, standard normal draws; sigma >= 0."""
    return np.clip(images + sigma * z, 0.0, 1.0).astype(images.dtype)


def augment_batch(images, labels, permutation, dx, dy, degrees, z, sigma):
    """A shuffled, augmented training batch: the images in the order `permutation` gives, each shifted
    (your shift_images), then rotated (your rotate_images), then noised (your add_noise), with the amounts
    dx[k], dy[k], degrees[k], z[k] for the k-th image OF THE SHUFFLED BATCH, and its labels in the same order.

    images (N, 1, H, W); labels (N,) int64; permutation (N,) a shuffled order of range(N).
    Returns (augmented images (N, 1, H, W), labels (N,) int64)."""
    shuffled, their_labels = images[permutation], labels[permutation]
    moved = rotate_images(shift_images(shuffled, dx, dy), degrees)
    return add_noise(moved, z, sigma), their_labels


def training_and_test(train_images, train_labels, test_images, test_labels, permutation, dx, dy, degrees, z,
                      sigma):
    """The data of one fine-tuning: the training pair shuffled and augmented by your augment_batch (with
    these amounts), the test pair exactly as it came, since the test set is scored as the task presents it.

    Returns (train images, train labels, test images, test labels)."""
    images, labels = augment_batch(train_images, train_labels, permutation, dx, dy, degrees, z, sigma)
    return images, labels, test_images, test_labels


def freeze_mask(names, head, strategy):
    """Which parameters a fine-tuning trains: a list of bools, one per name, True where it TRAINS.

    names: the network's parameter names in order, e.g. ["0.W", "0.b", ..., "9.W", "9.b"]; head: the prefix
    of the new head's names ("9."); strategy: "head" (only the head trains, the rest is frozen) or "whole"
    (every parameter trains, starting from the pretrained values)."""
    if strategy == "whole":
        return [True for _ in names]
    return [name.startswith(head) for name in names]


def finetune_step(params, grads, velocities, trainable, lr, momentum, weight_decay):
    """One step of SGD with momentum and decoupled weight decay, on the trainable parameters only:

        v <- momentum * v + g;   p <- p - lr * v - lr * weight_decay * p        (where trainable)

    A frozen parameter (trainable False) and its velocity come back exactly as they went in: not decayed,
    not moved by an old velocity. params, grads, velocities: lists of arrays (one per parameter, the same
    shapes); trainable: a list of bools. Returns (new params, new velocities), lists of new arrays."""
    new_params, new_velocities = [], []
    for p, g, v, train in zip(params, grads, velocities, trainable):
        if not train:
            new_params.append(p.copy())
            new_velocities.append(v.copy())
            continue
        v = momentum * v + g
        new_params.append(p - lr * v - lr * weight_decay * p)
        new_velocities.append(v)
    return new_params, new_velocities
