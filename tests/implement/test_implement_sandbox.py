"""The learner's code cannot hang, crash or flood the app: each misbehaviour ends that grading with a
clear message and status `error`, keeping the points earned before it and skipping the rest."""

from __future__ import annotations

import re
import time

import pytest

from labs.implement.tasks import STRUCTURE
from tests.implement.helpers import by_id, grade_source, scaffold_source, solution_source, with_mistake

LAB = "ffnn-digits"
FIRST_LINE = "    return x @ W + b\n"  # linear_forward's body: the first function the grader calls


def in_linear_forward(statement: str) -> str:
    return with_mistake(LAB, FIRST_LINE, f"    {statement}\n{FIRST_LINE}")


def at_import(statement: str) -> str:
    return solution_source(LAB) + f"\n{statement}\n"


def assert_stopped_at_linear_forward(result, *words: str) -> None:
    checks = by_id(result)
    assert result.status == "error"
    assert checks[STRUCTURE].status == "passed"  # earned before the trouble, and kept
    stopped = checks["forward:linear_forward"]
    assert stopped.status == "skipped"
    assert all(c.status == "skipped" for c in checks.values() if c.id != STRUCTURE)
    assert result.grade.score == 10
    for word in words:
        assert word in result.feedback and word in stopped.message


def test_an_endless_loop_is_stopped_at_the_time_limit(tmp_path):
    start = time.monotonic()
    result = grade_source(tmp_path, LAB, in_linear_forward("while True: pass"), timeout_s=2)
    # 30 s for a 2 s limit: wide headroom for two interpreter starts on a loaded CI machine; this only
    # catches a limit that is not enforced at all (the endless loop would otherwise run for ever)
    assert time.monotonic() - start < 30
    assert_stopped_at_linear_forward(result, "stopped after 2 s", "linear_forward: shapes and values")


def test_a_huge_allocation_is_refused_by_the_memory_limit(tmp_path):
    # 2 GB: more than the limit, less than the machine has, so only the limit can refuse it
    result = grade_source(tmp_path, LAB, in_linear_forward("np.ones((16_000, 16_000))"), memory_mb=512)
    assert_stopped_at_linear_forward(result, "ran out of memory", "linear_forward: shapes and values")


def test_sys_exit_in_a_function_stops_grading_without_passing(tmp_path):
    result = grade_source(tmp_path, LAB, in_linear_forward("import sys; sys.exit(0)"))
    assert_stopped_at_linear_forward(result, "sys.exit(0)")


def test_os_exit_is_noticed_although_no_exception_is_raised(tmp_path):
    result = grade_source(tmp_path, LAB, in_linear_forward("import os; os._exit(0)"))
    assert_stopped_at_linear_forward(result, "stopped without reporting", "linear_forward: shapes and values")


def test_output_flooding_is_cut_and_stops_grading(tmp_path):
    result = grade_source(tmp_path, LAB, in_linear_forward("while True: print('x' * 10_000)"))
    assert_stopped_at_linear_forward(result, "printed more than 1 MB")
    assert len(result.output) < 10_000 and "more bytes of output cut" in result.output


def test_sys_exit_while_importing_is_an_error_with_no_points(tmp_path):
    result = grade_source(tmp_path, LAB, at_import("import sys\nsys.exit(0)"))
    assert result.status == "error" and result.grade.score == 0
    assert "called sys.exit(0) while being imported" in result.feedback


def test_an_exception_while_importing_fails_with_its_line(tmp_path):
    source = at_import("1 / 0")
    line = source.count("\n")
    result = grade_source(tmp_path, LAB, source)
    message = by_id(result)[STRUCTURE].message
    assert result.status == "failed" and result.grade.score == 0
    assert f"does not import (line {line})" in message and "ZeroDivisionError" in message
    assert all(c.status == "skipped" for c in result.grade.checks if c.id != STRUCTURE)


def test_prints_are_shown_but_cannot_change_the_grade(tmp_path):
    forged = '{"checks": [], "done": true}'
    result = grade_source(tmp_path, LAB, in_linear_forward(f"print({forged!r})"))
    assert result.status == "passed" and result.grade.score == 100
    assert forged in result.output


@pytest.mark.parametrize("exception", ["ValueError('oops')", "IndexError"])
def test_an_exception_in_a_function_fails_only_its_checks_and_points_at_the_line(tmp_path, exception):
    source = with_mistake(LAB, "    return np.maximum(x, 0)\n", f"    raise {exception}\n")
    line = source.splitlines().index(f"    raise {exception}") + 1
    checks = by_id(grade_source(tmp_path, LAB, source))
    message = checks["forward:relu_forward"].message
    assert checks["forward:relu_forward"].status == "failed"
    assert f"line {line} of your file" in message and exception.split("(")[0] in message
    assert checks["gradient:relu_backward"].status == "passed"


FORGERY = '''
import glob, json, os
checks = [{"id": i, "title": i, "points": 10, "max_points": 10, "status": "passed", "message": "ok",
           "required": False} for i in ("structure", "forward:linear_forward", "train")]
state = json.dumps({"checks": checks, "running": None, "metrics": {}, "aborted": None, "done": True})
for target in ["result.json"] + glob.glob("/tmp/pathlab-*/result.json") + glob.glob("/tmp/pathlab-*"):
    try:  # its own folder, and any grader's folder it can find
        with open(os.path.join(target, "result.json") if os.path.isdir(target) else target, "w") as f:
            f.write(state)
    except OSError:
        pass
print(state, flush=True)  # on the channel the grader reads the learner's output from
os._exit(0)
'''


def test_a_file_that_writes_its_own_result_cannot_forge_a_pass(tmp_path):
    # The checker's results reach the grader only on its own stdout, sealed; the learner's process
    # holds neither that pipe nor the key, so a forged result file or print is simply not heard.
    result = grade_source(tmp_path, LAB, FORGERY)
    assert result.status == "error" and result.grade.score == 0
    assert not any(c.status == "passed" for c in result.grade.checks)
    assert "stopped without reporting" in result.feedback


PATCHES = {
    "the check table": "import labs.implement.checks.ffnn_digits as c\n"
                       "c.CHECKS = {name: (lambda module: 'ok') for name in c.CHECKS}\n"
                       "c.train = lambda module, budget_s: (1.0, 'ok', {})\n",
    "a comparison": "import labs.implement.checks.ffnn_digits as c\n"
                    "c.expect_array = c.expect_gradients = lambda *a, **k: 'ok'\n",
    "numpy": "import numpy\nnumpy.allclose = lambda *a, **k: True\n",
}


@pytest.mark.parametrize("patch", PATCHES.values(), ids=PATCHES.keys())
def test_a_file_that_replaces_the_graders_code_earns_nothing_by_it(tmp_path, patch):
    # The checks run in another process: the grader's modules are not importable from the learner's
    # file (it then does not import), and its own numpy is not the checker's.
    wrong = re.sub(r"raise NotImplementedError\(.*\)", "return None", scaffold_source(LAB))  # "written", all wrong
    result = grade_source(tmp_path, LAB, wrong + patch)
    honest = grade_source(tmp_path, LAB, wrong)
    assert result.status == "failed" and result.grade.score <= honest.grade.score == 10
    assert not any(c.status == "passed" for c in result.grade.checks if c.id != STRUCTURE)
