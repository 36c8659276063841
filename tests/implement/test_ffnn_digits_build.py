"""The ffnn-digits build through the real grader, for the pipeline of issue 13 §2 (He initialisation, the
minibatches, momentum and Adam, the epoch loop, the evaluation): the reference earns 100 and trains with
its own loop, the scaffold 0, and each classic mistake costs exactly its check, with a message that names
it. (The layers' classic mistakes are in test_implement_grading.py.)"""

from __future__ import annotations

import pytest

from labs.implement.tasks import STRUCTURE, TRAIN
from tests.implement.helpers import graded_reference, assert_costs_exactly, by_id, grade_source, scaffold_source, with_mistake

LAB = "ffnn-digits"


def test_reference_earns_100_training_with_its_own_loop_and_adam(tmp_path):
    result = graded_reference(LAB)
    assert result.status == "passed", result.feedback
    assert result.grade.score == 100
    assert result.metrics["test_accuracy"] >= 0.90
    assert result.metrics["test_accuracy"] != result.metrics["train_accuracy"]  # the held-out one is reported
    assert "your train_epoch with your adam_step" in by_id(result)[TRAIN].message


def test_train_reports_one_point_per_epoch_with_the_learners_loss(monkeypatch):
    """train(m, budget, report) hears every epoch's mean loss and held-out accuracy (the app's live curve);
    driven here on the reference module itself standing in for the learner's process."""
    from labs.implement.checks import ffnn_digits as checks
    from labs.implement.solutions import ffnn_digits as ref

    class Direct:  # the Learner interface, calling the reference in this process
        def __getattr__(self, name):
            return getattr(ref, name)

        def batch(self):
            return _DirectBatch()

    heard = []
    fraction, message, metrics = checks.train(Direct(), 60.0, report=lambda *point: heard.append(point))
    assert fraction == 1.0, message
    assert [p[0] for p in heard] == list(range(1, checks.EPOCHS + 1))
    assert all(p[1] == checks.EPOCHS for p in heard)
    losses = [p[2]["train_loss"] for p in heard]
    assert losses[-1] < losses[0] and heard[-1][2]["test_accuracy"] == metrics["test_accuracy"]


def test_train_fails_when_the_reported_held_out_accuracy_is_not_the_test_splits(monkeypatch):
    """The train stage recomputes the held-out accuracy from the learner's final weights: an evaluate that
    reports the training data's accuracy (and slipped past its own check) earns nothing."""
    from labs.implement.checks import ffnn_digits as checks
    from labs.implement.checks.common import CheckFailed
    from labs.implement.solutions import ffnn_digits as ref

    monkeypatch.setattr(ref, "evaluate", lambda params, xtr, ytr, xte, yte: (1.0, 1.0))

    class Direct:
        def __getattr__(self, name):
            return getattr(ref, name)

        def batch(self):
            return _DirectBatch()

    with pytest.raises(CheckFailed, match="your evaluate reported a held-out accuracy of 1.000, but your trained "
                                          "network scores 0.9"):
        checks.train(Direct(), 60.0)


class _DirectBatch:
    """remote.Batch's interface on the reference module: calls run at once, refs are the values."""

    def __getattr__(self, name):
        from labs.implement.solutions import ffnn_digits as ref

        return getattr(ref, name)

    def run(self, *values):
        return values


def test_untouched_scaffold_scores_zero(tmp_path):
    result = grade_source(tmp_path, LAB, scaffold_source(LAB))
    checks = by_id(result)
    assert result.grade.score == 0
    assert "none of the 13 functions is written yet" in checks[STRUCTURE].message
    for name in ("he_init", "minibatches", "momentum_step", "adam_step", "train_epoch", "accuracy", "evaluate"):
        assert checks[f"forward:{name}"].message == f"{name} is not written yet"
    assert checks[TRAIN].status == "skipped"


HE = "    return draws * np.sqrt(2.0 / fan_in)"
ADAM_STEP = "    return p - lr * m_hat / (np.sqrt(v_hat) + eps), m, v"
ADAM_IN_LOOP = "            params[i], m[i], v[i] = adam_step(params[i], g, m[i], v[i], t, lr, BETA1, BETA2, EPS)"
MISTAKES = [
    # (name, line in the reference, the mistake, check it breaks, words the message must contain)
    ("he: Xavier's variance", HE, "    return draws * np.sqrt(2.0 / (fan_in + fan_out))", "forward:he_init",
     ["he_init's W", "Xavier's scale", "2 / fan_in"]),
    ("he: 1/fan_in", HE, "    return draws * np.sqrt(1.0 / fan_in)", "forward:he_init",
     ["the variance is 1 / fan_in", "a ReLU zeroes half"]),
    ("he: fan_out", HE, "    return draws * np.sqrt(2.0 / fan_out)", "forward:he_init",
     ["it scales by fan_out", "divides by fan_in"]),
    ("minibatches: remainder dropped", "for start in range(0, n, batch_size)]",
     "for start in range(0, n - n % batch_size, batch_size)]", "forward:minibatches",
     ["minibatches(10, 4, perm) gave 2 batches", "the last, smaller batch of 2 samples is dropped"]),
    ("minibatches: permutation ignored", "return [permutation[start:start + batch_size]",
     "return [np.arange(n)[start:start + batch_size]", "forward:minibatches",
     ["visits the samples in 0, 1, 2", "the order of `permutation`"]),
    ("momentum on the parameter", "    return p - lr * v, v", "    return beta * p - lr * g, v",
     "forward:momentum_step", ["beta multiplies the parameter instead of the velocity"]),
    ("adam: no bias correction", ADAM_STEP, "    return p - lr * m / (np.sqrt(v) + eps), m, v",
     "forward:adam_step", ["adam_step: there is no bias correction", "1 - beta1**t"]),
    ("adam: t from 0", "    m_hat = m / (1 - beta1 ** t)", "    t = t - 1\n    m_hat = m / (1 - beta1 ** t)",
     "forward:adam_step", ["step t=1 gave NaN or infinity", "t starts at 0", "t is 1 on the first step"]),
    ("adam: eps inside the root", ADAM_STEP, "    return p - lr * m_hat / np.sqrt(v_hat + eps), m, v",
     "forward:adam_step", ["eps is inside the square root"]),
    ("loop: one permutation reused", "    m, v = list(m), list(v)",
     '    m, v = list(m), list(v)\n    perm = globals().setdefault("_first_perm", perm)', "forward:train_epoch",
     ["returned the same result for a different `perm`", "reuses one shuffle"]),
    ("loop: in order", "for idx in minibatches(len(y), batch_size, perm):",
     "for idx in minibatches(len(y), batch_size, np.arange(len(y))):", "forward:train_epoch",
     ["walked the samples in order", "the `perm` it is given"]),
    ("loop: t from 0", "        t += 1", "        pass", "forward:train_epoch",
     ["W1 became NaN or infinity", "is t advanced BEFORE adam_step"]),
    ("loop: last batch's loss", "    return params, (m, v, t), float(np.mean(losses))",
     "    return params, (m, v, t), float(losses[-1])", "forward:train_epoch",
     ["mean_loss is", "the last minibatch's loss"]),
    ("loop: plain SGD", ADAM_IN_LOOP,
     "            params[i] = sgd_update(params[i], g, lr)", "forward:train_epoch",
     ["moved by plain sgd_update", "adam_step"]),
    ("loop: Adam restarted each epoch", "    m, v, t = state",
     "    m, v, t = [np.zeros_like(p) for p in params], [np.zeros_like(p) for p in params], 0",
     "forward:train_epoch", ["restarted Adam from zero in the second epoch", "continue from the (m, v, t)"]),
    ("accuracy: a count", "    return float(np.mean(logits.argmax(axis=1) == y))",
     "    return float(np.sum(logits.argmax(axis=1) == y))", "forward:accuracy", ["the number of right rows"]),
    ("evaluate: on the training set", "    return accuracy(logits(x_train), y_train), accuracy(logits(x_test), y_test)",
     "    return accuracy(logits(x_train), y_train), accuracy(logits(x_train), y_train)", "forward:evaluate",
     ["evaluate's test_accuracy", "the accuracy on the TRAINING data", "x_test, y_test"]),
]


@pytest.mark.parametrize("line, wrong, broken, words", [m[1:] for m in MISTAKES], ids=[m[0] for m in MISTAKES])
def test_a_classic_mistake_costs_exactly_its_check(tmp_path, line, wrong, broken, words):
    assert_costs_exactly(grade_source(tmp_path, LAB, with_mistake(LAB, line, wrong)), LAB, {broken: words})
