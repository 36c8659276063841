"""The curriculum loader: a valid graph loads in order; every kind of authoring mistake is reported,
all at once, naming its file, node and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from planner.curriculum import CurriculumError, load_curriculum
from tests.conftest import FIXTURE_LAB_IDS


def _problems(root: Path, **kwargs) -> list[str]:
    with pytest.raises(CurriculumError) as info:
        load_curriculum(root, **kwargs)
    assert len(str(info.value).splitlines()) == len(info.value.problems) + 1
    return [str(p) for p in info.value.problems]


def _append(path: Path, text: str) -> None:
    path.write_text(path.read_text(encoding="utf-8") + "\n" + text, encoding="utf-8")


NODE = """
[[node]]
id = "{id}"
title = "{id}"
kind = "concept"
track = "foundations"
prerequisites = {prereqs}
lesson = "large-models.md"
"""


def test_fixture_loads_in_file_order_with_graph_queries(curriculum):
    assert list(curriculum.nodes) == ["large-models", "gradient-descent", "applications", "ffnn", "ml-engineer"]
    assert curriculum.nodes["ml-engineer"].prerequisites == ["gradient-descent", "ffnn"]
    assert [r.id for r in curriculum.roles] == ["ml-engineer"]
    assert curriculum.tracks == ["foundations", "models", "careers"]
    assert curriculum.dependants("large-models") == ["gradient-descent", "applications"]
    assert curriculum.dependants("ffnn") == ["ml-engineer"]
    assert curriculum.lesson_text("ffnn").startswith("# ffnn")
    assert curriculum.lesson_text("ml-engineer") == ""
    quiz = curriculum.quiz_for("gradient-descent")
    assert quiz is not None and [q.id for q in quiz.questions] == ["step-direction", "halve"]
    assert quiz.questions[0].options[0].correct and quiz.questions[1].tolerance == 0.0
    assert curriculum.quiz_for("ffnn") is None


def test_topological_order_puts_prerequisites_first(curriculum_copy):
    # Define a node before its prerequisite: file order alone would be wrong.
    path = curriculum_copy / "curriculum" / "00-early.toml"
    path.write_text(NODE.format(id="needs-ffnn", prereqs='["ffnn"]'), encoding="utf-8")
    c = load_curriculum(curriculum_copy)
    order = c.topological_order()
    assert list(c.nodes)[0] == "needs-ffnn"
    assert sorted(order) == sorted(c.nodes)
    for node in c.nodes.values():
        assert all(order.index(p) < order.index(node.id) for p in node.prerequisites)


def test_tracks_follow_the_graph_not_the_file_names(curriculum_copy):
    folder = curriculum_copy / "curriculum"
    (folder / "20-models.toml").rename(folder / "00-models.toml")
    c = load_curriculum(curriculum_copy)
    assert list(c.nodes)[0] == "ffnn"  # file order
    assert c.tracks == ["foundations", "models", "careers"]


def test_unknown_node_lookup_names_the_id(curriculum):
    with pytest.raises(KeyError, match="nope"):
        curriculum.lesson_text("nope")


def test_every_graph_problem_is_reported_at_once(curriculum_copy):
    folder = curriculum_copy / "curriculum"
    _append(folder / "20-models.toml", NODE.format(id="loop-a", prereqs='["loop-c"]')
            + NODE.format(id="loop-b", prereqs='["loop-a"]') + NODE.format(id="loop-c", prereqs='["loop-b"]')
            + NODE.format(id="orphan", prereqs='["no-such-node"]')
            + NODE.format(id="gradient-descent", prereqs="[]"))
    (curriculum_copy / "lessons" / "ffnn.md").unlink()
    problems = _problems(curriculum_copy, lab_ids=FIXTURE_LAB_IDS - {"gd-linear"})
    text = "\n".join(problems)
    assert "prerequisite cycle: loop-a -> loop-c -> loop-b -> loop-a" in text
    assert "20-models.toml [orphan] prerequisites: unknown node 'no-such-node'" in text
    assert "20-models.toml [gradient-descent] id: duplicate id (first defined in 10-foundations.toml)" in text
    assert "[ffnn] lesson: lesson file not found: lessons/ffnn.md" in text
    assert "[gradient-descent] lab: unknown lab id 'gd-linear'" in text
    assert len(problems) == 5


def test_a_lesson_that_is_not_utf8_is_a_problem_not_a_crash_later(curriculum_copy):
    # `curriculum check` said OK, then opening the node in the app raised UnicodeDecodeError.
    (curriculum_copy / "lessons" / "ffnn.md").write_bytes(b"# ffnn\n\xff\xfe caf\xe9\n")
    problems = _problems(curriculum_copy)
    assert len(problems) == 1
    assert "[ffnn] lesson: lessons/ffnn.md is not UTF-8 text" in problems[0]


def test_lab_ids_are_only_checked_when_given(curriculum_copy):
    _append(curriculum_copy / "curriculum" / "20-models.toml",
            NODE.format(id="new-node", prereqs="[]") + 'lab = "not-a-lab"\n')
    assert "new-node" in load_curriculum(curriculum_copy).nodes
    assert _problems(curriculum_copy, lab_ids=FIXTURE_LAB_IDS) == [
        "20-models.toml [new-node] lab: unknown lab id 'not-a-lab'"]


def test_toml_syntax_error_gives_the_line_and_other_files_still_checked(curriculum_copy):
    (curriculum_copy / "curriculum" / "30-broken.toml").write_text(
        '[[node]]\nid = "x"\ntitle = "unterminated\n', encoding="utf-8")
    (curriculum_copy / "lessons" / "applications.md").unlink()
    problems = _problems(curriculum_copy)
    assert any(p.startswith("30-broken.toml: TOML syntax error") and "line 3" in p for p in problems)
    assert any("[applications] lesson" in p for p in problems)


def test_bad_field_types_and_role_rules_become_field_messages(curriculum_copy):
    _append(curriculum_copy / "curriculum" / "20-models.toml", """
[[node]]
id = "typo"
title = "Typo"
kind = "concept"
track = "foundations"
hours = "three"
lesson = "ffnn.md"
prerequisits = ["ffnn"]

[[node]]
id = "Bad Id"
title = "x"
kind = "skill"
track = "models"
lesson = "ffnn.md"

[[node]]
id = "astronaut"
title = "Astronaut"
kind = "role"
track = "careers"
requires = ["ffnn", "rocketry"]
""")
    text = "\n".join(_problems(curriculum_copy))
    assert "[typo] hours: Input should be a valid number" in text and "'three'" in text
    assert "[typo] prerequisits: Extra inputs are not permitted" in text
    assert "[Bad Id] id: String should match pattern" in text
    assert "[Bad Id] kind:" in text and "'skill'" in text
    assert "[astronaut] requires: unknown node 'rocketry'" in text


def test_quiz_problems_are_reported_per_question(curriculum_copy):
    quizzes = curriculum_copy / "quizzes"
    (quizzes / "gradient-descent.toml").write_text("""
node = "gradient-descent"
[[question]]
id = "none-right"
kind = "single"
prompt = "?"
  [[question.option]]
  text = "a"
  [[question.option]]
  text = "b"
[[question]]
id = "two-right"
kind = "single"
prompt = "?"
  [[question.option]]
  text = "a"
  correct = true
  [[question.option]]
  text = "b"
  correct = true
[[question]]
id = "two-right"
kind = "multiple"
prompt = "?"
  [[question.option]]
  text = "a"
  correct = true
  [[question.option]]
  text = "b"
  correct = true
[[question]]
id = "guess"
kind = "numeric"
prompt = "?"
answer = 3
""", encoding="utf-8")
    (quizzes / "ghost.toml").write_text(
        'node = "ghost"\n[[question]]\nid = "q"\nkind = "numeric"\nprompt = "?"\nanswer = 1\ntolerance = 0\n',
        encoding="utf-8")
    problems = _problems(curriculum_copy)
    assert problems == [
        "gradient-descent.toml [gradient-descent] question[none-right].option: no option is marked correct",
        "gradient-descent.toml [gradient-descent] question[two-right].option: "
        "a single-choice question has 2 correct options",
        "gradient-descent.toml [gradient-descent] question[two-right].id: duplicate question id",
        "gradient-descent.toml [gradient-descent] question[guess].tolerance: "
        "a numeric question needs a `tolerance` (0 for exact)",
        "ghost.toml node: unknown node 'ghost'",
    ]


TEMPLATE_QUIZ = """
node = "gradient-descent"
draw = 5
[[question]]
id = "fine"
kind = "numeric"
prompt = "w = {w}, lr = {lr}: new w for L = w^2?"
formula = "w - lr * 2 * w"
tolerance = 1e-6
  [question.params.w]
  min = -3
  max = 3
  [question.params.lr]
  choices = [0.1, 0.2]
[[question]]
id = "zero-draw"
kind = "numeric"
prompt = "Divide 6 by {w}."
formula = "6 / w"
tolerance = 0
  [question.params.w]
  min = -3
  max = 3
[[question]]
id = "sneaky"
kind = "numeric"
prompt = "{w} and {nope}"
formula = "__import__('os').getcwd()"
rel_tolerance = 0.1
  [question.params.w]
  choices = [1]
[[question]]
id = "both"
kind = "numeric"
prompt = "{w}"
formula = "w"
answer = 1
  [question.params.w]
  min = 2
  max = 1
"""


def test_templates_are_checked_over_seeded_draws_naming_file_question_and_field(curriculum_copy, run_cli):
    (curriculum_copy / "quizzes" / "gradient-descent.toml").write_text(TEMPLATE_QUIZ, encoding="utf-8")
    problems = _problems(curriculum_copy)
    where = "gradient-descent.toml [gradient-descent] "
    # `both` has an impossible range (min > max): pydantic refuses the file before any draw.
    assert problems == [where + "question.3.params.w: min 2 is above max 1"], problems
    fixed = TEMPLATE_QUIZ.replace("min = 2\n  max = 1", "min = 1\n  max = 2")
    (curriculum_copy / "quizzes" / "gradient-descent.toml").write_text(fixed, encoding="utf-8")
    problems = _problems(curriculum_copy)
    assert problems[0] == where + "draw: draw = 5 but the pool holds 4 question(s)"
    assert any(p.startswith(where + "question[zero-draw].formula: formula '6 / w': division by zero for seed ")
               and "(w=0)" in p for p in problems), problems
    assert where + "question[sneaky].prompt: placeholder {nope} is not a parameter" in problems
    assert any(p.startswith(where + "question[sneaky].formula: ") and "not allowed" in p for p in problems)
    assert where + ("question[both].answer: a template computes its answer: give `formula` or `answer`, "
                    "not both") in problems
    assert where + "question[both].tolerance: a template needs a `tolerance` and/or a `rel_tolerance`" in problems
    assert not any("question[fine]" in p for p in problems)
    result = run_cli("curriculum", "check", str(curriculum_copy), "--no-lab-ids")
    assert result.exit_code == 1 and "question[zero-draw].formula" in result.stderr


def test_a_template_question_kind_must_be_numeric(curriculum_copy):
    (curriculum_copy / "quizzes" / "gradient-descent.toml").write_text("""
node = "gradient-descent"
[[question]]
id = "pick"
kind = "single"
prompt = "{x}?"
formula = "x"
  [question.params.x]
  choices = [1]
  [[question.option]]
  text = "a"
  correct = true
  [[question.option]]
  text = "b"
""", encoding="utf-8")
    assert _problems(curriculum_copy) == [
        "gradient-descent.toml [gradient-descent] question[pick].formula: "
        "only a numeric question can be a template (formula, params)"]


def test_missing_directory_is_a_problem_not_a_traceback(tmp_path):
    assert _problems(tmp_path) == [f"{tmp_path}: no curriculum/ directory here"]


def _bundled_root() -> Path:
    from labs.datapath import data_dir

    return data_dir()


def test_bundled_curriculum_is_valid_with_the_agreed_roles():
    c = load_curriculum(_bundled_root())
    assert {r.id for r in c.roles} == {"ml-engineer", "cv-engineer", "llm-engineer", "research-scientist",
                                       "data-scientist", "mlops-engineer", "ai-product-manager"}
    assert all(c.lesson_text(n.id).strip() for n in c.skills)


def test_bundled_curriculum_names_only_labs_in_the_catalogue():
    import labs.catalog

    load_curriculum(_bundled_root(), lab_ids=set(labs.catalog.lab_ids()))


def test_an_oversized_lesson_is_a_problem_found_without_reading_it(curriculum_copy, monkeypatch):
    """A 192 MB lesson passed the check and froze the app; now stat() refuses it and no byte is read."""
    from planner.curriculum import LESSON_MAX_BYTES

    huge = curriculum_copy / "lessons" / "ffnn.md"
    with huge.open("r+b") as f:
        f.truncate(192 * 1024 * 1024)  # sparse: costs no disk
    real_read_bytes = Path.read_bytes

    def guarded(self: Path) -> bytes:
        assert self.name != "ffnn.md", "the oversized lesson was read"
        return real_read_bytes(self)

    monkeypatch.setattr(Path, "read_bytes", guarded)
    assert _problems(curriculum_copy) == [
        f"20-models.toml [ffnn] lesson: lessons/ffnn.md is too large: 201,326,592 bytes, "
        f"over the limit of {LESSON_MAX_BYTES:,} bytes"]


def test_a_lesson_at_the_limit_still_loads(curriculum_copy):
    from planner.curriculum import LESSON_MAX_BYTES

    lesson = curriculum_copy / "lessons" / "ffnn.md"
    lesson.write_bytes(b"# FFNN\n" + b"x" * (LESSON_MAX_BYTES - 7))
    assert lesson.stat().st_size == LESSON_MAX_BYTES
    assert len(load_curriculum(curriculum_copy).lesson_text("ffnn")) == LESSON_MAX_BYTES


def test_an_oversized_quiz_is_a_problem_naming_it(curriculum_copy):
    from planner.curriculum import TOML_MAX_BYTES

    quiz = curriculum_copy / "quizzes" / "gradient-descent.toml"
    _append(quiz, "# " + "x" * TOML_MAX_BYTES)
    problems = _problems(curriculum_copy)
    assert any(p.startswith("gradient-descent.toml: the file is too large:") for p in problems), problems


@pytest.mark.parametrize("nested", ["[" * 5000 + "]" * 5000, "{a = " * 5000 + "1" + "}" * 5000],
                         ids=["arrays", "inline-tables"])
def test_deeply_nested_toml_is_one_problem_naming_the_file(curriculum_copy, nested):
    """tomllib recurses per level: this raised RecursionError out of `curriculum check`."""
    (curriculum_copy / "curriculum" / "40-deep.toml").write_text(f"x = {nested}\n", encoding="utf-8")
    assert _problems(curriculum_copy) == ["40-deep.toml: TOML nested too deeply to read (arrays or tables "
                                          "inside each other thousands of levels deep)"]
