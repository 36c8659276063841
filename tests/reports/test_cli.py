"""`pathlab report`, `export-progress`, `import-progress` end to end through click."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from planner.cli import main
from planner.store import Store

from .conftest import record_attempt


@pytest.fixture
def db(tmp_path):
    """A database with one learner and one graded attempt, on the bundled curriculum."""
    path = tmp_path / "cli.sqlite"
    with Store.open(path) as store:
        ada = store.add_learner("Ada", target_role="ml-engineer", hours_per_week=4)
        record_attempt(store, ada.id, "gd-linear", "gradient-descent", 100.0)
    return path


def run(db, *args):
    return CliRunner().invoke(main, ["--db", str(db), *args], catch_exceptions=False)


def test_report_to_stdout_and_to_a_file(db, tmp_path):
    md = run(db, "report", "--format", "md")
    assert md.exit_code == 0 and md.output.startswith("# Ada · PathLab progress")
    out = tmp_path / "ada.html"
    written = run(db, "report", "-o", str(out), "--node", "gradient-descent")
    assert written.exit_code == 0, written.output
    html = out.read_text()
    assert html.startswith("<!DOCTYPE html>") and "Final MSE below 0.05" in html


def test_report_json_and_csv_from_the_cli(db):
    doc = json.loads(run(db, "report", "--format", "json", "--since", "2000-01-01").output)
    assert doc["filters"]["since"] == "2000-01-01" and len(doc["attempts"]) == 1
    csv_lines = run(db, "report", "--format", "csv").output.splitlines()
    assert len(csv_lines) == 3 and csv_lines[1].startswith("Ada,gradient-descent,gd-linear,")


def test_user_mistakes_are_one_line_errors(db, tmp_path):
    for args, message, code in [(["report", "--learner", "Bob"], "no learner named 'Bob'", 2),
                                (["report", "--node", "nope"], "unknown node 'nope'", 2),
                                (["report", "-o", str(tmp_path / "no" / "r.md")], "does not exist", 1)]:
        result = CliRunner().invoke(main, ["--db", str(db), *args])
        assert result.exit_code == code and message in result.output and "Traceback" not in result.output


def test_export_then_import_elsewhere(db, tmp_path):
    file = tmp_path / "ada.json"
    assert "1 lab attempts" in run(db, "export-progress", str(file)).output
    other = tmp_path / "other.sqlite"
    assert "Created Ada: 1 lab attempts" in run(other, "import-progress", str(file)).output
    assert "0 lab attempts and 0 quiz attempts added, 1 already present" in run(other, "import-progress",
                                                                               str(file)).output
    again = tmp_path / "again.json"
    run(other, "export-progress", str(again))
    assert again.read_text() == file.read_text()
