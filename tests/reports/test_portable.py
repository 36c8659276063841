"""Export -> import -> export round-trips a learner exactly; importing twice changes nothing."""

from __future__ import annotations

import json

import pytest

from planner.portable import PortableError, export_progress, import_progress
from planner.store import Store

from .conftest import record_attempt


@pytest.fixture
def fresh(tmp_path):
    s = Store.open(tmp_path / "other" / "pathlab.sqlite")
    yield s
    s.close()


def test_round_trip_is_exact(seeded, fresh):
    store, ada = seeded
    text = export_progress(store, ada)
    summary = import_progress(fresh, text)
    assert summary.created and summary.attempts_added == 3 and summary.quizzes_added == 3
    assert export_progress(fresh, fresh.get_learner("Ada")) == text
    doc = json.loads(text)
    assert doc["format_version"] == 1 and doc["learner"]["target_role"] == "ml-engineer"
    best = max(doc["attempts"], key=lambda a: (a["score"], a["started_at"]))
    assert len(best["curves"]["train_loss"]["steps"]) == 50 and best["samples"][0][1].startswith("fit:")
    assert [c["id"] for c in best["checks"]] == ["final-mse", "slope"]


def test_importing_twice_changes_nothing(seeded, fresh):
    store, ada = seeded
    text = export_progress(store, ada)
    import_progress(fresh, text)
    again = import_progress(fresh, text)
    assert (again.created, again.attempts_added, again.quizzes_added) == (False, 0, 0)
    assert again.attempts_skipped == 3
    assert export_progress(fresh, fresh.get_learner("Ada")) == text


def test_newer_history_is_merged_into_an_older_copy(seeded, fresh):
    store, ada = seeded
    import_progress(fresh, export_progress(store, ada))
    record_attempt(store, ada.id, "backprop-spirals", "backpropagation", 80.0)
    summary = import_progress(fresh, export_progress(store, ada))
    assert summary.attempts_added == 1 and summary.attempts_skipped == 3


def test_same_name_with_other_history_asks_for_a_rename(seeded, fresh):
    store, ada = seeded
    other = fresh.add_learner("Ada")
    record_attempt(fresh, other.id, "model-size", "large-models", 40.0)
    text = export_progress(store, ada)
    with pytest.raises(PortableError, match="'Ada' already exists.*--rename"):
        import_progress(fresh, text)
    summary = import_progress(fresh, text, rename="Ada (laptop)")
    assert summary.learner == "Ada (laptop)" and summary.attempts_added == 3


@pytest.mark.parametrize("text, message", [
    ("not json", "is not JSON"),
    ('{"hello": 1}', "no format_version"),
    ('{"format_version": 99}', "format_version 99"),
    ('{"format_version": 1, "learner": {"name": "A"}, "attempts": [{"lab_id": 3}], "quiz_attempts": []}',
     "attempts.0.node_id"),
    # a hand-edited mode or status got past validation and failed deep in the store, naming neither
    # the file nor the attempt (and a 'running' status could not be finished at all)
    ('{"format_version": 1, "learner": {"name": "A"}, "attempts": [{"lab_id": "x", "node_id": "n", '
     '"mode": "bogus", "status": "passed", "started_at": "2026-01-01T00:00:00Z"}], "quiz_attempts": []}',
     "attempts.0.mode"),
    ('{"format_version": 1, "learner": {"name": "A"}, "attempts": [{"lab_id": "x", "node_id": "n", '
     '"mode": "explore", "status": "running", "started_at": "2026-01-01T00:00:00Z"}], "quiz_attempts": []}',
     "attempts.0.status"),
])
def test_bad_files_are_named_and_explained(fresh, text, message):
    with pytest.raises(PortableError, match=message) as info:
        import_progress(fresh, text, source="ada.json")
    assert "ada.json" in str(info.value)
    assert fresh.list_learners() == []


def test_a_diverged_run_with_nan_and_inf_round_trips(store, fresh):
    from planner.records import MetricPoint

    ada = store.add_learner("Ada")
    attempt_id = store.start_attempt(ada.id, "gd-linear", "gradient-descent", mode="explore", params={"lr": 9.0},
                                     seed=0, pid=None, app_version="0.1.0")
    store.add_metrics(attempt_id, [MetricPoint(step=i, name="train_loss", value=v)
                                   for i, v in enumerate([1.0, float("inf"), float("nan")])])
    store.finish_attempt(attempt_id, status="failed", score=0.0, passed=False, metrics={"train_loss": float("inf")},
                         feedback="diverged", checks=[], duration_s=0.5)
    text = export_progress(store, ada)
    import_progress(fresh, text)
    assert export_progress(fresh, fresh.get_learner("Ada")) == text
    assert json.loads(text)["attempts"][0]["curves"]["train_loss"]["values"][0] == 1.0


def test_an_import_that_fails_half_way_leaves_nothing_behind(seeded, fresh, monkeypatch):
    """The whole history lands in one transaction: a crash after some rows rolls every row back."""
    import planner.portable as portable

    store, ada = seeded
    text = export_progress(store, ada)
    real = portable._add_attempt
    calls = []

    def fail_on_second(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise OSError("disk full")
        return real(*args, **kwargs)

    monkeypatch.setattr(portable, "_add_attempt", fail_on_second)
    with pytest.raises(OSError):
        import_progress(fresh, text)
    assert fresh.list_learners() == []
    assert fresh.db.execute("SELECT count(*) FROM attempts").fetchone()[0] == 0
    monkeypatch.setattr(portable, "_add_attempt", real)
    assert import_progress(fresh, text).attempts_added == 3  # and a retry then works


def test_the_file_accepts_exactly_the_stores_final_statuses():
    from typing import get_args

    from planner.portable import PortableAttempt
    from planner.records import FINAL_STATUSES

    assert set(get_args(PortableAttempt.model_fields["status"].annotation)) == FINAL_STATUSES


@pytest.mark.parametrize("learner, message", [('{"name": "  "}', "learner.name: a learner name cannot be empty"),
                                              ('{"name": "A", "hours_per_week": 1000}', "learner.hours_per_week")])
def test_a_bad_learner_in_the_file_names_the_file_and_field(fresh, learner, message):
    # these were bare store messages ("a learner name cannot be empty") that named neither
    text = f'{{"format_version": 1, "learner": {learner}, "attempts": [], "quiz_attempts": []}}'
    with pytest.raises(PortableError, match=message) as info:
        import_progress(fresh, text, source="ada.json")
    assert "ada.json" in str(info.value)
    assert fresh.list_learners() == []


def test_an_attempt_listed_twice_in_a_file_is_imported_once(seeded, fresh):
    store, ada = seeded
    doc = json.loads(export_progress(store, ada))
    doc["attempts"].append(doc["attempts"][0])
    doc["quiz_attempts"].append(doc["quiz_attempts"][0])
    summary = import_progress(fresh, json.dumps(doc))
    assert (summary.attempts_added, summary.quizzes_added) == (3, 3)
    assert (summary.attempts_skipped, summary.quizzes_skipped) == (1, 1)
