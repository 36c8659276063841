"""Gather everything a report shows, once, from the store, the curriculum, progress and the plan.

Filters narrow what the report *lists*: `since` keeps attempts and quizzes started on or after that
day (UTC); `node_id` keeps one node and its attempts. Node states, mastery, the overall counts, the
build evidence and the plan always describe the learner as of `today` over their whole history, because
"completed" does not stop being true outside a date window.

Build evidence (a node with a build task): its first passing build, the functions the task asked for, the
gradings until that pass, the hints and solution seen before it (`Store.help_views`, recorded by
`pathlab lab hint` / `lab solution`), and whether the file is the reference solution byte for byte.
"""

from __future__ import annotations

import glob
import hashlib
import math
from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime
from pathlib import Path

from planner import plan as planning
from planner.curriculum import Curriculum
from planner.graph_layout import depths  # the skill map's rows; tests import it from here too
from planner.progress import NodeProgress, node_progress, summarise, with_study_time
from planner.records import Attempt as AttemptRecord
from planner.records import Learner
from planner.reports.errors import ReportError, UnknownReportName
from planner.reports.models import (
    BestAttempt, BuildEvidence, CheckRow, DayActivity, DiagnosisRow, Filters, LearnerInfo, NodeReport, Overall, Plan, PlanStep,
    QuizRow, ReportAttempt, ReportData, Series, TrackReport,
)
from planner.store import Store
from planner.studytime import node_study_seconds


def _finite(value: float | None) -> float | None:
    return value if value is None or math.isfinite(value) else None


def _title(curriculum: Curriculum, node_id: str) -> str:
    """The node's title; an id the curriculum no longer has (an old import) is shown as is."""
    node = curriculum.nodes.get(node_id)
    return node.title if node else node_id


def _attempt(record: AttemptRecord, check_results: list, diagnosis: dict | None = None) -> ReportAttempt:
    checks = [CheckRow(check_id=c.id, title=c.title, points=c.points, max_points=c.max_points,
                       status=c.status, message=c.message, required=c.required)
              for c in check_results]
    return ReportAttempt(
        id=record.id, lab_id=record.lab_id, node_id=record.node_id, mode=record.mode, status=record.status,
        score=record.score, passed=bool(record.passed), seed=record.seed, params=record.params,
        metrics={k: _finite(v) for k, v in record.metrics.items()}, feedback=record.feedback,
        started_at=record.started_at, finished_at=record.finished_at, duration_s=record.duration_s,
        checks=checks,
        diagnosis=None if diagnosis is None else DiagnosisRow(
            expected=diagnosis["expected"], answer=diagnosis["answer"], correct=diagnosis["correct"],
            options=diagnosis["options"], answered_at=diagnosis["answered_at"]),
    )


def _best(attempts: Iterable[ReportAttempt]) -> ReportAttempt | None:
    """The highest-scoring graded attempt; the newest wins a tie (attempts come newest first)."""
    graded = [a for a in attempts if a.score is not None]
    return max(graded, key=lambda a: a.score, default=None)  # max keeps the first of equals


def _with_series(attempt: ReportAttempt, store: Store) -> BestAttempt:
    series = [Series(name=name, steps=[s for s, _ in points], values=[_finite(v) for _, v in points])
              for name, points in sorted(store.metric_series(attempt.id).items())]
    return BestAttempt(**attempt.model_dump(), series=series)


def _activity(attempts: list[ReportAttempt], quizzes: list[QuizRow]) -> list[DayActivity]:
    days: dict[date, dict[str, float]] = defaultdict(lambda: {"attempts": 0, "passed": 0, "quizzes": 0, "t": 0.0})
    for a in attempts:
        day = days[a.started_at.astimezone(UTC).date()]
        day["attempts"] += 1
        day["passed"] += a.passed
        day["t"] += a.duration_s or 0.0
    for q in quizzes:
        day = days[q.started_at.astimezone(UTC).date()]
        day["quizzes"] += 1
        day["t"] += ((q.finished_at or q.started_at) - q.started_at).total_seconds()
    return [DayActivity(day=d, attempts=int(v["attempts"]), passed=int(v["passed"]), quizzes=int(v["quizzes"]),
                        time_spent_s=v["t"]) for d, v in sorted(days.items(), reverse=True)]


def _plan(curriculum: Curriculum, progress: Mapping[str, NodeProgress], learner: Learner, today: date) -> Plan | None:
    if not learner.target_role or learner.target_role not in curriculum.nodes:
        return None
    projection = planning.projection(curriculum, progress, learner.target_role, learner.hours_per_week, today)
    path, finish = projection.path, projection.finish
    return Plan(role_id=path.role_id, role_title=path.title, readiness=path.readiness,
                remaining_hours=path.remaining_hours, projected_finish=finish,
                steps=[PlanStep(node_id=s.node_id, title=s.title, state=s.state, hours=s.hours) for s in path.steps])


def _resolve(store: Store, learner: Learner | str) -> Learner:
    if isinstance(learner, Learner):
        return learner
    found = store.get_learner(learner)
    if found is None:
        names = ", ".join(l.name for l in store.list_learners()) or "none yet"
        raise UnknownReportName(f"no learner named {learner!r} (learners: {names})")
    return found


MAX_CODE_BYTES = 256 * 1024
GRADED = ("passed", "failed", "error")
"""Statuses of a build that was graded (a cancelled or interrupted grading is not counted)."""


def _build_evidence(store: Store, learner: Learner, lab_id: str, records: list[AttemptRecord],
                    *, with_code: bool) -> BuildEvidence | None:
    """The first passing build of `lab_id`: what it asked for, when it passed, after how many gradings and
    with what help (`Store.help_views`); with `with_code`, the passing file's text."""
    from labs.implement import get_task, solution_source

    builds = sorted((r for r in records if r.lab_id == lab_id and r.mode == "implement" and r.status in GRADED),
                    key=lambda r: (r.started_at, r.id))
    passing = next((r for r in builds if r.passed), None)
    if passing is None:
        return None
    task = get_task(lab_id)
    passed_at = passing.finished_at or passing.started_at
    seen = [v for v in store.help_views(learner.id, lab_id) if v.viewed_at <= passed_at]
    reference = hashlib.sha256(solution_source(lab_id).encode("utf-8")).hexdigest()
    evidence = BuildEvidence(
        lab_id=lab_id, filename=task.filename, functions=[f.name for f in task.functions], attempt_id=passing.id,
        passed_at=passed_at, gradings_until_pass=builds.index(passing) + 1,
        hints_before_pass=len({v.number for v in seen if v.kind == "hint"}),
        solution_before_pass=any(v.kind == "solution" for v in seen),
        matches_reference=passing.code_hash == reference, code_hash=passing.code_hash)
    if with_code:
        evidence.code, evidence.code_note = _passing_code(passing, task.filename)
    return evidence


def _passing_code(attempt: AttemptRecord, filename: str) -> tuple[str | None, str | None]:
    """(text, None) of the file graded in `attempt` if it, or a backup `pathlab lab start --force` made of
    it, still has the graded sha256; else (None, why not). Only a file with the task's name is read (the
    path comes from the database, which an imported history may have written)."""
    graded = attempt.params.get("file")
    if not isinstance(graded, str) or not attempt.code_hash or Path(graded).name != filename:
        return None, "the build's file was not recorded"
    path = Path(graded)
    candidates = [path, *sorted(path.parent.glob(f"{glob.escape(path.name)}.*.bak"), reverse=True)]
    for candidate in candidates:
        try:
            data = candidate.read_bytes()
        except OSError:
            continue
        if hashlib.sha256(data).hexdigest() == attempt.code_hash:
            if len(data) > MAX_CODE_BYTES:
                return None, f"file too large to attach ({len(data)} bytes, {candidate})"
            return data.decode("utf-8", errors="replace"), None
    if path.exists():
        return None, f"file changed since the pass ({path})"
    return None, f"file not found ({path})"


def _node_reports(curriculum: Curriculum, progress: Mapping[str, NodeProgress], attempts: list[ReportAttempt],
                  store: Store, node_id: str | None, evidence: Mapping[str, BuildEvidence | None] | None = None
                  ) -> list[NodeReport]:
    """Every node (or just `node_id`) in study order, with its progress and its best attempt's curves."""
    by_node: dict[str, list[ReportAttempt]] = defaultdict(list)
    for a in attempts:
        by_node[a.node_id].append(a)
    depth = depths(curriculum)
    nodes = []
    for node in (curriculum.nodes[n] for n in curriculum.topological_order()):
        if node_id not in (None, node.id):
            continue
        p = progress.get(node.id) or NodeProgress(node_id=node.id, state="locked")
        best = _best(by_node[node.id])
        nodes.append(NodeReport(
            id=node.id, title=node.title, kind=node.kind, track=node.track,
            prerequisites=planning.prerequisites(node), depth=depth[node.id], hours=node.hours, lab_id=node.lab,
            state=p.state, mastery=p.mastery, best_score=p.best_score, time_spent_s=p.time_spent_s,
            time_by_kind=dict(p.time_by_kind),
            attempts=len(by_node[node.id]), best_attempt=_with_series(best, store) if best else None,
            completed_at=p.completed_at, test_out=p.test_out, has_build=p.has_build,
            missing_work=list(p.missing_work), build=(evidence or {}).get(node.id),
        ))
    return nodes


def _tracks(nodes: list[NodeReport]) -> list[TrackReport]:
    """Nodes grouped by track; tracks in the order their first node appears (study order)."""
    members: dict[str, list[NodeReport]] = {}
    for node in nodes:
        members.setdefault(node.track, []).append(node)
    return [TrackReport(id=track, completed=sum(n.state == "completed" for n in group), total=len(group),
                        nodes=group) for track, group in members.items()]


def _overall(curriculum: Curriculum, progress: Mapping[str, NodeProgress]) -> Overall:
    states = [progress[n].state if n in progress else "locked" for n in curriculum.nodes]
    return Overall(total=len(states), completed=states.count("completed"), in_progress=states.count("in_progress"),
                   available=states.count("available"), locked=states.count("locked"),
                   time_spent_s=sum(p.time_spent_s for p in progress.values()))


def build_report_data(store: Store, curriculum: Curriculum, learner: Learner | str, *, since: date | None = None,
                      node_id: str | None = None, today: date | None = None, with_code: bool = False) -> ReportData:
    """Everything one learner's report shows; see the module docstring for what the filters narrow.
    `with_code` attaches each passing build's file (read from where it was graded, if unchanged)."""
    learner = _resolve(store, learner)
    if node_id is not None and node_id not in curriculum.nodes:
        raise UnknownReportName(f"unknown node {node_id!r}; try one of: {', '.join(curriculum.nodes)}")
    today = today or datetime.now(UTC).date()
    records = store.attempts(learner.id)
    quiz_records = store.quiz_attempts(learner.id)
    saves = store.build_saves(learner.id)  # study time: lessons read in the app, builds (planner.studytime)
    study = node_study_seconds(store.lesson_seconds(learner.id), saves,
                               store.build_gradings(learner.id, {row["lab_id"] for row in saves}))
    progress = node_progress(curriculum, summaries=with_study_time(summarise(records, quiz_records), study))

    def in_window(started: datetime, node: str) -> bool:
        return (since is None or started.astimezone(UTC).date() >= since) and node_id in (None, node)

    all_checks = store.checks_by_attempt(learner.id)  # one query, not one per attempt
    diagnoses: dict[int, dict] = {}
    for answer in store.diagnosis_answers(learner.id):  # oldest first: the first answer counts
        diagnoses.setdefault(answer["attempt_id"], answer)
    attempts = [_attempt(r, all_checks.get(r.id, []), diagnoses.get(r.id)) for r in records
                if in_window(r.started_at, r.node_id)]
    quizzes = [QuizRow(node_id=q.node_id, title=_title(curriculum, q.node_id), score=q.score, passed=q.passed,
                       started_at=q.started_at, finished_at=q.finished_at, kind=q.kind)
               for q in quiz_records if in_window(q.started_at, q.node_id)]
    evidence = {n.id: _build_evidence(store, learner, n.lab, records, with_code=with_code)
                for n in curriculum.nodes.values()
                if n.lab and progress[n.id].has_build and node_id in (None, n.id)}
    nodes = _node_reports(curriculum, progress, attempts, store, node_id, evidence)
    return ReportData(
        generated_on=today,
        learner=LearnerInfo(name=learner.name, target_role=learner.target_role,
                            hours_per_week=learner.hours_per_week, created_at=learner.created_at,
                            last_active_at=learner.last_active_at),
        filters=Filters(since=since, node_id=node_id), overall=_overall(curriculum, progress),
        tracks=_tracks(nodes), attempts=attempts, quizzes=quizzes, activity=_activity(attempts, quizzes),
        plan=_plan(curriculum, progress, learner, today),
    )
