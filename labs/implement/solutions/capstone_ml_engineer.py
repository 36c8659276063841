"""capstone-ml-engineer: the pipeline around a digits classifier, written by you: the split, the recipe's
schedule, the stopping rule and the evaluation.

The network is the library's ConvNet (the one you built in Convolutional networks); the grader trains it,
but every decision of the pipeline is yours. It calls YOUR stratified_split to divide the development digits
into training and validation, YOUR lr_schedule for the rate of every optimisation step, YOUR early_stopping
after every epoch (to stop, and to choose the epoch whose weights are kept), and YOUR evaluate on the final
model; your evaluate must agree with the grader's own, and the model must reach the capstone's 0.98 test
accuracy. Each function is first checked on small fixed inputs, with the classic mistakes named.

Conventions. Indices are int64 arrays, sorted ascending. Steps and epochs count from 0. The test set is
never an input to the split or to the stopping rule: it is scored once, at the end (lesson "ML engineer").
NumPy and the standard library only.
Grade with `pathlab lab grade capstone-ml-engineer`; stuck? `pathlab lab hint capstone-ml-engineer`.
"""

import math

import numpy as np


def stratified_split(labels, val_fraction, permutation):
    """Split the samples into training and validation so that every class keeps its share in both.

    labels (N,) int64 class labels; val_fraction in (0, 1); permutation (N,) a shuffled order of range(N).
    For each class, take its samples in the order they appear in `permutation` and put the first
    round(val_fraction * class size) of them in validation, the rest in training.
    Returns (train_idx, val_idx): disjoint, together all N indices, each sorted ascending (int64).
    """
    val = []
    for c in np.unique(labels):
        members = permutation[labels[permutation] == c]
        val.append(members[:round(val_fraction * len(members))])
    val_idx = np.sort(np.concatenate(val)).astype(np.int64)
    train_idx = np.setdiff1d(np.arange(len(labels)), val_idx).astype(np.int64)
    return train_idx, val_idx


def lr_schedule(step, total_steps, base_lr, warmup_steps):
    """The learning rate of optimisation step `step` (0 .. total_steps - 1): a linear warm-up over the
    first `warmup_steps` steps, then half a cosine down towards 0 over the remaining steps.

    The warm-up's first step already moves (its rate is base_lr / warmup_steps, not 0) and reaches base_lr
    on its last step; the cosine starts at base_lr on the first step after the warm-up and would reach 0
    one step after the last, so no step is wasted at rate 0. warmup_steps may be 0 (no warm-up).
    Returns a Python float.
    """
    if step < warmup_steps:
        return base_lr * (step + 1) / warmup_steps
    progress = (step - warmup_steps) / (total_steps - warmup_steps)
    return float(base_lr * 0.5 * (1.0 + math.cos(math.pi * progress)))


def early_stopping(history, patience):
    """Whether to stop training after the epochs in `history`, and which epoch's weights to keep.

    history is a list with one (train_loss, val_loss) pair per epoch trained so far. The best epoch is the
    one with the lowest validation loss (the earliest of equal ones). Stop once `patience` epochs have
    passed since the best one without improving on it.
    Returns (stop, best_epoch): a bool and the 0-based index of the best epoch.
    """
    val = [v for _, v in history]
    best = int(np.argmin(val))
    return len(val) - 1 - best >= patience, best


def evaluate(train_logits, y_train, test_logits, y_test, z):
    """The final report of the model: training and test accuracy, and a confidence interval for the TEST
    accuracy, the Wilson score interval at `z` standard errors (1.96 for 95 %).

    train_logits (N_train, C), test_logits (N_test, C) float; y_* int64 labels.
    Returns (train_accuracy, test_accuracy, low, high) as Python floats, low <= test_accuracy <= high.
    """
    train_acc = float(np.mean(np.argmax(train_logits, axis=1) == y_train))
    p = float(np.mean(np.argmax(test_logits, axis=1) == y_test))
    n = len(y_test)
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return train_acc, p, centre - half, centre + half
