"""`pathlab lab` end to end, as a script would use it: a real worker process, a fresh database."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from planner.store import Store


def pathlab(db: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", "from planner.cli import main; main()", "--db", str(db), *args],
                          capture_output=True, text=True, timeout=timeout)


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "lab.sqlite"
    assert pathlab(path, "learner", "add", "Ada").returncode == 0
    return path


def test_run_json_passes_records_and_unlocks(db: Path):
    # at its good rate: the default, lr=0.5, is the lab's beginner's mistake (it diverges)
    done = pathlab(db, "lab", "run", "gd-linear", "--practice", "--seed", "1", "--set", "lr=0.05", "--json")
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    for key in ("attempt_id", "lab", "learner", "status", "passed", "score", "checks", "metrics", "params",
                "seed", "duration_s"):
        assert key in out
    assert (out["lab"], out["learner"], out["status"], out["passed"], out["seed"]) == (
        "gd-linear", "Ada", "passed", True, 1)
    assert out["metrics"]["train_loss"] == pytest.approx(out["metrics"]["optimum_loss"], rel=0.01)
    with Store.open(db) as store:
        attempt = store.attempt(out["attempt_id"])
        assert attempt.status == "passed" and attempt.dataset_hash
        assert len(store.metric_series(attempt.id)["train_loss"]) > 5
    nodes = json.loads(pathlab(db, "nodes", "--json").stdout)["nodes"]
    gd = next(n for n in nodes if n["id"] == "gradient-descent")  # locked: the run was a test-out
    if gd["has_build"]:  # issue 13: an experiment completes nothing where the lab has a build task
        assert gd["state"] == "locked" and gd["missing_work"] == ["build", "quiz"] and gd["mastery"] == "familiar"
    else:  # a test-out completes it with its quiz too
        assert gd["state"] == "locked" and gd["missing_work"] == ["quiz"]


def test_same_seed_same_metrics(db: Path):
    a = json.loads(pathlab(db, "lab", "run", "gd-linear", "--practice", "--seed", "4", "--json").stdout)
    b = json.loads(pathlab(db, "lab", "run", "gd-linear", "--practice", "--seed", "4", "--json").stdout)
    assert a["metrics"] == b["metrics"] and a["attempt_id"] != b["attempt_id"]


def test_a_diverging_rate_fails_with_exit_1_and_says_why(db: Path):
    done = pathlab(db, "lab", "run", "gd-linear", "--practice", "--set", "lr=9", "--json")
    assert done.returncode == 1
    out = json.loads(done.stdout)
    assert out["status"] == "failed" and not out["passed"]
    assert "diverged" in out["feedback"] and "smaller" in out["feedback"]


def test_usage_errors_exit_2_naming_the_problem(db: Path):
    locked = pathlab(db, "lab", "run", "ffnn-digits")
    assert locked.returncode == 2 and "locked" in locked.stderr and "backpropagation" in locked.stderr
    bad = pathlab(db, "lab", "run", "gd-linear", "--practice", "--set", "lr=100")
    assert bad.returncode == 2 and "lr" in bad.stderr and "<= 10" in bad.stderr
    unknown = pathlab(db, "lab", "run", "gd-linear", "--practice", "--set", "speed=3")
    assert unknown.returncode == 2 and "speed" in unknown.stderr and "valid keys" in unknown.stderr
    nolab = pathlab(db, "lab", "run", "no-such-lab")
    assert nolab.returncode == 2 and "gd-linear" in nolab.stderr  # lists the ids
    with Store.open(db) as store:
        assert store.attempts(store.get_learner("Ada").id) == []


def test_list_and_show(db: Path):
    listing = json.loads(pathlab(db, "lab", "list", "--json").stdout)
    by_id = {lab["id"]: lab for lab in listing["labs"]}
    assert by_id["gd-linear"]["node"] == "gradient-descent" and by_id["gd-linear"]["locked"] is True
    shown = json.loads(pathlab(db, "lab", "show", "ffnn-digits", "--json").stdout)
    params = {p["name"]: p for p in shown["params"]}
    assert params["lr"]["default"] > 0 and "bounds" in params["lr"]
    assert sum(c["points"] for c in shown["checks"]) > 0


def test_kill_9_of_a_running_lab_leaves_it_interrupted(db: Path):
    """The recording process dies mid-run: the next start marks the attempt `interrupted`, never passed."""
    proc = subprocess.Popen([sys.executable, "-c", "from planner.cli import main; main()", "--db", str(db),
                             "lab", "run", "ffnn-digits", "--practice", "--set", "epochs=200", "--json"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        running = []
        while time.monotonic() < deadline and not running:
            time.sleep(0.2)
            with Store.open(db) as store:
                running = [a for a in store.attempts(store.get_learner("Ada").id) if a.status == "running"]
        assert running, "the attempt row never appeared"
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    listing = pathlab(db, "lab", "list", "--json")  # any command that recovers: lab run/list open the store
    assert listing.returncode == 0
    from planner.service import Service
    from planner.curriculum import load_curriculum

    with Store.open(db) as store:
        Service(store, load_curriculum()).recover_interrupted()
        attempt = store.attempt(running[0].id)
        assert attempt.status == "interrupted" and attempt.passed is False
        assert store.db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_set_values_arrive_as_text_and_numeric_choices_still_match():
    """`--set kernel_size=3` is the text "3"; the lab's Literal[1, 3, 5] must accept it, and refuse 4."""
    from labs.catalog import ParamError, get_lab

    cnn = get_lab("cnn-digits")
    assert cnn.validate_params({"kernel_size": "3"}).kernel_size == 3
    with pytest.raises(ParamError, match="kernel_size='4'.*one of 1, 3, 5"):
        cnn.validate_params({"kernel_size": "4"})
