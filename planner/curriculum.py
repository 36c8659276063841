"""The skill graph: nodes, roles and quizzes, loaded from TOML and checked as a whole.

A curriculum directory (by default `labs.datapath.data_dir()`) holds

    curriculum/*.toml   `[[node]]` tables, read in file-name order (ids unique across files)
    lessons/*.md        one lesson per concept/model node (`lesson = "x.md"`)
    quizzes/*.toml      one quiz per node that has `quiz = "x.toml"`; each names its `node`

The format is in ARCHITECTURE.md. Public API:

    load_curriculum(root: Path | None = None, *, lab_ids: set[str] | None = None) -> Curriculum
        Reads and validates everything; raises CurriculumError listing EVERY problem found, so an
        author fixes a file in one pass. `lab_ids` (e.g. `labs.catalog.lab_ids()`) turns on the
        unknown-lab check; without it lab ids are not checked.

    Curriculum.nodes: dict[str, Node]       in file order
    Curriculum.quizzes: dict[str, Quiz]     by node id
    Curriculum.roles -> list[Node]          the kind == "role" nodes, in file order
    Curriculum.skills -> list[Node]         every other node
    Curriculum.tracks -> list[str]          track names in the order their first node unlocks
    Curriculum.node(node_id) -> Node        KeyError naming the id if unknown
    Curriculum.quiz_for(node_id) -> Quiz | None
    Curriculum.lesson_text(node_id) -> str  the lesson markdown ("" for a node without a lesson)
    Curriculum.dependants(node_id) -> list[str]   nodes that list it as a prerequisite
    Curriculum.topological_order() -> list[str]   prerequisites first, ties in file order

    CurriculumError(problems: list[Problem]); Problem(file, node_id, field, message)

For a role, `prerequisites` default to its `requires`: a role unlocks once its skills are done.

Size limits (checked with stat() before a byte is read, so a huge file costs nothing): a lesson at most
LESSON_MAX_BYTES, a quiz or curriculum file at most TOML_MAX_BYTES; a larger one is a problem naming it.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, model_validator

from planner.templates import Formula, FormulaError, Param, fill, placeholders, values_for

Slug = Annotated[str, StringConstraints(pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$")]

LESSON_MAX_BYTES = 1024 * 1024  # a long lesson is ~30 KB; the app renders the whole text at once
TOML_MAX_BYTES = 256 * 1024     # a quiz or a curriculum file; the largest bundled one is a few KB
TEMPLATE_SAMPLE_DRAWS = 200     # draws `curriculum check` evaluates per template (seeds 0..199)
LOAD_TEMPLATE_DRAWS = 20        # ... and every other load: 200 cost ~95 ms over the bundled 31 templates


# -- problems --------------------------------------------------------------------------------------


class Problem(BaseModel):
    """One thing wrong with the curriculum, located as precisely as we can."""

    file: str
    node_id: str | None = None
    field: str | None = None
    message: str

    def __str__(self) -> str:
        where = self.file
        if self.node_id:
            where += f" [{self.node_id}]"
        if self.field:
            where += f" {self.field}"
        return f"{where}: {self.message}"


class CurriculumError(Exception):
    """The curriculum is invalid; `problems` holds every problem found, `str()` lists them all."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        lines = [f"{len(problems)} problem(s) in the curriculum:"] + [f"  - {p}" for p in problems]
        super().__init__("\n".join(lines))


# -- models ----------------------------------------------------------------------------------------


class Option(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str
    correct: bool = False
    explanation: str = ""


class Question(BaseModel):
    """single/multiple questions carry `options`; numeric ones an `answer` within `tolerance` (absolute)
    and/or `rel_tolerance` (a share of the answer), or, as a template, a `formula` over `params` drawn
    per attempt (planner.templates) with `{name}` placeholders in the prompt and explanation."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    id: Slug
    kind: Literal["single", "multiple", "numeric"]
    prompt: str
    points: float = Field(default=1.0, gt=0)
    options: list[Option] = Field(default_factory=list, alias="option")
    answer: float | None = None
    tolerance: float | None = Field(default=None, ge=0)
    rel_tolerance: float | None = Field(default=None, ge=0)
    formula: str | None = None
    params: dict[str, Param] = Field(default_factory=dict)
    explanation: str = ""

    @property
    def is_template(self) -> bool:
        return self.formula is not None

    def allowed_error(self, answer: float) -> float:
        """How far a numeric answer may be from `answer` and still be right."""
        return max(self.tolerance or 0.0, (self.rel_tolerance or 0.0) * abs(answer))


class Quiz(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    node: str
    pass_mark: float = Field(default=0.8, gt=0, le=1)
    draw: int | None = Field(default=None, ge=1, description="questions per attempt; None: all of them")
    questions: list[Question] = Field(alias="question", min_length=1)
    file: str = ""  # set by the loader: the file name under quizzes/

    @property
    def max_points(self) -> float:
        return sum(q.points for q in self.questions)


class Node(BaseModel):
    """A concept, a model family or a career role. Roles list the skills they need in `requires`."""

    model_config = ConfigDict(extra="forbid")
    id: Slug
    title: str = Field(min_length=1)
    kind: Literal["concept", "model", "role"]
    track: str = Field(min_length=1)
    prerequisites: list[str] = Field(default_factory=list)
    hours: float = Field(default=1.0, ge=0, description="estimated hours of study")
    summary: str = ""
    lesson: str | None = None
    quiz: str | None = None
    lab: str | None = None
    requires: list[str] = Field(default_factory=list)
    description: str = ""
    file: str = ""  # set by the loader: the file name under curriculum/

    @model_validator(mode="after")
    def _role_rules(self) -> "Node":
        if self.kind == "role":
            if not self.requires:
                raise ValueError("a role must list the skill nodes it `requires`")
            if not self.prerequisites:
                self.prerequisites = list(self.requires)
        else:
            if self.requires:
                raise ValueError("only roles have `requires`; use `prerequisites`")
            if not self.lesson:
                raise ValueError(f"a {self.kind} node needs a `lesson` file")
        return self

    @property
    def is_role(self) -> bool:
        return self.kind == "role"


class Curriculum(BaseModel):
    root: Path
    nodes: dict[str, Node]
    quizzes: dict[str, Quiz] = Field(default_factory=dict)

    @property
    def roles(self) -> list[Node]:
        return [n for n in self.nodes.values() if n.is_role]

    @property
    def skills(self) -> list[Node]:
        return [n for n in self.nodes.values() if not n.is_role]

    @property
    def tracks(self) -> list[str]:
        """Track names, earliest-reachable first (foundations before careers whatever the file names)."""
        return list(dict.fromkeys(self.nodes[i].track for i in self.topological_order()))

    def node(self, node_id: str) -> Node:
        try:
            return self.nodes[node_id]
        except KeyError:
            raise KeyError(f"unknown node {node_id!r}") from None

    def quiz_for(self, node_id: str) -> Quiz | None:
        return self.quizzes.get(node_id)

    def lesson_text(self, node_id: str) -> str:
        node = self.node(node_id)
        if not node.lesson:
            return ""
        return (self.root / "lessons" / node.lesson).read_text(encoding="utf-8")

    def dependants(self, node_id: str) -> list[str]:
        self.node(node_id)
        return [n.id for n in self.nodes.values() if node_id in n.prerequisites]

    def topological_order(self) -> list[str]:
        """Every node after all its prerequisites; among ready nodes, file order wins (stable)."""
        done: set[str] = set()
        order: list[str] = []
        pending = list(self.nodes.values())
        while pending:
            ready = [n for n in pending if all(p in done for p in n.prerequisites)]
            if not ready:  # unreachable for a validated curriculum (cycles are rejected)
                raise ValueError("the prerequisite graph has a cycle")
            for n in ready:
                done.add(n.id)
                order.append(n.id)
            pending = [n for n in pending if n.id not in done]
        return order


# -- loading ---------------------------------------------------------------------------------------


def load_curriculum(root: Path | None = None, *, lab_ids: set[str] | None = None,
                    template_draws: int = LOAD_TEMPLATE_DRAWS) -> Curriculum:
    """Load and validate the curriculum under `root`; raise CurriculumError with every problem.
    Each numeric template is evaluated over `template_draws` seeded draws (`curriculum check` asks for
    TEMPLATE_SAMPLE_DRAWS; every command and the app's start only for a few, to start fast)."""
    if root is None:
        from labs.datapath import data_dir

        root = data_dir()
    root = Path(root)
    problems: list[Problem] = []
    if not (root / "curriculum").is_dir():
        raise CurriculumError([Problem(file=str(root), message="no curriculum/ directory here")])

    nodes = _load_nodes(root / "curriculum", problems)
    quizzes = _load_quizzes(root / "quizzes", problems, template_draws)
    problems += _graph_problems(nodes)
    problems += _file_problems(root, nodes.values(), lab_ids)
    problems += _quiz_link_problems(nodes, quizzes)
    if problems:
        raise CurriculumError(problems)
    return Curriculum(root=root, nodes=nodes, quizzes={q.node: q for q in quizzes})


def _too_big(path: Path, limit: int) -> str | None:
    """Why `path` is too large to read ("... bytes, over the limit of ..."), or None; stat() only."""
    size = path.stat().st_size
    if size <= limit:
        return None
    return f"{size:,} bytes, over the limit of {limit:,} bytes"


def _read_toml(path: Path, problems: list[Problem]) -> dict[str, Any] | None:
    try:
        too_big = _too_big(path, TOML_MAX_BYTES)
        if too_big:
            problems.append(Problem(file=path.name, message=f"the file is too large: {too_big}"))
            return None
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:  # the message carries "(at line N, column M)"
        problems.append(Problem(file=path.name, message=f"TOML syntax error: {exc}"))
    except RecursionError:  # tomllib parses nested arrays and tables recursively
        problems.append(Problem(file=path.name, message="TOML nested too deeply to read (arrays or tables "
                                                        "inside each other thousands of levels deep)"))
    except (UnicodeDecodeError, OSError) as exc:
        problems.append(Problem(file=path.name, message=f"cannot read the file: {exc}"))
    return None


def _validation_problems(exc: ValidationError, file: str, node_id: str | None) -> list[Problem]:
    """Pydantic's errors as file/node/field messages an author can act on."""
    out = []
    for err in exc.errors():
        field = ".".join(str(part) for part in err["loc"]) or None
        message = err["msg"].removeprefix("Value error, ")
        if "input" in err and err["type"] not in ("missing", "value_error"):
            message += f" (got {err['input']!r})"
        out.append(Problem(file=file, node_id=node_id, field=field, message=message))
    return out


def _load_nodes(folder: Path, problems: list[Problem]) -> dict[str, Node]:
    nodes: dict[str, Node] = {}
    files = sorted(folder.glob("*.toml"))
    if not files:
        problems.append(Problem(file=str(folder), message="no *.toml files with [[node]] tables"))
    for path in files:
        data = _read_toml(path, problems)
        if data is None:
            continue
        raw_nodes = data.get("node", [])
        if not isinstance(raw_nodes, list) or not raw_nodes:
            problems.append(Problem(file=path.name, message="expected one or more [[node]] tables"))
            continue
        for raw in raw_nodes:
            node = _parse_node(raw, path.name, problems)
            if node is None:
                continue
            if node.id in nodes:
                first = nodes[node.id].file
                problems.append(Problem(file=path.name, node_id=node.id, field="id",
                                        message=f"duplicate id (first defined in {first})"))
                continue
            nodes[node.id] = node
    return nodes


def _parse_node(raw: Any, file: str, problems: list[Problem]) -> Node | None:
    node_id = raw.get("id") if isinstance(raw, dict) and isinstance(raw.get("id"), str) else None
    if not isinstance(raw, dict):
        problems.append(Problem(file=file, message="each [[node]] must be a table"))
        return None
    try:
        return Node.model_validate({**raw, "file": file})
    except ValidationError as exc:
        problems.extend(_validation_problems(exc, file, node_id))
        return None


def _graph_problems(nodes: dict[str, Node]) -> list[Problem]:
    """Unknown prerequisites/requires, and every cycle (printed a -> b -> a)."""
    out: list[Problem] = []
    for node in nodes.values():
        field = "requires" if node.is_role else "prerequisites"
        names = node.requires if node.is_role else node.prerequisites
        for ref in names:
            if ref not in nodes:
                out.append(Problem(file=node.file, node_id=node.id, field=field,
                                   message=f"unknown node {ref!r}"))
            elif ref == node.id:
                out.append(Problem(file=node.file, node_id=node.id, field=field,
                                   message="a node cannot require itself"))
        if node.is_role:
            for ref in node.prerequisites:
                if ref not in nodes and ref not in node.requires:
                    out.append(Problem(file=node.file, node_id=node.id, field="prerequisites",
                                       message=f"unknown node {ref!r}"))
    for cycle in _find_cycles(nodes):
        first = nodes[cycle[0]]
        out.append(Problem(file=first.file, node_id=first.id, field="prerequisites",
                           message="prerequisite cycle: " + " -> ".join(cycle)))
    return out


def _find_cycles(nodes: dict[str, Node]) -> list[list[str]]:
    """Each cycle once, as a closed path [a, b, c, a], found by depth-first search."""
    state: dict[str, str] = {}  # id -> "active" (on the stack) | "done"
    cycles: list[list[str]] = []

    def visit(node_id: str, stack: list[str]) -> None:
        state[node_id] = "active"
        stack.append(node_id)
        for ref in nodes[node_id].prerequisites:
            if ref not in nodes or ref == node_id:
                continue  # reported as unknown / self-reference
            if state.get(ref) == "active":
                cycles.append(stack[stack.index(ref):] + [ref])
            elif ref not in state:
                visit(ref, stack)
        stack.pop()
        state[node_id] = "done"

    for node_id in nodes:
        if node_id not in state:
            visit(node_id, [])
    return cycles


def _lesson_problem(path: Path, name: str) -> str | None:
    """Why the app could not show this lesson (missing, or not UTF-8 as `lesson_text` reads it), or None."""
    if not path.is_file():
        return f"lesson file not found: lessons/{name}"
    try:
        too_big = _too_big(path, LESSON_MAX_BYTES)
        if too_big:
            return f"lessons/{name} is too large: {too_big}"
        path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        return f"lessons/{name} is not UTF-8 text (byte {exc.start}); save it as UTF-8"
    return None


def _file_problems(root: Path, nodes: Iterable[Node], lab_ids: set[str] | None) -> list[Problem]:
    out: list[Problem] = []
    for node in nodes:
        if node.lesson:
            message = _lesson_problem(root / "lessons" / node.lesson, node.lesson)
            if message:
                out.append(Problem(file=node.file, node_id=node.id, field="lesson", message=message))
        if node.quiz and not (root / "quizzes" / node.quiz).is_file():
            out.append(Problem(file=node.file, node_id=node.id, field="quiz",
                               message=f"quiz file not found: quizzes/{node.quiz}"))
        if lab_ids is not None and node.lab and node.lab not in lab_ids:
            out.append(Problem(file=node.file, node_id=node.id, field="lab",
                               message=f"unknown lab id {node.lab!r}"))
    return out


# -- quizzes ---------------------------------------------------------------------------------------


def _load_quizzes(folder: Path, problems: list[Problem], template_draws: int) -> list[Quiz]:
    quizzes: list[Quiz] = []
    for path in sorted(folder.glob("*.toml")) if folder.is_dir() else []:
        data = _read_toml(path, problems)
        if data is None:
            continue
        node_id = data.get("node") if isinstance(data.get("node"), str) else None
        try:
            quiz = Quiz.model_validate({**data, "file": path.name})
        except ValidationError as exc:
            problems.extend(_validation_problems(exc, path.name, node_id))
            continue
        problems.extend(_question_problems(quiz, template_draws))
        quizzes.append(quiz)
    return quizzes


def _question_problems(quiz: Quiz, template_draws: int) -> list[Problem]:
    """Rules pydantic cannot see one question at a time: answers that cannot be right, duplicates."""
    out: list[Problem] = []
    seen: set[str] = set()

    def add(q: Question, field: str, message: str) -> None:
        out.append(Problem(file=quiz.file, node_id=quiz.node, field=f"question[{q.id}].{field}",
                           message=message))

    if quiz.draw is not None and quiz.draw > len(quiz.questions):
        out.append(Problem(file=quiz.file, node_id=quiz.node, field="draw",
                           message=f"draw = {quiz.draw} but the pool holds {len(quiz.questions)} question(s)"))
    for q in quiz.questions:
        if q.id in seen:
            add(q, "id", "duplicate question id")
        seen.add(q.id)
        if q.kind != "numeric" and (q.formula is not None or q.params):
            add(q, "formula", "only a numeric question can be a template (formula, params)")
        if q.kind == "numeric":
            if q.is_template:
                out.extend(Problem(file=quiz.file, node_id=quiz.node, field=f"question[{q.id}].{field}",
                                   message=message) for field, message in template_problems(q, template_draws))
                continue
            if q.params:
                add(q, "params", "params are drawn only for a template: give a `formula` too")
            if q.answer is None:
                add(q, "answer", "a numeric question needs an `answer`")
            if q.tolerance is None and q.rel_tolerance is None:
                add(q, "tolerance", "a numeric question needs a `tolerance` (0 for exact)")
            continue
        correct = sum(o.correct for o in q.options)
        if len(q.options) < 2:
            add(q, "option", f"a {q.kind}-choice question needs at least two options")
        if correct == 0:
            add(q, "option", "no option is marked correct")
        elif q.kind == "single" and correct > 1:
            add(q, "option", f"a single-choice question has {correct} correct options")
    return out




def template_problems(q: Question, draws: int = TEMPLATE_SAMPLE_DRAWS) -> list[tuple[str, str]]:
    """(field, message) for a template that could show a learner a broken question: a formula that does
    not parse or uses something not allowed, a placeholder no parameter binds, a parameter the prompt never
    shows, or a seeded draw whose answer is not a finite number (division by zero, overflow, ...)."""
    out: list[tuple[str, str]] = []
    if q.answer is not None:
        out.append(("answer", "a template computes its answer: give `formula` or `answer`, not both"))
    if q.tolerance is None and q.rel_tolerance is None:
        out.append(("tolerance", "a template needs a `tolerance` and/or a `rel_tolerance`"))
    if not q.params:
        out.append(("params", "a template needs at least one parameter"))
    for name in sorted(placeholders(q.prompt) - set(q.params)):
        out.append(("prompt", f"placeholder {{{name}}} is not a parameter"))
    for name in sorted(placeholders(q.explanation) - set(q.params) - {"answer"}):
        out.append(("explanation", f"placeholder {{{name}}} is not a parameter (nor {{answer}})"))
    for name in [n for n in q.params if n not in placeholders(q.prompt)]:
        out.append((f"params.{name}", f"parameter {name!r} is drawn but the prompt never shows it ({{{name}}})"))
    try:
        formula = Formula(q.formula or "", q.params)
    except FormulaError as exc:
        return [*out, ("formula", str(exc))]
    for seed in range(draws):  # the same draws planner.quiz makes, over a fixed sample of seeds
        values = values_for(q.id, q.params, seed)
        try:
            formula.evaluate(values)
        except FormulaError as exc:
            shown = ", ".join(f"{k}={fill('{' + k + '}', values)}" for k in values)
            out.append(("formula", f"{exc} for seed {seed} ({shown})"))
            break
    return out


def _quiz_link_problems(nodes: dict[str, Node], quizzes: list[Quiz]) -> list[Problem]:
    """Each quiz names a known node, at most one quiz per node, and the node points at that file."""
    out: list[Problem] = []
    by_node: dict[str, Quiz] = {}
    for quiz in quizzes:
        node = nodes.get(quiz.node)
        if node is None:
            out.append(Problem(file=quiz.file, field="node", message=f"unknown node {quiz.node!r}"))
        elif quiz.node in by_node:
            out.append(Problem(file=quiz.file, node_id=quiz.node, field="node",
                               message=f"a second quiz for this node (first: {by_node[quiz.node].file})"))
        elif node.quiz != quiz.file:
            out.append(Problem(file=quiz.file, node_id=quiz.node, field="node",
                               message=f"node {quiz.node!r} does not name this quiz (its quiz = {node.quiz!r})"))
        by_node.setdefault(quiz.node, quiz)
    return out
