"""build_report_data over a real database: the figures a report shows come from recorded attempts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from planner.reports import ReportError, build_report_data


def test_best_attempt_is_the_highest_score_with_its_curves_and_checks(seeded, full_graph):
    store, ada = seeded
    data = build_report_data(store, full_graph, "Ada")
    gd = next(n for n in data.nodes() if n.id == "gradient-descent")
    assert gd.attempts == 2
    assert gd.best_attempt.score == 100.0 and gd.best_attempt.params == {"lr": 0.05}
    assert [c.check_id for c in gd.best_attempt.checks] == ["final-mse", "slope"]
    curves = {s.name: s for s in gd.best_attempt.series}
    assert set(curves) == {"train_loss", "val_loss"}
    assert len(curves["train_loss"].steps) == 50 and curves["train_loss"].values[0] > curves["train_loss"].values[-1]


def test_states_overall_and_plan_follow_progress(seeded, full_graph):
    store, _ = seeded
    data = build_report_data(store, full_graph, "Ada")
    states = {n.id: n.state for n in data.nodes()}
    assert states["large-models"] == states["gradient-descent"] == "completed"
    assert states["backpropagation"] == "available" and states["ffnn"] == "locked"
    assert data.overall.completed == 2 and data.overall.total == len(full_graph.nodes)
    assert sum([data.overall.completed, data.overall.in_progress, data.overall.available,
                data.overall.locked]) == len(full_graph.nodes)
    assert data.plan.role_id == "ml-engineer" and 0 < data.plan.readiness < 1
    assert data.plan.steps[-1].node_id == "ml-engineer"
    assert data.plan.projected_finish > data.generated_on
    assert [t.id for t in data.tracks] == ["foundations", "models", "careers"]


def test_activity_groups_attempts_and_quizzes_by_day(seeded, full_graph):
    store, _ = seeded
    data = build_report_data(store, full_graph, "Ada")
    today = datetime.now(UTC).date()
    assert data.activity[0].day == today and data.activity[0].attempts == 3 and data.activity[0].passed == 2
    assert data.activity[-1].day == today - timedelta(days=40) and data.activity[-1].quizzes == 1


def test_since_and_node_filters_narrow_the_lists_not_the_states(seeded, full_graph):
    store, _ = seeded
    today = datetime.now(UTC).date()
    recent = build_report_data(store, full_graph, "Ada", since=today - timedelta(days=1))
    assert len(recent.quizzes) == 2 and len(recent.attempts) == 3
    future = build_report_data(store, full_graph, "Ada", since=today + timedelta(days=1))
    assert future.attempts == [] and future.activity == []
    assert future.overall.completed == 2  # states do not depend on the window
    one = build_report_data(store, full_graph, "Ada", node_id="gradient-descent")
    assert [n.id for n in one.nodes()] == ["gradient-descent"]
    assert {a.node_id for a in one.attempts} == {"gradient-descent"}


def test_unknown_learner_or_node_is_a_clear_error(seeded, full_graph):
    store, _ = seeded
    with pytest.raises(ReportError, match="no learner named 'Bob'.*Ada"):
        build_report_data(store, full_graph, "Bob")
    with pytest.raises(ReportError, match="unknown node 'nope'"):
        build_report_data(store, full_graph, "Ada", node_id="nope")


def test_a_diverged_run_reports_in_every_format(seeded, full_graph):
    import json

    import jsonschema

    from planner.records import MetricPoint
    from planner.reports import render
    from planner.reports.jsonreport import SCHEMA_PATH

    store, ada = seeded
    attempt_id = store.start_attempt(ada.id, "backprop-spirals", "backpropagation", mode="explore",
                                     params={"lr": 50.0}, seed=0, pid=None, app_version="0.1.0")
    store.add_metrics(attempt_id, [MetricPoint(step=i, name="train_loss", value=v)
                                   for i, v in enumerate([0.7, 3.0, float("inf"), float("nan")])])
    store.finish_attempt(attempt_id, status="failed", score=0.0, passed=False, metrics={"train_loss": float("nan")},
                         feedback="The loss diverged: lower the learning rate.", checks=[], duration_s=0.4)
    data = build_report_data(store, full_graph, ada)
    bp = next(n for n in data.nodes() if n.id == "backpropagation")
    assert bp.best_attempt.series[0].values == [0.7, 3.0, None, None]
    jsonschema.validate(json.loads(render(data, "json")), json.loads(SCHEMA_PATH.read_text()))
    assert "The loss diverged" in render(data, "html") and "0.7 → 3" in render(data, "md")
