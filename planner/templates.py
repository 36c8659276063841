"""Numeric question templates: parameters drawn from declared ranges, a formula for the answer, and
`{name}` placeholders in the text (pure: no I/O, no storage).

A parameter is one of

    min, max, step          an integer from min to max in steps of `step` (default 1)
    min, max, decimals      a float drawn uniformly from [min, max], rounded to `decimals`
    choices                 one of the listed numbers

A formula is a small arithmetic expression, parsed with `ast` and evaluated by walking only these nodes;
anything else (attributes, subscripts, comparisons, lambdas, keywords, an undeclared name) is refused
when the formula is parsed, so a quiz file can never run code:

    numbers, the declared parameter names, the constants pi and e
    + - * / ** and parentheses, unary minus and plus
    sqrt log log2 log10 exp abs floor ceil (one argument), log round (one or two), min max (two or more)

Every value is computed as a float, so a huge power overflows (a FormulaError) instead of building a
giant integer; a division by zero, a math domain error or a non-finite result is a FormulaError too.
"""

from __future__ import annotations

import ast
import math
import random
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

Number = int | float

# name -> (function, fewest arguments, most arguments; None = any number)
FUNCTIONS: dict[str, tuple[Callable[..., Any], int, int | None]] = {
    "sqrt": (math.sqrt, 1, 1), "exp": (math.exp, 1, 1), "abs": (abs, 1, 1),
    "log2": (math.log2, 1, 1), "log10": (math.log10, 1, 1), "floor": (math.floor, 1, 1),
    "ceil": (math.ceil, 1, 1), "log": (math.log, 1, 2),
    "round": (lambda x, digits=0.0: round(x, int(digits)), 1, 2),  # digits arrive as floats, like every value
    "min": (min, 2, None), "max": (max, 2, None),
}
CONSTANTS = {"pi": math.pi, "e": math.e}
_BINARY = {ast.Add: lambda a, b: a + b, ast.Sub: lambda a, b: a - b, ast.Mult: lambda a, b: a * b,
           ast.Div: lambda a, b: a / b, ast.Pow: lambda a, b: a ** b}
MAX_FORMULA_CHARS = 500  # the longest bundled formula is ~45 characters
_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


class FormulaError(ValueError):
    """A formula that does not parse, uses something not allowed, or cannot be evaluated for a draw."""


class Param(BaseModel):
    """One template parameter; see the module docstring for its three shapes."""

    model_config = ConfigDict(extra="forbid")
    min: Number | None = None
    max: Number | None = None
    step: Number | None = Field(default=None, gt=0)
    decimals: int | None = Field(default=None, ge=0, le=6)
    choices: list[Number] | None = Field(default=None, min_length=1)

    @model_validator(mode="after")
    def _one_shape(self) -> "Param":
        if self.choices is not None:
            if self.min is not None or self.max is not None or self.step is not None or self.decimals is not None:
                raise ValueError("give either `choices` or `min`/`max`, not both")
            return self
        if self.min is None or self.max is None:
            raise ValueError("a parameter needs `min` and `max` (or `choices`)")
        if self.min > self.max:
            raise ValueError(f"min {self.min} is above max {self.max}")
        if self.decimals is not None and self.step is not None:
            raise ValueError("`step` is for integers, `decimals` for floats: give one of them")
        if self.decimals is None and not all(float(v).is_integer() for v in (self.min, self.max, self.step or 1)):
            raise ValueError("an integer parameter needs whole min, max and step (or give `decimals`)")
        return self

    def draw(self, rng: random.Random) -> Number:
        if self.choices is not None:
            return rng.choice(self.choices)
        assert self.min is not None and self.max is not None  # the validator made sure
        if self.decimals is None:
            step = int(self.step or 1)
            return int(self.min) + step * rng.randint(0, (int(self.max) - int(self.min)) // step)
        return round(rng.uniform(float(self.min), float(self.max)), self.decimals)


class Formula:
    """A parsed, checked formula; `evaluate(values)` computes it for one draw of the parameters."""

    def __init__(self, text: str, names: Iterable[str]):
        self.text = text
        self.names = set(names)
        if len(text) > MAX_FORMULA_CHARS:  # nesting deep enough to exhaust the parser's stack is refused unread
            raise FormulaError(f"formula of {len(text)} characters is longer than {MAX_FORMULA_CHARS}")
        try:
            self._tree = ast.parse(text.strip(), mode="eval").body
        except SyntaxError as exc:
            raise FormulaError(f"formula {text!r} does not parse ({exc.msg})") from None
        except (ValueError, RecursionError, MemoryError) as exc:  # a NUL byte, absurd nesting
            raise FormulaError(f"formula {text[:40]!r}... does not parse ({type(exc).__name__})") from None
        self._check(self._tree)

    def _check(self, node: ast.AST) -> None:
        if isinstance(node, ast.Constant):
            if isinstance(node.value, bool) or not isinstance(node.value, (int, float)):
                raise FormulaError(f"formula {self.text!r}: {node.value!r} is not a number")
        elif isinstance(node, ast.Name):
            if node.id not in self.names and node.id not in CONSTANTS:
                raise FormulaError(f"formula {self.text!r}: {node.id!r} is not a declared parameter")
        elif isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
            self._check(node.left)
            self._check(node.right)
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            self._check(node.operand)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in FUNCTIONS:
            _, fewest, most = FUNCTIONS[node.func.id]
            if node.keywords or any(isinstance(a, ast.Starred) for a in node.args):
                raise FormulaError(f"formula {self.text!r}: {node.func.id}() takes positional arguments only")
            if len(node.args) < fewest or (most is not None and len(node.args) > most):
                raise FormulaError(f"formula {self.text!r}: {node.func.id}() given {len(node.args)} argument(s)")
            for arg in node.args:
                self._check(arg)
        else:
            what = node.func.id if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) else \
                type(node).__name__
            raise FormulaError(f"formula {self.text!r}: {what} is not allowed (see planner.templates)")

    def evaluate(self, values: Mapping[str, Number]) -> float:
        try:
            result = self._eval(self._tree, values)
        except ZeroDivisionError:
            raise FormulaError(f"formula {self.text!r}: division by zero") from None
        except OverflowError:
            raise FormulaError(f"formula {self.text!r}: the result overflows") from None
        except (ValueError, TypeError) as exc:
            raise FormulaError(f"formula {self.text!r}: {exc}") from None
        if isinstance(result, complex) or not math.isfinite(result):
            raise FormulaError(f"formula {self.text!r}: the result is not a finite real number ({result})")
        return float(result)

    def _eval(self, node: ast.AST, values: Mapping[str, Number]) -> Any:
        if isinstance(node, ast.Constant):
            assert isinstance(node.value, (int, float))  # _check refused every other constant
            return float(node.value)
        if isinstance(node, ast.Name):
            return float(values[node.id]) if node.id in self.names else CONSTANTS[node.id]
        if isinstance(node, ast.BinOp):
            left, right = self._eval(node.left, values), self._eval(node.right, values)
            if isinstance(left, complex) or isinstance(right, complex):
                raise ValueError("a power of a negative number is not real")
            return _BINARY[type(node.op)](left, right)
        if isinstance(node, ast.UnaryOp):
            operand = self._eval(node.operand, values)
            return -operand if isinstance(node.op, ast.USub) else operand
        assert isinstance(node, ast.Call) and isinstance(node.func, ast.Name)  # _check allowed nothing else
        args = [self._eval(a, values) for a in node.args]
        if any(isinstance(a, complex) for a in args):
            raise ValueError("a power of a negative number is not real")
        return float(FUNCTIONS[node.func.id][0](*args))


def draw_values(params: Mapping[str, Param], rng: random.Random) -> dict[str, Number]:
    """One value per parameter, in declaration order (so a seed always gives the same values)."""
    return {name: param.draw(rng) for name, param in params.items()}


def values_for(question_id: str, params: Mapping[str, Param], seed: int, retry: int = 0) -> dict[str, Number]:
    """The values an attempt with `seed` draws for this question: the one home of that rule, so the
    quiz, `curriculum check` and a regrade from a stored seed all see the same numbers. `retry` > 0 is
    the next deterministic draw, for the rare draw whose formula fails (see planner.quiz.instantiate)."""
    key = f"{seed}:{question_id}:params" + (f":{retry}" if retry else "")
    return draw_values(params, random.Random(key))


def placeholders(text: str) -> set[str]:
    return set(_PLACEHOLDER.findall(text))


def format_number(value: float) -> str:
    """A number as a learner reads it: 3 not 3.0, 0.05, 786,432 (grouped as the quiz accepts it back),
    1.2e+18 for the huge ones, at most six significant digits."""
    if float(value).is_integer() and abs(value) < 1e9:
        return f"{int(value):,}" if abs(value) >= 10_000 else str(int(value))
    return f"{value:.6g}"


def fill(text: str, values: Mapping[str, Number]) -> str:
    """Replace each `{name}` whose name is in `values`; other braces are left as written."""
    return _PLACEHOLDER.sub(lambda m: format_number(values[m[1]]) if m[1] in values else m[0], text)
