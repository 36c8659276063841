"""Scaffolds, generated from the reference solutions: same module text, signatures and docstrings, with
each function's body replaced by `raise NotImplementedError`. Private helpers (`_name`) are left out: the
learner writes those parts inside the functions, or adds helpers of their own.

Also here: recognising a function the learner has not written yet, so the grader can say so plainly.
"""

from __future__ import annotations

import ast
from importlib import resources

from labs.implement.tasks import get_task

TODO = "raise NotImplementedError(\"{name}: not written yet\")"


def solution_source(lab_id: str) -> str:
    """The reference solution's source text."""
    task = get_task(lab_id)
    return resources.files("labs.implement.solutions").joinpath(f"{task.module}.py").read_text("utf-8")


def scaffold_source(lab_id: str) -> str:
    """The file the learner starts from (see the module docstring)."""
    return make_scaffold(solution_source(lab_id))


def make_scaffold(source: str) -> str:
    lines = source.splitlines()
    functions = [n for n in ast.parse(source).body if isinstance(n, ast.FunctionDef)]
    for fn in reversed(functions):  # from the bottom, so earlier line numbers stay valid
        start = fn.lineno - 1 - len(fn.decorator_list)
        end = fn.end_lineno
        if fn.name.startswith("_"):
            while end < len(lines) and not lines[end].strip():  # its trailing blank lines too
                end += 1
            del lines[start:end]
            continue
        docstring = fn.body[0]
        keep_until = docstring.end_lineno if _is_docstring(docstring) else fn.body[0].lineno - 1
        indent = " " * (fn.col_offset + 4)
        lines[keep_until:end] = [indent + TODO.format(name=fn.name)]
    return "\n".join(lines) + "\n"


def _is_docstring(node: ast.stmt) -> bool:
    value = node.value if isinstance(node, ast.Expr) else None
    return isinstance(value, ast.Constant) and isinstance(value.value, str)


def unwritten_functions(source: str) -> set[str]:
    """Names of top-level functions whose body (after any docstring) is only `raise NotImplementedError`."""
    found = set()
    for node in ast.parse(source).body:
        if not isinstance(node, ast.FunctionDef):
            continue
        body = node.body[1:] if _is_docstring(node.body[0]) else node.body
        if len(body) == 1 and isinstance(body[0], ast.Raise) and _names_not_implemented(body[0].exc):
            found.add(node.name)
    return found


def _names_not_implemented(exc: ast.expr | None) -> bool:
    if isinstance(exc, ast.Call):
        exc = exc.func
    return isinstance(exc, ast.Name) and exc.id == "NotImplementedError"
