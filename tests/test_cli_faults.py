"""Bad input and awkward surroundings on the command line: one `Error:` line, the right exit code,
nothing recorded; --json output as the README promises it (issue 11 §4, §5)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from planner.cli import main
from planner.store import Store

ROOT = Path(__file__).resolve().parent.parent


def invoke(db: Path, *args: str, data: Path | None = None):
    base = ["--db", str(db)] + (["--data", str(data)] if data else [])
    return CliRunner().invoke(main, base + list(args), catch_exceptions=False)


def one_error_line(result, code: int) -> str:
    """The result failed with `code` and said so in exactly one line on stderr starting `Error:`."""
    assert result.exit_code == code, result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    assert result.stdout == "" and "Traceback" not in result.output
    return lines[0]


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "faults.sqlite"
    with Store.open(path) as store:
        store.add_learner("李雷")
    return path


# -- seeds -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", ["99999999999999999999999", "-1", str(2**32)])
def test_a_seed_outside_numpys_range_is_a_usage_error_and_nothing_is_recorded(db, seed):
    """Before: OverflowError traceback (huge), or an `error` attempt with a numpy traceback (-1)."""
    line = one_error_line(invoke(db, "lab", "run", "gd-linear", "--practice", "--seed", seed), 2)
    assert "--seed" in line and seed in line and "4294967295" in line
    with Store.open(db) as store:
        assert store.attempts(store.get_learner("李雷").id) == []


def test_the_seed_range_is_numpys():
    import numpy as np

    from planner.cli.labs import SEED

    assert SEED.convert("4294967295", None, None) == 2**32 - 1
    np.random.default_rng(2**32 - 1)
    np.random.seed(2**32 - 1)  # the legacy seeder is the stricter one: it refuses 2**32 and -1
    with pytest.raises(ValueError):
        np.random.seed(2**32)


# -- usage errors ------------------------------------------------------------------------------------


@pytest.mark.parametrize("args", [["--bogus"], ["no-such-command"], ["nodes", "--bogus"], ["lab", "run"],
                                  ["lab", "run", "gd-linear", "--seed", "x"], ["report", "--format", "pdf"],
                                  ["lab", "run", "no-such-lab"]])
def test_a_usage_error_is_one_error_line_with_exit_2(db, args):
    """Before: click's usage line, a `Try ... --help` line, then the error: three lines."""
    line = one_error_line(invoke(db, *args), 2)
    assert "--help" in line  # the hint survives, inside the one line


def test_help_still_works(db):
    for args in (["--help"], ["lab", "--help"], ["lab", "run", "--help"]):
        result = invoke(db, *args)
        assert result.exit_code == 0 and result.stdout.startswith("Usage: ")


# -- --json -----------------------------------------------------------------------------------------


def test_every_json_output_keeps_non_ascii_text(db):
    """Before: `lab list --json` printed the learner 李雷 as \\u674e\\u96f7."""
    for args in (["lab", "list", "--json"], ["nodes", "--json"], ["learner", "list", "--json"],
                 ["plan", "--json"], ["roles", "--json"]):
        result = invoke(db, *args)
        assert result.exit_code == 0, (args, result.output)
        assert "李雷" in result.stdout and "\\u" not in result.stdout, args
        json.loads(result.stdout)


def test_lab_show_json_keeps_non_ascii_text(db):
    from labs.catalog import all_labs

    for item in all_labs():
        out = invoke(db, "lab", "show", item.id, "--json").stdout
        assert "\\u" not in out and json.loads(out)["id"] == item.id


def test_lab_run_json_keeps_non_ascii_text(db):
    result = invoke(db, "lab", "run", "gd-linear", "--practice", "--json")
    assert result.exit_code in (0, 1), result.output
    assert '"learner": "李雷"' in result.stdout
    assert json.loads(result.stdout)["learner"] == "李雷"


def test_grade_watch_json_prints_json_lines(db, monkeypatch):
    """Before: `lab grade --watch --json` printed indented documents one after another (not parseable)."""
    from labs.grading import CheckResult
    from planner import implement
    from planner.cli import lab_implement

    calls = []

    def fake_grade(service, learner, lab_id, node_id, workspace=None, *, timeout_s, on_event=None):
        calls.append(lab_id)
        return implement.Graded.model_construct(  # only the fields `lab grade --json` prints
            attempt_id=len(calls), lab=lab_id, learner=learner.name, mode="implement", status="failed",
            passed=False, score=50.0, code_hash=f"h{len(calls)}", duration_s=0.1,
            checks=[CheckResult(id="forward", title="Forward — values", points=5, max_points=10,
                                status="partial", message="off by 1e-3")])

    hashes = iter(["h1", "h2", "h2"])

    def fake_sha(path):
        try:
            return next(hashes)
        except StopIteration:
            raise KeyboardInterrupt from None

    monkeypatch.setattr(implement, "grade_and_record", fake_grade)
    monkeypatch.setattr(lab_implement, "_sha256", fake_sha)
    monkeypatch.setattr(lab_implement.time, "sleep", lambda s: None)
    result = invoke(db, "lab", "grade", "ffnn-digits", "--watch", "--json")
    lines = result.stdout.splitlines()
    assert len(lines) == 2 == len(calls), result.stdout
    docs = [json.loads(line) for line in lines]
    assert [d["attempt_id"] for d in docs] == [1, 2] and docs[0]["learner"] == "李雷"
    assert "Forward — values" in lines[0]


# -- paths and files ---------------------------------------------------------------------------------


def test_a_300_character_output_name_is_one_line_naming_it(db, tmp_path):
    """Before: OSError (File name too long) traceback from the existence check."""
    name = tmp_path / ("r" * 300 + ".md")
    line = one_error_line(invoke(db, "report", "-o", str(name)), 1)
    assert str(name) in line and "too long" in line


def test_a_name_near_the_limit_is_written(db, tmp_path):
    """A 250-byte name is legal; the temporary file beside it must not need a longer one."""
    name = tmp_path / ("r" * 247 + ".md")
    result = invoke(db, "report", "-o", str(name))
    assert result.exit_code == 0, result.output
    assert name.read_text(encoding="utf-8").startswith("# 李雷")
    assert os.listdir(tmp_path).count(name.name) == 1 and len(os.listdir(tmp_path)) == 2  # + the db


def test_dash_writes_the_report_and_the_export_to_stdout(db, tmp_path):
    report = invoke(db, "report", "-o", "-", "--format", "json")
    assert report.exit_code == 0 and json.loads(report.stdout)["learner"]["name"] == "李雷"
    export = invoke(db, "export-progress", "-")
    assert export.exit_code == 0 and json.loads(export.stdout)["learner"]["name"] == "李雷"
    assert "Exported 李雷" in export.stderr and not (tmp_path / "-").exists()


def test_deeply_nested_toml_in_curriculum_check_names_the_file(db, curriculum_copy):
    (curriculum_copy / "curriculum" / "40-deep.toml").write_text("x = " + "[" * 5000 + "]" * 5000 + "\n")
    result = invoke(db, "curriculum", "check", str(curriculum_copy), "--no-lab-ids")
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "40-deep.toml: TOML nested too deeply" in result.stderr


# -- the database --------------------------------------------------------------------------------------


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def _running_attempt(db: Path) -> int:
    with Store.open(db) as store:
        learner = store.get_learner("李雷")
        return store.start_attempt(learner.id, "model-size", "large-models", mode="practice", params={}, seed=0,
                                   pid=_dead_pid(), app_version="0.1.0")


@pytest.mark.parametrize("args", [["nodes", "--json"], ["lab", "list", "--json"], ["report", "--format", "json"],
                                  ["learner", "list"], ["plan"]])
def test_every_command_that_opens_the_database_marks_dead_runs_interrupted(db, args):
    """Before: only `lab run` and the app did, so `nodes`, `lab list` and reports showed a killed run
    as still running."""
    attempt_id = _running_attempt(db)
    result = invoke(db, *args)
    assert result.exit_code == 0, result.output
    with Store.open(db) as store:
        assert store.attempt(attempt_id).status == "interrupted"
    if args[0] == "report":
        assert [a["status"] for a in json.loads(result.stdout)["attempts"]] == ["interrupted"]


HOLD_LOCK = textwrap.dedent("""
    import sqlite3, sys, time
    conn = sqlite3.connect(sys.argv[1], isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")
    conn.execute("INSERT INTO app_state (key, value) VALUES ('held', '1')")
    print("locked", flush=True)
    time.sleep(float(sys.argv[2]))
    conn.execute("ROLLBACK")
""")


def test_a_write_locked_database_is_one_line_and_readers_go_on(db, monkeypatch):
    """Another process holds the write lock past our busy timeout: reads still work (WAL), a write says
    the database is busy in one line, never a traceback."""
    monkeypatch.setenv("PATHLAB_BUSY_TIMEOUT_MS", "300")
    _running_attempt(db)  # recovery wants to write too: it must not stop a reading command
    holder = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(db), "30"], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        start = time.monotonic()
        nodes = invoke(db, "nodes", "--json")
        assert nodes.exit_code == 0 and json.loads(nodes.stdout)["learner"] == "李雷", nodes.output
        report = invoke(db, "report", "--format", "md")
        assert report.exit_code == 0 and report.stdout.startswith("# 李雷"), report.output
        line = one_error_line(invoke(db, "learner", "add", "Carol"), 1)
        assert "busy" in line and str(db) in line
        assert time.monotonic() - start < 25, "the lock holder must still be holding"  # generous: loaded CI
    finally:
        holder.kill()
        holder.wait()
    with Store.open(db) as store:
        assert [l.name for l in store.list_learners()] == ["李雷"]


# -- packaging ---------------------------------------------------------------------------------------


def test_a_foreign_labs_package_is_named_in_one_line(tmp_path):
    """`labs` is a generic name: another installed project's would be imported instead of ours."""
    fake = tmp_path / "site" / "labs"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text('"""Somebody else\'s lab tools."""\n')
    env = {**os.environ, "PYTHONPATH": str(tmp_path / "site")}
    done = subprocess.run([sys.executable, "-c", "from planner.cli import main; main()",
                           "--db", str(tmp_path / "x.sqlite"), "nodes"],
                          capture_output=True, text=True, env=env, timeout=60, cwd=tmp_path)  # not ./labs
    assert done.returncode == 1, done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: the 'labs' package imported from "), done.stderr
    assert str(fake / "__init__.py") in lines[0] and "not PathLab's" in lines[0]
    assert not (tmp_path / "x.sqlite").exists()


def test_our_labs_carries_the_marker_and_the_check_skips_numpy():
    done = subprocess.run([sys.executable, "-c", "import sys; from planner.cli import check_labs_is_ours; "
                           "check_labs_is_ours(); print('numpy' in sys.modules)"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stdout.strip() == "False", done.stderr


def test_a_database_path_the_system_refuses_is_one_line_naming_it(tmp_path):
    """Before: `--db` with a 300-character name ended in an OSError traceback from the path checks."""
    name = tmp_path / ("d" * 300 + ".sqlite")
    line = one_error_line(invoke(name, "nodes"), 1)
    assert str(name) in line and "too long" in line


def test_a_command_that_needs_no_curriculum_works_beside_a_broken_one(db, tmp_path):
    """Opening the database recovers dead runs; that needs no curriculum, so `learner list` neither
    loads one nor fails on a broken --data folder (it did once recovery went through the Service)."""
    broken = tmp_path / "broken-data"
    (broken / "curriculum").mkdir(parents=True)
    (broken / "curriculum" / "nodes.toml").write_text("[[node]\n", encoding="utf-8")
    attempt_id = _running_attempt(db)
    result = invoke(db, "learner", "list", "--json", data=broken)
    assert result.exit_code == 0, result.output
    assert [row["name"] for row in json.loads(result.stdout)] == ["李雷"]
    with Store.open(db) as store:
        assert store.attempt(attempt_id).status == "interrupted"


def test_a_run_kept_for_recovery_and_feedback_with_brackets_print_plainly(capsys, monkeypatch):
    """The outcome printer once said 'attempt None' for a result kept beside a busy database, and
    parsed feedback and check messages as Rich markup: a learner's '[/]' raised a MarkupError."""
    from labs.grading import CheckResult, Grade
    from planner.cli.progress_view import print_outcome
    from planner.service import LabOutcome

    check = CheckResult(id="c", title="shape [/]", points=0, max_points=1, status="failed",
                        message="got x[/] and [bold")
    grade = Grade(checks=[check], score=0, passed=False, pass_mark=70)
    outcome = LabOutcome(attempt_id=None, lab_id="gd-linear", node_id="gradient-descent",
                         status="failed", score=0, passed=False, grade=grade,
                         feedback="your code said [/]")
    monkeypatch.setenv("COLUMNS", "200")
    print_outcome(outcome, None)
    out = capsys.readouterr().out
    assert "attempt None" not in out and "next pathlab command records it" in out
    assert "your code said [/]" in out and "[bold" in out
