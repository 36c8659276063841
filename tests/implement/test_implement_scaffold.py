"""Scaffolds are generated from the reference solutions: same signatures and docstrings, no answers."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from labs.implement import TASKS, get_task, scaffold_source, solution_source
from labs.implement.hints import hints_for
from labs.implement.scaffold import make_scaffold, unwritten_functions
from planner.implement import default_workspace


@pytest.mark.parametrize("lab_id", list(TASKS))
def test_scaffold_keeps_every_signature_and_docstring_but_no_body(lab_id):
    task = get_task(lab_id)
    scaffold = ast.parse(scaffold_source(lab_id))
    functions = {f.name: f for f in scaffold.body if isinstance(f, ast.FunctionDef)}
    assert set(functions) == {f.name for f in task.functions}
    for spec in task.functions:
        fn = functions[spec.name]
        assert tuple(a.arg for a in fn.args.args) == spec.params
        assert ast.get_docstring(fn)
    assert unwritten_functions(scaffold_source(lab_id)) == set(functions)
    assert unwritten_functions(solution_source(lab_id)) == set()
    assert len(hints_for(lab_id)) >= 4


def test_private_helpers_and_their_code_are_left_out():
    source = ('import numpy as np\n\n\ndef _helper(x):\n    return 2 * x\n\n\n'
              'def f(x):\n    """Doc."""\n    return _helper(x)\n')
    scaffold = make_scaffold(source)
    assert "_helper" not in scaffold and "return" not in scaffold
    assert 'raise NotImplementedError("f: not written yet")' in scaffold


def test_a_function_counts_as_written_once_anything_but_the_raise_is_there():
    source = ('def f(x):\n    """Doc."""\n    raise NotImplementedError\n\n\n'
              'def g(x):\n    y = x\n    raise NotImplementedError\n')
    assert unwritten_functions(source) == {"f"}


def test_workspace_falls_back_to_home_without_a_documents_folder(monkeypatch, tmp_path):
    monkeypatch.setattr("planner.implement.user_documents_dir", lambda: str(tmp_path / "missing"))
    monkeypatch.setattr(Path, "home", classmethod(lambda cls: tmp_path / "home"))
    assert default_workspace() == tmp_path / "home" / "pathlab-workspace"
    (tmp_path / "docs").mkdir()
    monkeypatch.setattr("planner.implement.user_documents_dir", lambda: str(tmp_path / "docs"))
    assert default_workspace() == tmp_path / "docs" / "pathlab-workspace"
