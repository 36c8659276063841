"""`pathlab learner ...` and `--db`: user mistakes end in one clear line and exit 1, never a traceback."""

from __future__ import annotations

import json
import os
import sqlite3

import pytest

from planner.store import SCHEMA_VERSION, Store


def test_add_list_and_set_round_trip(run_cli):
    assert run_cli("learner", "add", "Ada", "--role", "ml-engineer", "--hours-per-week", "5").exit_code == 0
    assert run_cli("learner", "add", "Zoë").exit_code == 0
    listed = json.loads(run_cli("learner", "list", "--json").stdout)
    assert [(l["name"], l["target_role"], l["hours_per_week"]) for l in listed] == [
        ("Ada", "ml-engineer", 5.0), ("Zoë", None, None)]
    assert set(listed[0]) == {"id", "name", "target_role", "hours_per_week", "created_at", "last_active_at"}
    result = run_cli("learner", "set", "Ada", "--hours-per-week", "8", "--rename", "Ada L.")
    assert result.exit_code == 0 and "Ada L." in result.stdout
    listed = json.loads(run_cli("learner", "list", "--json").stdout)
    assert (listed[0]["name"], listed[0]["target_role"], listed[0]["hours_per_week"]) == ("Ada L.", "ml-engineer", 8.0)


@pytest.mark.parametrize("name, expected", [
    ("", "a learner name cannot be empty"),
    ("x" * 500, "a learner name has at most 80 characters (got 500)"),
])
def test_bad_names_are_refused_with_a_reason(run_cli, name, expected):
    result = run_cli("learner", "add", name)
    assert result.exit_code == 1
    assert result.stderr.strip() == f"Error: {expected}"
    assert "Traceback" not in result.output


def test_duplicate_and_non_ascii_names(run_cli):
    assert run_cli("learner", "add", "學生 Ünïcödé").exit_code == 0
    result = run_cli("learner", "add", "  學生 Ünïcödé ")
    assert result.exit_code == 1 and "'學生 Ünïcödé' already exists" in result.stderr


def test_unknown_role_lists_the_roles(run_cli):
    result = run_cli("learner", "add", "Ada", "--role", "astronaut")
    assert result.exit_code == 2  # a name that is not there: a usage error, like an unknown lab
    assert "unknown role 'astronaut'; choose one of: ml-engineer" in result.stderr
    run_cli("learner", "add", "Ada")
    assert run_cli("learner", "set", "Ada", "--role", "astronaut").exit_code == 2
    assert run_cli("learner", "set", "Ada").exit_code == 2  # nothing to change is a usage error
    assert run_cli("learner", "set", "Nobody", "--hours-per-week", "3").exit_code == 2


def _assert_refused(result, path, words):
    assert result.exit_code == 1
    line = result.stderr.strip()
    assert line.startswith("Error: ") and str(path) in line and words in line and "\n" not in line


def test_db_pointing_at_a_directory(run_cli, tmp_path):
    _assert_refused(run_cli("learner", "list", db=tmp_path), tmp_path, "is a directory")


def test_db_pointing_at_a_text_file(run_cli, tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("hello\n")
    _assert_refused(run_cli("learner", "add", "Ada", db=path), path, "not a SQLite database")
    assert path.read_text() == "hello\n"


def test_db_read_only(run_cli, tmp_path):
    path = tmp_path / "ro.sqlite"
    Store.open(path).close()
    before = path.read_bytes()
    os.chmod(path, 0o444)
    try:
        _assert_refused(run_cli("learner", "add", "Ada", db=path), path, "read-only")
    finally:
        os.chmod(path, 0o644)
    assert path.read_bytes() == before


def test_db_from_a_newer_schema(run_cli, tmp_path):
    path = tmp_path / "future.sqlite"
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    _assert_refused(run_cli("learner", "list", db=path), path, "newer PathLab")


def test_pathlab_db_env_var_is_used(db_path, fixture_root, monkeypatch):
    from click.testing import CliRunner

    from planner.cli import main

    monkeypatch.setenv("PATHLAB_DB", str(db_path))
    result = CliRunner().invoke(main, ["--data", str(fixture_root), "learner", "add", "Env"])
    assert result.exit_code == 0
    with Store.open(db_path) as store:
        assert store.get_learner("Env") is not None
