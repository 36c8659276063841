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
    """A batch of whole attempts (this small file is one) lands in one transaction with the new learner:
    a crash after some rows rolls every row of it back."""
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


def _doc(seeded) -> dict:
    store, ada = seeded
    return json.loads(export_progress(store, ada))


@pytest.mark.parametrize("where, token", [
    (("quiz_attempts", 0, "score"), "NaN"),
    (("attempts", 1, "metrics", "train_loss"), "Infinity"),
    (("attempts", 0, "curves", "train_loss", "values", 3), "-Infinity"),
    (("attempts", 2, "checks", 0, "points"), "NaN"),
])
def test_a_non_finite_number_anywhere_is_refused_naming_the_file_and_field(seeded, fresh, where, token):
    # A quiz score of NaN imported, then every command for that learner failed with a pydantic error.
    doc = _doc(seeded)
    target = doc
    for key in where[:-1]:
        target = target[key]
    target[where[-1]] = "__BAD__"
    text = json.dumps(doc).replace('"__BAD__"', token)
    with pytest.raises(PortableError) as info:
        import_progress(fresh, text, source="ada.json")
    message = str(info.value)
    assert "ada.json" in message and ".".join(map(str, where)) in message and token in message
    assert "\n" not in message
    assert fresh.list_learners() == []


def test_the_file_models_refuse_non_finite_numbers_built_in_python():
    from pydantic import ValidationError

    from planner.portable import PortableQuiz

    with pytest.raises(ValidationError, match="finite"):
        PortableQuiz(node_id="n", score=float("nan"), passed=False, started_at="2026-01-01T00:00:00Z",
                     finished_at="2026-01-01T00:01:00Z")


def test_deeply_nested_json_is_one_clear_line_not_a_recursion_error(fresh):
    text = '{"format_version": 1, "learner": {"name": "A"}, "attempts": [], "quiz_attempts": [], "x": ' \
           + "[" * 100_000 + "]" * 100_000 + "}"
    with pytest.raises(PortableError, match="ada.json is nested too deeply"):
        import_progress(fresh, text, source="ada.json")


def test_times_without_a_time_zone_are_utc_so_a_second_import_adds_nothing(seeded, fresh):
    doc = _doc(seeded)
    for row in doc["attempts"] + doc["quiz_attempts"]:
        for key in ("started_at", "finished_at"):
            assert row[key].endswith("Z")
            row[key] = row[key].removesuffix("Z")  # naive: as a hand-written or older file has them
    text = json.dumps(doc)
    first = import_progress(fresh, text)
    again = import_progress(fresh, text)
    assert (first.attempts_added, first.quizzes_added) == (3, 3)
    assert (again.attempts_added, again.quizzes_added) == (0, 0)
    assert export_progress(fresh, fresh.get_learner("Ada")) == export_progress(*seeded)


def test_a_file_over_the_size_limit_or_the_database_itself_is_refused(tmp_path, store, monkeypatch):
    import planner.portable as portable

    big = tmp_path / "big.json"
    big.write_text("{}" + " " * 5000, encoding="utf-8")
    monkeypatch.setattr(portable, "MAX_FILE_BYTES", 4096)
    with pytest.raises(PortableError, match=r"big.json is 0 MiB; a progress export is at most 0 MiB"):
        portable.read_progress_file(big)
    with pytest.raises(PortableError, match="is the PathLab database itself"):
        portable.read_progress_file(store.path, database=store.path)
    small = tmp_path / "small.json"
    small.write_text("{}", encoding="utf-8")
    assert portable.read_progress_file(small, database=store.path) == "{}"


def test_a_large_import_commits_in_batches_and_a_stopped_one_resumes(seeded, fresh, monkeypatch):
    # One transaction for a whole 4,000-attempt file held the write lock for seconds, so a run finishing
    # beside it waited past the busy timeout. Batches of whole attempts; a repeat skips what is present.
    import planner.portable as portable

    store, ada = seeded
    text = export_progress(store, ada)
    monkeypatch.setattr(portable, "BATCH_ROWS", 50)  # each seeded attempt is ~104 rows: one per batch
    commits = []
    real_transaction = type(fresh).transaction

    def counting(self):
        if not self.db.conn.in_transaction:
            commits.append(1)
        return real_transaction(self)

    monkeypatch.setattr(type(fresh), "transaction", counting)
    real = portable._add_attempt
    calls = []

    def stop_on_third(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(portable, "_add_attempt", stop_on_third)
    with pytest.raises(KeyboardInterrupt):
        import_progress(fresh, text)
    assert len(commits) == 3  # one transaction per attempt here, not one for the file
    assert fresh.db.execute("SELECT count(*) FROM attempts").fetchone()[0] == 2  # two whole attempts kept
    monkeypatch.setattr(portable, "_add_attempt", real)
    resumed = import_progress(fresh, text)
    assert (resumed.created, resumed.attempts_added, resumed.attempts_skipped) == (False, 1, 2)
    assert export_progress(fresh, fresh.get_learner("Ada")) == text
