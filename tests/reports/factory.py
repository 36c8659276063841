"""A realistic `ReportData` built by hand, so renderers are tested without a database."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import tomllib
from pathlib import Path

import numpy as np

from planner import plan as planning
from planner.curriculum import Curriculum, Node
from planner.reports.data import depths
from planner.reports.models import (
    BestAttempt, CheckRow, DayActivity, Filters, LearnerInfo, NodeReport, Overall, Plan, PlanStep, ReportAttempt,
    QuizRow, ReportData, Series, TrackReport,
)

START = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
STATES = {"large-models": "completed", "gradient-descent": "completed", "classic-vs-deep": "in_progress",
          "backpropagation": "available"}


def checks(score: float) -> list[CheckRow]:
    return [
        CheckRow(check_id="final-loss", title="Final loss below 0.05", points=score / 2, max_points=50,
                 status="passed" if score == 100 else "partial", message="loss 0.031", required=True),
        CheckRow(check_id="converged", title="Converges within budget", points=score / 2, max_points=50,
                 status="passed" if score == 100 else "partial", message="converged at step 120"),
    ]


def attempt(i: int, node: str, lab: str, score: float, n_points: int = 300, name: str = "Ada") -> BestAttempt:
    steps = np.arange(n_points)
    loss = 2.0 * np.exp(-steps / 60) + 0.02
    return BestAttempt(
        id=i, lab_id=lab, node_id=node, mode="practice", status="passed" if score >= 70 else "failed",
        score=score, passed=score >= 70, seed=7, params={"lr": 0.1, "note": name}, metrics={"train_loss": 0.03},
        feedback="", started_at=START + timedelta(days=i), finished_at=START + timedelta(days=i, seconds=40),
        duration_s=40.0, checks=checks(score),
        series=[Series(name="train_loss", steps=steps.tolist(), values=loss.tolist()),
                Series(name="val_loss", steps=steps.tolist(), values=(loss * 1.1).tolist())],
    )


def full_curriculum() -> Curriculum:
    """The agreed 17-node graph read straight from data/curriculum, without the lesson/quiz file checks
    (other files are still being written; the graph is what reports need)."""
    root = Path(__file__).resolve().parents[2] / "data"
    nodes = [Node.model_validate(raw) for f in sorted((root / "curriculum").glob("*.toml"))
             for raw in tomllib.loads(f.read_text(encoding="utf-8"))["node"]]
    return Curriculum(root=root, nodes={n.id: n for n in nodes})


def report_data(name: str = "Ada Lovelace", n_points: int = 300, note: str = "Ada") -> ReportData:
    curriculum = full_curriculum()
    depth = depths(curriculum)
    best = {"large-models": attempt(1, "large-models", "model-size", 100.0, n_points, note),
            "gradient-descent": attempt(2, "gradient-descent", "gd-linear", 85.0, n_points, note)}
    order = curriculum.topological_order()
    nodes = [NodeReport(id=n.id, title=n.title, kind=n.kind, track=n.track, prerequisites=planning.prerequisites(n),
                        depth=depth[n.id], hours=n.hours, lab_id=n.lab, state=STATES.get(n.id, "locked"),
                        mastery="proficient" if n.id in best else "none",
                        best_score=best[n.id].score if n.id in best else None,
                        time_spent_s=40.0 if n.id in best else 0.0, attempts=int(n.id in best),
                        best_attempt=best.get(n.id))
             for n in (curriculum.nodes[i] for i in order)]
    tracks = [TrackReport(id=t, completed=sum(n.state == "completed" for n in nodes if n.track == t),
                          total=sum(n.track == t for n in nodes), nodes=[n for n in nodes if n.track == t])
              for t in dict.fromkeys(n.track for n in nodes)]
    attempts = [ReportAttempt(**a.model_dump(exclude={"series"})) for a in sorted(best.values(), key=lambda a: -a.id)]
    return ReportData(
        generated_on=date(2026, 3, 10),
        learner=LearnerInfo(name=name, target_role="ml-engineer", hours_per_week=5.0),
        filters=Filters(), overall=Overall(total=17, completed=2, in_progress=1, available=1, locked=13,
                                           time_spent_s=80.0),
        tracks=tracks, attempts=attempts,
        quizzes=[QuizRow(node_id="large-models", title="What AI large models are", score=0.8, passed=True, started_at=START,
                         finished_at=START + timedelta(minutes=3))],
        activity=[DayActivity(day=date(2026, 3, 4), attempts=1, passed=1, quizzes=0, time_spent_s=40.0),
                  DayActivity(day=date(2026, 3, 3), attempts=1, passed=1, quizzes=0, time_spent_s=40.0)],
        plan=Plan(role_id="ml-engineer", role_title="ML engineer", readiness=0.25, remaining_hours=30.0,
                  projected_finish=date(2026, 5, 1),
                  steps=[PlanStep(node_id="backpropagation", title="Backpropagation", state="available", hours=4.0)]),
    )
