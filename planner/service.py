"""The use cases the CLI and the TUI share: run a lab and record it, answer a quiz, recover after a crash.

    svc = Service(store, curriculum)                 # runner_factory defaults to labs.runner.LabProcess
    session = svc.start_lab(learner, "ffnn-digits", {"lr": "0.01"}, seed=0)
    for event in session.events(timeout=0.1):        # Started, Progress, Sample, then Finished | Failed
        ...                                          # every event is recorded as it passes through
    session.outcome                                  # LabOutcome once the stream ended

Why here and not in the front doors: both must record a run the same way (metric points in batches, the
grade per check, status rules), compute what a pass unlocked, and treat a dead worker as an error, never
a pass. The front doors only show events.

Recording rules:
- the attempt row is written when the worker says `Started` (it carries the dataset hash), with the
  *recording* process's pid: if this process dies, nobody will finish the row, and the next start marks it
  `interrupted` (`recover_interrupted`); a row whose recorder still runs is left alone.
- a locked lab is refused (`LabLocked` names the missing prerequisites) unless `practice=True`, which
  records a test-out attempt: a pass there completes the node.
- `Failed` becomes status `cancelled` when the caller cancelled, else `error`, with score 0 and the
  worker's message and traceback tail as feedback.
- a busy database (another process holding the write lock past the busy timeout) never aborts a run:
  points and samples wait in memory and are retried with backoff; the result is retried
  (`RETRY_DELAYS_S`) and, as a last resort, kept in a `planner.recovery` file beside the database
  that the next `recover_interrupted(at_start=True)` records.
"""

from __future__ import annotations

import contextlib
import math
import os
import time
from collections.abc import Callable, Iterator, Mapping
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any, Protocol

from pydantic import BaseModel, Field

from labs import __version__
from labs.events import Event, Failed, Finished, Progress, Sample, Started
from labs.grading import CheckResult, Grade, Mastery
from planner.curriculum import Curriculum
from planner.plan import NextAction, Projection, next_action, projection
from planner.progress import NodeProgress, NodeSummary, node_progress, with_study_time
from planner.records import Attempt, Learner, MetricPoint, QuizAnswer, QuizAttempt, SampleRow
from planner.store import Store, StoreBusy, pid_alive

_FLUSH_EVERY_S = 0.5
_FLUSH_POINTS = 500
_MIN_BACKOFF_S, _MAX_BACKOFF_S = 0.5, 30.0  # a busy database: waits between tries to write a run's points

RETRY_DELAYS_S = (0.5, 1.0, 2.0, 4.0)
"""Waits between tries to record a finished run while the database stays busy (each try also waits the
busy timeout); after the last one the result goes to a recovery file (`planner.recovery`)."""


RIVALS = {"transformer-chars": "rnn-chars", "capstone-llm-engineer": "rnn-chars"}
"""Labs whose result is compared with the learner's best attempt at another lab."""


def _joined(*parts: str) -> str:
    return " ".join(p.strip() for p in parts if p and p.strip())


class LabLocked(Exception):
    """The lab's node is locked; `missing` are the prerequisites still to complete."""

    def __init__(self, lab_id: str, node_id: str, missing: list[str], titles: list[str]):
        self.lab_id, self.node_id, self.missing = lab_id, node_id, missing
        super().__init__(f"lab {lab_id} is locked: first complete {', '.join(titles)} "
                         f"({', '.join(missing)}), or run it with --practice to test out")


class LabOutcome(BaseModel):
    """What a finished (or failed) run did: its grade, and what it changed for the learner."""

    attempt_id: int | None
    lab_id: str
    node_id: str
    status: str
    score: float
    passed: bool
    grade: Grade | None = None
    metrics: dict[str, float] = Field(default_factory=dict)
    feedback: str = ""
    duration_s: float = 0.0
    mastery_before: Mastery = "none"
    mastery_after: Mastery = "none"
    unlocked: list[str] = Field(default_factory=list, description="nodes that became available")
    completed: list[str] = Field(default_factory=list, description="nodes that became completed")
    diagnosis: str | None = Field(default=None, description="a failed run: the failure mode its evidence names "
                                                            "(Finished.diagnosis), what `diagnosis_question` asks")


class QuizOutcome(BaseModel):
    quiz_attempt_id: int
    node_id: str
    score: float
    passed: bool
    points: float
    max_points: float
    results: list[Any]
    unlocked: list[str] = Field(default_factory=list)
    completed: list[str] = Field(default_factory=list)
    pass_mark: float | None = None  # what the end screen shows the score against
    missed: list[Any] = Field(default_factory=list, description="planner.quiz.MissedQuestion, in the order asked")


class ReviewOutcome(QuizOutcome):
    """A review (planner.review): the quiz outcome of its draw, its FSRS grade and the node's next due time.
    `passed` is "not a lapse" (rated above Again)."""

    rating: int
    rating_name: str
    due_before: datetime
    due_after: datetime
    mastery_before: Mastery = "none"
    mastery_after: Mastery = "none"


class LabRunner(Protocol):
    """What `Service` needs of a lab run (`labs.runner.LabProcess`, or a test's scripted stand-in)."""

    def start(self) -> Any:
        """Begin the run (the worker process starts here)."""
        ...

    def events(self, timeout: float | None = None) -> Iterator[Event]:
        """Events in order, ending after the terminal one or after `timeout` s without one."""
        ...

    def cancel(self) -> Finished | Failed | None:
        """Stop now; the terminal event (Failed(cancelled) unless the run had already ended)."""
        ...


RunnerFactory = Callable[[str, Any, int], LabRunner]
"""(lab id, the lab's validated Params, seed) -> a LabRunner not yet started."""


def _default_runner(lab_id: str, params: Any, seed: int, *, models_dir: str | None = None,
                    your_model: Mapping[str, Any] | None = None) -> LabRunner:
    from labs.runner import LabProcess  # deferred: the CLI's --help must not pay for it

    return LabProcess(lab_id, params, seed, models_dir=models_dir, your_model=your_model)


def _make_runner(factory: RunnerFactory, lab_id: str, params: Any, seed: int, **models: Any) -> LabRunner:
    """The factory's runner, handed the models folder and "your model" (planner.checkpoints) when it takes
    them as keywords (labs.runner.LabProcess does; a test's three-argument stand-in is called as before)."""
    import inspect

    try:
        accepted = inspect.signature(factory).parameters
    except (TypeError, ValueError):
        accepted = {}
    takes_all = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in accepted.values())
    given = {k: v for k, v in models.items() if takes_all or k in accepted}
    return factory(lab_id, params, seed, **given)


class Service:
    def __init__(self, store: Store, curriculum: Curriculum | Callable[[], Curriculum],
                 runner_factory: RunnerFactory | None = None):
        """`curriculum` may be a loader, called on first use: the CLI's `learner list` needs none, and
        should neither wait for one to load nor fail on a broken --data folder."""
        self.store = store
        self._curriculum = curriculum
        self.runner_factory = runner_factory or _default_runner

    @property
    def curriculum(self) -> Curriculum:
        if callable(self._curriculum):
            self._curriculum = self._curriculum()
        return self._curriculum

    # -- progress --------------------------------------------------------------------------------
    def progress(self, learner: Learner) -> dict[str, NodeProgress]:
        """From per-node aggregates computed in SQL, not every attempt's row (issue 18: a learner with
        10,000 attempts waited ~1 s for each progress read, twice per lab run)."""
        summaries = {node_id: NodeSummary.model_validate(row)
                     for node_id, row in self.store.node_summaries(learner.id).items()}
        return node_progress(self.curriculum, summaries=with_study_time(summaries, self.study_seconds(learner)))

    # -- study time (planner.studytime) ----------------------------------------------------------
    def study_seconds(self, learner: Learner) -> dict[str, tuple[float, float]]:
        """Per node, (lesson reading seconds, a build's estimated working seconds): the lesson visits the
        app recorded, and each build's scaffold, saves and gradings by `studytime.build_active_seconds`
        (the credit stops at the build's first pass; the gradings are lab time, not counted twice)."""
        from planner.studytime import node_study_seconds

        saves = self.store.build_saves(learner.id)
        return node_study_seconds(self.store.lesson_seconds(learner.id), saves,
                                  self.store.build_gradings(learner.id, {row["lab_id"] for row in saves}))

    def record_lesson_time(self, learner: Learner, node_id: str, *, started_at: datetime, ended_at: datetime,
                           active_s: float, session_id: int | None = None) -> int:
        """Write a lesson visit's running total (the lesson screen, every minute and when left); returns
        the visit's row id, to pass back next time."""
        return self.store.record_study_session(learner.id, node_id, started_at=started_at, ended_at=ended_at,
                                               active_s=active_s, session_id=session_id)

    def lesson_visits(self, learner: Learner, node_id: str | None = None) -> list[dict[str, Any]]:
        return self.store.study_sessions(learner.id, node_id)

    def record_build_save(self, learner: Learner, lab_id: str, node_id: str, at: datetime,
                          kind: str = "save") -> bool:
        """A moment the build's file was written (its scaffold, or a save: the file's mtime when seen)."""
        return self.store.record_build_save(learner.id, lab_id, node_id, at, kind)

    def projection(self, learner: Learner, role: str | None = None, hours_per_week: float | None = None,
                   today: date | None = None) -> Projection | None:
        """The learner's path, pace and projected finish for `role` (default: their target role) at
        `hours_per_week` (default: theirs); None without a role. UnknownRoleError for a role not here."""
        role = role or learner.target_role
        if not role:
            return None
        return projection(self.curriculum, self.progress(learner), role,
                          hours_per_week or learner.hours_per_week, today or date.today())

    def next_action(self, learner: Learner | None, node_id: str,
                    progress: Mapping[str, NodeProgress] | None = None) -> NextAction:
        """The concrete next step on `node_id` (`planner.plan.next_action`); for a build, from the checks
        of the learner's latest grading. `learner` None: a fresh start."""
        if progress is None:
            progress = self.progress(learner) if learner else node_progress(self.curriculum, [], [])
        node = self.curriculum.nodes[node_id]
        task, checks = None, None
        if progress[node_id].has_build and node.lab:
            from labs.implement.tasks import TASKS

            task = TASKS.get(node.lab)
            latest = self.store.latest_attempt_id(learner.id, node.lab, mode="implement") if learner else None
            if latest is not None:  # the newest finished build (one indexed row, not every attempt of the lab)
                checks = {c.id: c.status for c in self.store.attempt_checks(latest)}
        return next_action(node, progress[node_id], task, checks)

    def sync_catalog(self) -> bool:
        """Keep the database's `nodes` and `labs` tables in step with the curriculum (titles for every id
        the other tables name); True when they were written. An unchanged curriculum costs one read; a
        changed one also imports the lab catalogue, for the labs' own titles."""
        import hashlib
        import json

        nodes = [{"id": n.id, "title": n.title, "kind": n.kind, "track": n.track, "hours": n.hours,
                  "lab_id": n.lab} for n in self.curriculum.nodes.values()]
        version = hashlib.sha256(json.dumps(nodes, sort_keys=True).encode()).hexdigest()[:16]
        if self.store.get_state(self.store.CATALOG_KEY) == version:
            return False
        from labs.catalog import all_labs
        from labs.implement.tasks import TASKS

        node_of = {n["lab_id"]: n["id"] for n in nodes if n["lab_id"]}
        labs = [{"id": lab.id, "title": lab.title, "node_id": node_of.get(lab.id, lab.node_id),
                 "has_build": int(lab.id in TASKS), "in_curriculum": int(lab.id in node_of)}
                for lab in all_labs()]
        self.store.sync_catalog(version, nodes, labs)
        return True

    def recover_interrupted(self, *, at_start: bool = False) -> int:
        """Mark `running` attempts whose recording process is gone as `interrupted`; returns how many.

        `at_start=True` (every CLI command that opens the database, and the app opening, before any run
        of its own) first records the runs a busy database could not take (`planner.recovery` files
        beside it), then also counts this process's own pid as gone: a reused pid (in a container every
        `pathlab` can be PID 1) would otherwise keep a killed run `running` for ever.
        """
        if not at_start:
            return self.store.mark_interrupted()
        from planner.recovery import recover_at_start

        return recover_at_start(self.store)

    def delete_learner(self, name: str) -> dict[str, int]:
        """Delete learner `name` and every row of theirs (rows per table); UnknownName when there is
        none. Their build files (`<db>.workspaces/<id>/`) stay: they are the learner's own code."""
        from planner.errors import UnknownName

        learner = self.store.get_learner(name)
        if learner is None:
            names = ", ".join(l.name for l in self.store.list_learners()) or "none yet"
            raise UnknownName(f"no learner named {name!r} (learners: {names})")
        return self.store.delete_learner(learner.id)

    def forget_learner(self, name: str) -> bool:
        """Remove the learner named `name` and all their history; False when there is none."""
        learner = self.store.get_learner(name)
        if learner is None:
            return False
        self.store.delete_learner(learner.id)
        return True

    # -- labs ------------------------------------------------------------------------------------
    def node_for_lab(self, lab_id: str) -> str:
        from labs.catalog import get_lab

        for node in self.curriculum.nodes.values():
            if node.lab == lab_id:
                return node.id
        return get_lab(lab_id).node_id

    def start_lab(self, learner: Learner, lab_id: str, params: Mapping[str, Any] | None = None,
                  seed: int | None = None, *, practice: bool = False, model: str | None = None) -> "LabSession":
        """Validate, check the lock, start the worker. Raises KeyError (unknown lab), ParamError, LabLocked,
        ModelChoiceError (`model`: "best" (None), "none" or a sha256 prefix of "your model", for a lab
        with `uses_models`; a missing or corrupt file is refused here, in one line)."""
        from planner import checkpoints

        from labs.catalog import get_lab

        lab = get_lab(lab_id)
        checked = lab.validate_params(params or {})  # the one validation: the runner takes `checked` as is
        validated = checked.model_dump(mode="json")
        node_id = self.node_for_lab(lab_id)
        before = self.progress(learner)
        node = before.get(node_id)
        if node is not None and node.state == "locked" and not practice:
            titles = [self.curriculum.nodes[m].title for m in node.missing]
            raise LabLocked(lab_id, node_id, node.missing, titles)
        seed = int(seed) if seed is not None else 0  # deterministic by default: defaults are calibrated on it
        your_model = checkpoints.resolve(self.store, learner.id, lab, model)
        process = _make_runner(self.runner_factory, lab_id, checked, seed, your_model=your_model,
                               models_dir=str(checkpoints.models_dir(self.store.path)))
        process.start()
        return LabSession(self, learner, lab_id, node_id, validated, seed, process, before,
                          mode="practice" if practice else "explore",
                          test_out=bool(practice and node is not None and node.state == "locked"))

    def comparison(self, learner: Learner, lab_id: str, metrics: Mapping[str, float],
                   attempt_id: int | None = None) -> str:
        """One honest sentence comparing a language model with the learner's best recorded rival, if any.

        The labs cannot see the database, so the comparison the transformer lab promises ("against your
        best RNN") is made here, from the recorded validation losses (lower is better).
        """
        rival_lab = RIVALS.get(lab_id)
        val = metrics.get("val_loss")
        if rival_lab is None or val is None:
            return ""
        rivals = [a for a in self.store.attempts(learner.id, lab_id=rival_lab)
                  if a.id != attempt_id and a.status in ("passed", "failed") and "val_loss" in a.metrics]
        if not rivals:
            return f"Run {rival_lab} too, and this result is compared with your best recurrent network."
        best = min(rivals, key=lambda a: a.metrics["val_loss"])
        diff = val - best.metrics["val_loss"]
        cell = best.params.get("cell")
        what = f"your best {cell.upper() if cell else 'RNN'} (attempt {best.id})"
        if abs(diff) < 0.005:
            verdict = "the same, to within 0.005"
        else:
            verdict = f"{abs(diff):.3f} {'lower (better)' if diff < 0 else 'higher (worse)'}"
        return (f"Against {what}: validation loss {val:.3f} vs {best.metrics['val_loss']:.3f} per character, "
                f"{verdict}.")

    # -- "what went wrong?" after a failed experiment (planner.diagnosis) ----------------------------
    def diagnosis_question(self, outcome: LabOutcome) -> Any:
        """The `planner.diagnosis.DiagnosisQuestion` for a failed run whose evidence names a failure mode
        (`outcome.diagnosis`), else None (a pass, a build, an error, a lab without failure modes)."""
        from labs.catalog import get_lab
        from planner.diagnosis import diagnosis_question

        if outcome.status != "failed" or outcome.diagnosis is None:
            return None
        lab = get_lab(outcome.lab_id)
        return diagnosis_question(lab.id, lab.failure_modes, outcome.attempt_id, outcome.diagnosis)

    def answer_diagnosis(self, learner: Learner, question: Any, answer: str | int,
                         answered_at: datetime | None = None) -> Any:
        """Grade and record the learner's answer (an option id or its 1-based position; ValueError naming
        the options for another); returns `planner.diagnosis.DiagnosisResult` with both explanations."""
        from labs.catalog import get_lab
        from planner.diagnosis import judge

        result = judge(question, get_lab(question.lab_id).failure_modes, answer)
        self.store.record_diagnosis(learner.id, question.attempt_id, lab_id=question.lab_id,
                                    options=question.option_ids, expected=question.expected,
                                    answer=result.answer, answered_at=answered_at)
        return result

    def diagnosis_answers(self, learner: Learner, attempt_id: int | None = None) -> list[dict[str, Any]]:
        return self.store.diagnosis_answers(learner.id, attempt_id)

    # -- the review queue (planner.review: FSRS) ---------------------------------------------------
    def review_schedule(self, learner: Learner, progress: Mapping[str, NodeProgress] | None = None) -> list[Any]:
        """Every completed node's next review (`planner.review.ReviewDue`), soonest first."""
        from planner.review import review_schedule

        progress = self.progress(learner) if progress is None else progress
        return review_schedule(progress, self.curriculum.quizzes, self.store.review_cards(learner.id))

    def reviews_due(self, learner: Learner, now: datetime | None = None,
                    progress: Mapping[str, NodeProgress] | None = None) -> list[Any]:
        """The reviews due at `now` (default: this moment), most overdue first."""
        moment = now or datetime.now(timezone.utc)
        return [r for r in self.review_schedule(learner, progress) if r.due <= moment]

    def review_draw(self, node_id: str, seed: int) -> Any:
        """The questions a review of `node_id` with `seed` asks (a `Quiz` of REVIEW_QUESTIONS); KeyError
        for a node without a quiz."""
        from planner.quiz import draw_quiz
        from planner.review import review_quiz

        pool = self.curriculum.quizzes.get(node_id)
        if pool is None:
            raise KeyError(f"node {node_id!r} has no quiz to review")
        return draw_quiz(review_quiz(pool), seed)

    def submit_review(self, learner: Learner, node_id: str, answers: Mapping[str, Any], seed: int,
                      started_at: datetime | None = None, now: datetime | None = None) -> "ReviewOutcome":
        """Grade a review draw, rate it, reschedule the node's card and record it all (one transaction).
        ValueError when the node is not completed (only completed nodes are reviewed)."""
        from planner.quiz import grade_quiz
        from planner.review import review_quiz, schedule

        pool = self.curriculum.quizzes.get(node_id)
        if pool is None:
            raise KeyError(f"node {node_id!r} has no quiz to review")
        before = self.progress(learner)
        node = before.get(node_id)
        if node is None or node.state != "completed" or node.completed_at is None:
            raise ValueError(f"node {node_id!r} is not completed yet: only completed nodes come back for review")
        result = grade_quiz(review_quiz(pool), answers, seed=seed)
        finished = now or datetime.now(timezone.utc)
        stored = self.store.review_cards(learner.id).get(node_id)
        step = schedule(stored["card"] if stored else None, node.completed_at, result.score, finished)
        rows = [QuizAnswer(question_id=r.question_id, answer=r.answer, correct=r.correct,
                           points=r.points, max_points=r.max_points) for r in result.results]
        quiz_id = self.store.record_review(learner.id, node_id, seed=seed, score=result.score, rating=step.rating,
                                           answers=rows, started_at=started_at or finished, finished_at=finished,
                                           card=step.card, due_before=step.due_before, due_after=step.due_after)
        self.store.touch_learner(learner.id)
        after = self.progress(learner)
        return ReviewOutcome(quiz_attempt_id=quiz_id, node_id=node_id, score=result.score, passed=not step.lapse,
                             points=result.points, max_points=result.max_points, results=list(result.results),
                             pass_mark=None, missed=list(result.missed), rating=step.rating,
                             rating_name=step.rating_name, due_before=step.due_before, due_after=step.due_after,
                             mastery_before=node.mastery, mastery_after=after[node_id].mastery)

    # -- quizzes ---------------------------------------------------------------------------------
    def submit_quiz(self, learner: Learner, node_id: str, answers: Mapping[str, Any], seed: int | None,
                    started_at: datetime | None = None) -> QuizOutcome:
        """Grade every answer and record the attempt with one row per question."""
        from planner.quiz import grade_quiz

        quiz = self.curriculum.quizzes.get(node_id)
        if quiz is None:
            raise KeyError(f"node {node_id!r} has no quiz")
        before = self.progress(learner)
        result = grade_quiz(quiz, answers, seed=seed)  # the questions this seed drew
        finished = datetime.now(timezone.utc)
        rows = [QuizAnswer(question_id=r.question_id, answer=r.answer, correct=r.correct,
                           points=r.points, max_points=r.max_points) for r in result.results]
        quiz_id = self.store.record_quiz(learner.id, node_id, seed=seed, score=result.score,
                                         passed=result.passed, answers=rows,
                                         started_at=started_at or finished, finished_at=finished)
        self.store.touch_learner(learner.id)
        unlocked, completed = progress_changes(before, self.progress(learner))
        return QuizOutcome(quiz_attempt_id=quiz_id, node_id=node_id, score=result.score,
                           passed=result.passed, points=result.points, max_points=result.max_points,
                           results=list(result.results), unlocked=unlocked, completed=completed,
                           pass_mark=result.pass_mark, missed=list(result.missed))

    # -- queries for the front doors (TUI) ---------------------------------------------------------
    # Thin on purpose: each calls the store and applies its rule once, so no screen touches the store.
    LAST_LEARNER_KEY = "last_learner"

    def learners(self) -> list[Learner]:
        return self.store.list_learners()

    def learner(self, learner_id: int) -> Learner | None:
        return self.store.learner_by_id(learner_id)

    def add_learner(self, name: str, *, target_role: str | None, hours_per_week: float | None) -> Learner:
        return self.store.add_learner(name, target_role=target_role, hours_per_week=hours_per_week)

    def set_goal(self, learner: Learner, *, target_role: str | None, hours_per_week: float | None) -> Learner:
        return self.store.update_learner(learner.name, target_role=target_role, hours_per_week=hours_per_week)

    def last_learner(self) -> Learner | None:
        """The learner remembered by `remember_learner` (an id), else the newest; None when there is none."""
        stored = self.store.get_state(self.LAST_LEARNER_KEY)
        learner = self.store.learner_by_id(int(stored)) if stored and stored.isdigit() else None
        if learner is None:
            learners = self.store.list_learners()
            learner = learners[-1] if learners else None
        return learner

    def remember_learner(self, learner: Learner) -> None:
        """Store who was last used; no write when it is unchanged (an app opening on its last learner
        must not wait on another program's write lock)."""
        if self.store.get_state(self.LAST_LEARNER_KEY) != str(learner.id):
            self.store.set_state(self.LAST_LEARNER_KEY, str(learner.id))

    def learner_setting(self, learner: Learner, name: str) -> str | None:
        """One of the learner's own settings (e.g. "theme"), kept in app_state as learner:<id>:<name>
        (deleted with the learner)."""
        return self.store.get_state(f"learner:{learner.id}:{name}")

    def set_learner_setting(self, learner: Learner, name: str, value: str) -> None:
        """Keep a setting of the learner's; no write when it is unchanged."""
        if self.learner_setting(learner, name) != value:
            self.store.set_state(f"learner:{learner.id}:{name}", value)

    def attempts(self, learner: Learner, lab_id: str | None = None, *, order: str | None = None,
                 descending: bool = True, limit: int = 200, offset: int = 0) -> list[Attempt]:
        """The learner's attempts, newest first; with `order` (a `Store.HISTORY_ORDER` column: the
        history screen) one page of `limit` rows from `offset`, sorted by the database."""
        if order is not None:
            return self.store.attempt_page(learner.id, order=order, descending=descending, limit=limit,
                                           offset=offset)
        return self.store.attempts(learner.id, lab_id=lab_id)

    def attempt_count(self, learner: Learner) -> int:
        return self.store.attempt_count(learner.id)

    def attempt(self, attempt_id: int) -> Attempt:
        return self.store.attempt(attempt_id)

    def attempt_checks(self, attempt_id: int) -> list[CheckResult]:
        return self.store.attempt_checks(attempt_id)

    def attempt_samples(self, attempt_id: int) -> list[SampleRow]:
        return self.store.samples(attempt_id)

    def metric_series(self, attempt_id: int) -> dict[str, list[tuple[int, float]]]:
        return self.store.metric_series(attempt_id)

    def quiz_attempts(self, learner: Learner, node_id: str | None = None) -> list[QuizAttempt]:
        return self.store.quiz_attempts(learner.id, node_id)

    def report(self, learner: Learner, fmt: str, **filters: Any) -> str:
        """Filters as `planner.reports.render_report` takes them: since, node_id, today."""
        from planner.reports import render_report

        return render_report(self.store, self.curriculum, learner, fmt, **filters)

    def reference_solution(self, learner: Learner, lab_id: str) -> str:
        """The implement lab's reference code; `SolutionLocked` until the learner's own file passed."""
        from planner.implement import solution

        return solution(self.store, learner, lab_id)

    @property
    def db_path(self) -> Path:
        return self.store.path

    def on_own_connection(self) -> "Service":
        """A Service like this one over a new connection to the same file, for another thread (SQLite
        connections belong to the thread that opened them); `close()` it when done."""
        return Service(Store.open(self.store.path), self.curriculum, runner_factory=self.runner_factory)

    def close(self) -> None:
        self.store.close()

    # -- queries for the front doors (CLI) ---------------------------------------------------------
    # With the TUI's above, the CLI reads and writes only through these (no command touches the store).
    def get_learner(self, name: str) -> Learner | None:
        return self.store.get_learner(name)

    def update_learner(self, name: str, *, new_name: str | None = None, **changes: Any) -> Learner:
        """Change target_role and/or hours_per_week, and/or rename (ValueError names what is wrong)."""
        return self.store.update_learner(name, new_name=new_name, **changes)

    # -- stored models (planner.checkpoints) ------------------------------------------------------
    def checkpoint_listing(self, learner: Learner | None = None) -> Any:
        """Stored models and disk use (`planner.checkpoints.Listing`), of one learner or everyone."""
        from planner import checkpoints

        return checkpoints.listing(self.store, learner.id if learner else None)

    def prune_checkpoints(self, *, keep_best: bool = True, dry_run: bool = False) -> Any:
        """Delete every stored model but each learner's best per lab, and unreferenced files (PruneResult)."""
        from planner import checkpoints

        return checkpoints.prune(self.store, keep_best=keep_best, dry_run=dry_run)

    def model_choices(self, learner: Learner, lab_id: str) -> list[Any]:
        """The learner's stored models `lab_id` can take as "your model" (its `uses_models`), best first."""
        from labs.catalog import get_lab
        from planner import checkpoints

        return checkpoints.offered(self.store, learner.id, get_lab(lab_id))

    def export_progress(self, learner: Learner, *, with_models: bool = False) -> Any:
        """The learner's whole history as a `planner.portable` transfer file (a pydantic model);
        `with_models`: their stored models' rows and files too (planner.checkpoints)."""
        from planner import portable

        return portable.progress_file(self.store, learner, with_models=with_models)

    def import_progress(self, text: str, *, rename: str | None = None, source: str = "") -> Any:
        """Add a transfer file's history to this database (idempotent); returns the import summary."""
        from planner import portable

        return portable.import_progress(self.store, text, rename=rename, source=source)

    def check_output_path(self, path: Path | str) -> None:
        """ValueError if writing a report or export to `path` would replace this database (or its
        -wal, -shm, or a kept run); call before `write_atomic`."""
        if self.store.owns(path):
            raise ValueError(f"{path} is PathLab's database (or one of its files); writing there would "
                             f"replace your history, so choose another file")

    def import_progress_file(self, path: Path | str, *, rename: str | None = None) -> Any:
        """`import_progress` from a file: over `portable.MAX_FILE_BYTES`, or this database itself,
        is refused (PortableError, a ValueError) before anything is read."""
        from planner import portable

        text = portable.read_progress_file(path, database=self.store.path)
        return portable.import_progress(self.store, text, rename=rename, source=str(path))


def progress_changes(before: dict[str, NodeProgress],
                     after: dict[str, NodeProgress]) -> tuple[list[str], list[str]]:
    """(nodes that unlocked, nodes that completed) between two progress snapshots."""
    unlocked = [n for n, p in after.items()
                if n in before and before[n].state == "locked" and p.state not in ("locked", "completed")]
    completed = [n for n, p in after.items()
                 if p.state == "completed" and (n not in before or before[n].state != "completed")]
    return unlocked, completed


class LabSession:
    """One running lab: pass its events through, recording them; then `outcome`.

    A busy database (another process holding the write lock past the busy timeout) never stops the run
    nor loses its result: metric points and samples wait in memory and are retried with backoff; the
    finished result is retried `RETRY_DELAYS_S`, then kept in a recovery file (`planner.recovery`,
    `recovery_file` says where) that the next start records.
    """

    def __init__(self, svc: Service, learner: Learner, lab_id: str, node_id: str, params: dict[str, Any],
                 seed: int | None, process: LabRunner, before: dict[str, NodeProgress], *, mode: str,
                 test_out: bool, code_hash: str | None = None):
        """`code_hash`: the learner's file, when the run is a grading of their code (planner.implement)."""
        self.svc, self.learner, self.lab_id, self.node_id = svc, learner, lab_id, node_id
        self.params, self.seed, self.process, self.before = params, seed, process, before
        self.mode, self.test_out, self.code_hash = mode, test_out, code_hash
        self.attempt_id: int | None = None
        self.outcome: LabOutcome | None = None
        self.recovery_file: Path | None = None
        self._dataset_hash = ""
        self._started_at: datetime | None = None
        self._pending: list[MetricPoint] = []  # metric points not yet written
        self._samples: list[tuple[int, str]] = []  # samples not yet written
        self._last_flush = time.monotonic()
        self._retry_at = 0.0  # while the database is busy: no write is tried before this (monotonic)
        self._backoff = 0.0
        self._cancelled = False
        self.checkpoint_id: int | None = None  # the checkpoints row of the model this run stored
        self.checkpoint_sha256: str | None = None
        self._diagnosis: str | None = None  # Finished.diagnosis of a failed run

    @property
    def done(self) -> bool:
        return self.outcome is not None

    def events(self, timeout: float | None = None) -> Iterator[Event]:
        """Events as they arrive (ending early after `timeout` s of silence; call again to go on)."""
        if self.outcome is not None:
            return
        for event in self.process.events(timeout=timeout):
            self._record(event)
            yield event
            if self.outcome is not None:
                return

    def wait(self, on_event: Callable[[Event], None] | None = None) -> LabOutcome:
        """Block until the run ends (the CLI's loop); Ctrl-C cancels and records `cancelled`."""
        try:
            while self.outcome is None:
                for event in self.events(timeout=0.2):
                    if on_event:
                        on_event(event)
        except KeyboardInterrupt:
            self.cancel()
        assert self.outcome is not None
        return self.outcome

    def cancel(self) -> LabOutcome:
        """Stop the worker (within a second) and record the attempt as cancelled."""
        self._cancelled = True
        terminal = self.process.cancel()
        if self.outcome is None:
            self._record(terminal if isinstance(terminal, (Finished, Failed))
                         else Failed(kind="cancelled", message="the run was cancelled"))
        assert self.outcome is not None
        return self.outcome

    # -- recording -------------------------------------------------------------------------------
    def _record(self, event: Event) -> None:
        if self.outcome is not None:
            return
        if self._started_at is None:  # the row's start time, also when the row has to wait
            self._started_at = datetime.now(timezone.utc)
        if isinstance(event, Started):
            self._dataset_hash = event.dataset_hash
            self._flush(force=True)
        elif isinstance(event, Progress):
            self._pending.extend(MetricPoint(step=event.step, epoch=event.epoch, split=event.split,
                                             name=name, value=float(value))
                                 for name, value in event.metrics.items())
            if len(self._pending) >= _FLUSH_POINTS or time.monotonic() - self._last_flush > _FLUSH_EVERY_S:
                self._flush()
        elif isinstance(event, Sample):
            self._samples.append((event.step, event.text))
            self._flush()
        elif isinstance(event, Finished):
            self._diagnosis = event.diagnosis if event.status == "failed" else None
            self._finish(event.status, event.grade.score, event.status == "passed", event.grade,
                         event.metrics, event.feedback, event.duration_s)
            self._record_model(event)
        elif isinstance(event, Failed):
            status = "cancelled" if (self._cancelled or event.kind == "cancelled") else "error"
            feedback = event.message if status == "cancelled" else _failure_text(event)
            self._finish(status, 0.0, False, None, {}, feedback, None)

    def _flush(self, *, force: bool = False) -> None:
        """Write what is buffered, unless a busy database asked us to wait a while."""
        if force or time.monotonic() >= self._retry_at:
            self._write_buffered()
        self._last_flush = time.monotonic()

    def _write_buffered(self) -> bool:
        """Create the `running` row if it is not there yet, write buffered points and samples.

        False (everything kept in memory) if the database stayed busy; the next try waits longer.
        """
        store = self.svc.store
        try:
            if self.attempt_id is None:
                self.attempt_id = store.start_attempt(
                    self.learner.id, self.lab_id, self.node_id, mode=self.mode, params=self.params,
                    seed=self.seed, pid=os.getpid(), app_version=__version__, dataset_hash=self._dataset_hash,
                    code_hash=self.code_hash, test_out=self.test_out, started_at=self._started_at)
                with contextlib.suppress(StoreBusy):  # only "last active"; not worth a retry
                    store.touch_learner(self.learner.id)
            if self._pending:
                store.add_metrics(self.attempt_id, self._pending)
                self._pending = []
            if self._samples:
                with store.transaction():
                    for step, text in self._samples:
                        store.add_sample(self.attempt_id, step, text)
                self._samples = []
        except StoreBusy:
            self._backoff = min(max(2 * self._backoff, _MIN_BACKOFF_S), _MAX_BACKOFF_S)
            self._retry_at = time.monotonic() + self._backoff
            return False
        self._backoff, self._retry_at = 0.0, 0.0
        return True

    def finish(self, status: str, score: float, passed: bool, grade: Grade | None, metrics: dict[str, float],
               feedback: str, duration_s: float | None) -> LabOutcome:
        """Record a result that did not arrive as a terminal event (a grading of the learner's code keeps
        the points it earned when it errs or is cancelled), with the same retries and recovery."""
        if self.outcome is None:
            self._finish(status, score, passed, grade, metrics, feedback, duration_s)
        assert self.outcome is not None
        return self.outcome

    def _finish(self, status: str, score: float, passed: bool, grade: Grade | None,
                metrics: dict[str, float], feedback: str, duration_s: float | None) -> None:
        if self.mode != "implement":  # a build's training is not the lab's network: nothing to compare
            feedback = _joined(feedback, self.svc.comparison(self.learner, self.lab_id, metrics, self.attempt_id))
        finished_at = datetime.now(timezone.utc)
        if duration_s is None:
            duration_s = (finished_at - (self._started_at or finished_at)).total_seconds()
        checks = grade.checks if grade else []
        if not self._record_result(status, score, passed, metrics, feedback, checks, duration_s, finished_at):
            feedback = self._keep_for_later(status, score, passed, metrics, feedback, checks, duration_s,
                                            finished_at)
        after = self._progress_after(status, score, passed, finished_at)
        unlocked, completed = progress_changes(self.before, after)
        self.outcome = LabOutcome(
            attempt_id=self.attempt_id, lab_id=self.lab_id, node_id=self.node_id, status=status, score=score,
            passed=passed, grade=grade, metrics=metrics, feedback=feedback, duration_s=duration_s,
            mastery_before=self.before[self.node_id].mastery if self.node_id in self.before else "none",
            mastery_after=after[self.node_id].mastery if self.node_id in after else "none",
            unlocked=unlocked, completed=completed, diagnosis=self._diagnosis)

    def _record_model(self, event: Finished) -> None:
        """The run's stored model, linked to its attempt AFTER the attempt's result is in (never a row
        before its attempt, nor one whose file is absent: planner.checkpoints.record checks the file);
        a result kept in a recovery file keeps no model (its file stays unreferenced until a prune)."""
        if event.model is None or self.attempt_id is None or self.recovery_file is not None:
            return
        from planner import checkpoints

        self.checkpoint_id = checkpoints.record(self.svc.store, self.attempt_id, self.lab_id, event.model,
                                                delays=RETRY_DELAYS_S)
        self.checkpoint_sha256 = event.model.sha256 if self.checkpoint_id is not None else None

    def _record_result(self, status: str, score: float, passed: bool, metrics: dict[str, float],
                       feedback: str, checks: list[Any], duration_s: float, finished_at: datetime) -> bool:
        """Write the result, trying again after each of RETRY_DELAYS_S while the database is busy."""
        for delay in (0.0, *RETRY_DELAYS_S):
            time.sleep(delay)
            if not self._write_buffered():
                continue
            assert self.attempt_id is not None  # _write_buffered created the row
            try:
                self.svc.store.finish_attempt(self.attempt_id, status=status, score=score, passed=passed,
                                              metrics=metrics, feedback=feedback, checks=checks,
                                              duration_s=duration_s, finished_at=finished_at)
            except StoreBusy:
                continue
            return True
        return False

    def _keep_for_later(self, status: str, score: float, passed: bool, metrics: dict[str, float],
                        feedback: str, checks: list[Any], duration_s: float, finished_at: datetime) -> str:
        """The last resort: the result (and whatever was not written) into a recovery file."""
        from planner.portable import Curve, PortableAttempt
        from planner.recovery import PendingRun, save_pending

        curves: dict[str, Curve] = {}
        for p in self._pending:
            curve = curves.setdefault(p.name, Curve(steps=[], values=[]))
            curve.steps.append(p.step)
            curve.values.append(p.value if math.isfinite(p.value) else None)
        attempt = PortableAttempt(
            lab_id=self.lab_id, node_id=self.node_id, mode=self.mode, test_out=self.test_out,
            params=self.params, seed=self.seed, status=status, score=score if math.isfinite(score) else None,
            passed=passed, metrics={k: float(v) for k, v in metrics.items() if math.isfinite(v)},
            feedback=feedback, started_at=self._started_at or finished_at, finished_at=finished_at,
            duration_s=duration_s, app_version=__version__, dataset_hash=self._dataset_hash,
            code_hash=self.code_hash, checks=checks, curves=curves, samples=self._samples)
        try:
            self.recovery_file = save_pending(self.svc.store.path, PendingRun(
                learner_id=self.learner.id, attempt_id=self.attempt_id, attempt=attempt))
        except OSError as exc:
            raise StoreBusy(f"{self.svc.store.path} stayed busy, and this run's result could not be kept "
                            f"in a recovery file either ({exc})") from None
        return _joined(feedback, f"(The database stayed busy, another program holding its write lock: "
                                 f"this result is kept in {self.recovery_file} and is recorded the next "
                                 f"time PathLab starts.)")

    def _progress_after(self, status: str, score: float, passed: bool, finished_at: datetime
                        ) -> dict[str, NodeProgress]:
        """Progress with this run counted, also when its result is still waiting in a recovery file."""
        if self.recovery_file is None:
            return self.svc.progress(self.learner)
        this = Attempt(id=self.attempt_id or 0, learner_id=self.learner.id, lab_id=self.lab_id,
                       node_id=self.node_id, mode=self.mode, test_out=self.test_out, status=status,
                       score=score, passed=passed, started_at=self._started_at or finished_at,
                       finished_at=finished_at)
        attempts = [a for a in self.svc.store.attempts(self.learner.id) if a.id != this.id]
        return node_progress(self.svc.curriculum, [this, *attempts], self.svc.store.quiz_attempts(self.learner.id))


def _failure_text(event: Failed) -> str:
    tail = event.traceback.strip().splitlines()[-12:]
    return event.message + ("\n" + "\n".join(tail) if tail else "")
