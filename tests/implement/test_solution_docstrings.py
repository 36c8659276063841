"""The scaffold hands the learner the solution's docstrings (scaffold.py), so they state the contract and
point to the lesson; a docstring that writes out a gradient (`dW = ...`) would turn a pass into copying."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

SOLUTIONS = sorted(p for p in (Path(__file__).resolve().parents[2] / "labs/implement/solutions").glob("*.py")
                   if p.name != "__init__.py")

GRADIENT_FORMULA = re.compile(r"\bd[A-Za-z_/]*(\[[^\]]*\])?\s*=(?!\s*dL/)")
"""A gradient written as an assignment, `dv = P^T @ dout` or `dL/da = dh * ...`; the inputs' definitions
(`dout = dL/dout`) say what the function receives and are allowed."""


def scaffold_docstrings(path: Path) -> dict[str, str]:
    """The module's docstring and each public function's: what scaffold.py copies into the learner's file."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = {"module": ast.get_docstring(tree) or ""}
    found |= {node.name: ast.get_docstring(node) or "" for node in tree.body
              if isinstance(node, ast.FunctionDef) and not node.name.startswith("_")}
    return found


def test_the_pattern_catches_a_transcribed_gradient_and_spares_the_input():
    assert GRADIENT_FORMULA.search("Then dv = P^T @ dout and dP = dout @ v^T.")
    assert GRADIENT_FORMULA.search("By the chain rule, dL/dx[n, i] = sum_j dout[n, j] * W[i, j]")
    assert not GRADIENT_FORMULA.search("given dout = dL/dout (N, T, d). Returns (dq, dk, dv).")


@pytest.mark.parametrize("path", SOLUTIONS, ids=lambda p: p.stem)
def test_no_docstring_hands_over_a_gradient(path):
    for name, doc in scaffold_docstrings(path).items():
        match = GRADIENT_FORMULA.search(doc)
        assert match is None, f"{path.name} {name}: the docstring writes out a gradient: {match.group(0)!r}..."
