"""The demo: a sample learner part-way along the foundations, made of REAL runs done on the spot.

`pathlab demo` opens the app on a separate database holding this learner. Nothing is invented: each
quiz is graded and each lab trains in its worker and is recorded through `Service`, exactly as a
learner's own would be, at small sizes so the whole demo builds in seconds. The sample learner makes
a first gd-linear attempt with too large a step and too few of them, then a good one, so History has
two runs to compare, and stops part-way into backpropagation.

    build_demo(store, curriculum, on_step=print, runner_factory=None) -> Learner
    demo_db_path() -> Path          the demo's own database, beside the user's (never the same file)
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from planner.curriculum import Curriculum, Quiz
from planner.records import Learner
from planner.store import Store

DEMO_LEARNER = "Sam (demo)"
DEMO_ROLE = "ml-engineer"
DEMO_HOURS = 6.0


class DemoStep(BaseModel):
    """One thing the sample learner does: answer a node's quiz, or run a lab with these values."""

    kind: str = Field(pattern="^(quiz|lab)$")
    target: str = Field(description="the node id (quiz) or lab id (lab)")
    params: dict[str, Any] = Field(default_factory=dict)
    note: str = ""


# The 64 -> 128 -> 64 -> 10 network of the model-size lab, counted by hand as its lesson teaches.
_WEIGHTS = 64 * 128 + 128 * 64 + 64 * 10
_PARAMETERS = _WEIGHTS + 128 + 64 + 10

STEPS = [
    DemoStep(kind="quiz", target="large-models"),
    DemoStep(kind="lab", target="model-size", note="counted by hand",
             params={"parameters": _PARAMETERS, "flops": 2 * _WEIGHTS, "memory_kb": _PARAMETERS * 4 / 1000}),
    DemoStep(kind="quiz", target="gradient-descent"),
    DemoStep(kind="lab", target="gd-linear", params={"lr": 0.005, "steps": 60},
             note="a first try: steps too small and too few"),
    DemoStep(kind="lab", target="gd-linear", params={"lr": 0.05, "steps": 300},
             note="the lab's good settings: a rate below the stable bound"),
    DemoStep(kind="lab", target="backprop-spirals", params={"steps": 60}, note="a short first run"),
]


def demo_db_path() -> Path:
    """`demo.sqlite` in the user data folder (the folder of the user's own database)."""
    from planner.paths import default_db_path

    return default_db_path().with_name("demo.sqlite")


def correct_answers(quiz: Quiz) -> dict[str, Any]:
    """The answers the sample learner gives: the right ones, in the shapes `planner.quiz` grades."""
    answers: dict[str, Any] = {}
    for question in quiz.questions:
        if question.kind == "numeric":
            answers[question.id] = question.answer
        elif question.kind == "single":
            answers[question.id] = next(i for i, o in enumerate(question.options) if o.correct)
        else:
            answers[question.id] = [i for i, o in enumerate(question.options) if o.correct]
    return answers


def runnable(step: DemoStep, curriculum: Curriculum) -> bool:
    """Whether this curriculum has the step's quiz or lab (a trimmed curriculum skips the rest)."""
    if step.kind == "quiz":
        return curriculum.quiz_for(step.target) is not None
    return any(node.lab == step.target for node in curriculum.nodes.values())


def build_demo(store: Store, curriculum: Curriculum, *, on_step: Callable[[str], None] = lambda _: None,
               runner_factory: Callable[..., Any] | None = None) -> Learner:
    """Create the sample learner and make its attempts for real; `on_step` gets one line per step."""
    from planner.service import Service

    service = Service(store, curriculum, runner_factory=runner_factory)
    role = DEMO_ROLE if DEMO_ROLE in curriculum.nodes else (curriculum.roles[0].id if curriculum.roles else None)
    learner = service.get_learner(DEMO_LEARNER) or service.add_learner(DEMO_LEARNER, target_role=role,
                                                                        hours_per_week=DEMO_HOURS)
    service.remember_learner(learner)  # the app opens on the sample learner
    steps = [s for s in STEPS if runnable(s, curriculum)]
    for number, step in enumerate(steps, 1):
        prefix = f"[{number}/{len(steps)}] {step.kind} {step.target}"
        if step.note:
            prefix += f" ({step.note})"
        if step.kind == "quiz":
            from planner.quiz import draw_quiz  # the questions (and numbers) this seed asks

            asked = draw_quiz(curriculum.quizzes[step.target], number)
            outcome = service.submit_quiz(learner, step.target, correct_answers(asked), seed=number)
            on_step(f"{prefix}: {outcome.score:.0%}, {'passed' if outcome.passed else 'not passed'}")
        else:
            from planner.service import LabLocked

            try:
                session = service.start_lab(learner, step.target, step.params, seed=0)
            except LabLocked as exc:  # an earlier step did not pass on this machine: say so, go on
                on_step(f"{prefix}: skipped, {exc}")
                continue
            result = session.wait()
            on_step(f"{prefix}: {result.status} {result.score:.0f}/100 in {result.duration_s:.2g} s of training")
    return service.learner(learner.id) or learner  # re-read: the runs touched last_active_at
