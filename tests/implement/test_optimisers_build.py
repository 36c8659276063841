"""The optimisers build through the real grader: the reference earns 100 and its rules race on the
condition-number-100 quadratic in the order the lesson gives; each classic mistake (momentum on the step,
Nesterov without its look-ahead, Adam without bias correction, AdamW's decay coupled) costs exactly its
check, with a message that names it. Several mistakes in different functions share one grading."""

from __future__ import annotations

from labs.implement.tasks import TRAIN
from tests.implement.helpers import assert_costs_exactly, by_id, grade_source, graded_reference, solution_source

LAB = "optimisers"


def with_mistakes(*edits: tuple[str, str]) -> str:
    source = solution_source(LAB)
    for line, wrong in edits:
        assert source.count(line) == 1, line
        source = source.replace(line, wrong)
    return source


def test_reference_earns_100_and_sgd_is_slowest_on_the_quadratic():
    result = graded_reference(LAB)
    assert result.status == "passed", result.feedback
    assert result.grade.score == 100
    steps = {k[len("steps_"):]: v for k, v in result.metrics.items() if k.startswith("steps_")}
    assert set(steps) == {"sgd", "momentum", "nesterov", "rmsprop", "adam"}
    assert max(steps, key=steps.get) == "sgd" and steps["nesterov"] <= steps["momentum"]
    assert "plain SGD slowest" in by_id(result)[TRAIN].message


def test_momentum_on_the_step_missing_look_ahead_and_no_bias_correction_each_cost_their_check(tmp_path):
    source = with_mistakes(
        ("v = mu * v + g\n    return p - lr * v, v", "v = mu * v + lr * g\n    return p - v, v"),
        ("return p - lr * (g + mu * v), v", "return p - lr * v, v"),
        ("m_hat = m / (1 - beta1**t)\n    v_hat = v / (1 - beta2**t)", "m_hat = m\n    v_hat = v"),
    )
    result = grade_source(tmp_path, LAB, source)
    assert_costs_exactly(result, LAB, {
        "forward:momentum_step": ["momentum_step's v at step 1", "the rate is inside the velocity"],
        "forward:nesterov_step": ["nesterov_step's p at step 1", "the look-ahead is missing"],
        "forward:adam_step": ["adam_step's p at step 1", "no bias correction"],
        # AdamW is built on the learner's adam_step: the same mistake shows there too
        "forward:adamw_step": ["adamw_step's p at step 1"],
    })


def test_coupled_decay_in_adamw_costs_its_check(tmp_path):
    source = with_mistakes(("p = p * (1 - lr * wd)\n    return adam_step(p, g, m, v, t, lr, beta1, beta2, eps)",
                            "return adam_step(p, g + wd * p, m, v, t, lr, beta1, beta2, eps)"))
    result = grade_source(tmp_path, LAB, source)
    assert_costs_exactly(result, LAB, {"forward:adamw_step": ["the weight decay is coupled", "(1 - lr * wd)"]})
