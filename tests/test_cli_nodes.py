"""`pathlab nodes` and bare `pathlab`: states implied by the graph, learner resolution rules."""

from __future__ import annotations

import json

from planner.store import Store

NODE_KEYS = {"id", "title", "kind", "track", "hours", "lab", "has_quiz", "state", "mastery", "best_score",
             "passes", "missing", "test_out", "completed_at", "missing_work", "has_build"}


def test_fresh_learner_sees_states_implied_by_the_graph(run_cli):
    run_cli("learner", "add", "Ada")
    result = run_cli("nodes", "--json")
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert data["learner"] == "Ada"
    assert all(set(n) == NODE_KEYS for n in data["nodes"])
    by_id = {n["id"]: n for n in data["nodes"]}
    assert [n["id"] for n in data["nodes"]] == ["large-models", "gradient-descent", "applications", "ffnn",
                                                "ml-engineer"]
    assert {k: n["state"] for k, n in by_id.items()} == {
        "large-models": "available", "gradient-descent": "locked", "applications": "locked",
        "ffnn": "locked", "ml-engineer": "locked"}
    assert by_id["ml-engineer"]["missing"] == ["gradient-descent", "ffnn"]
    assert by_id["gradient-descent"]["has_quiz"] is True


def test_a_recorded_pass_unlocks_in_the_output(run_cli, db_path):
    run_cli("learner", "add", "Ada")
    with Store.open(db_path) as store:
        learner = store.get_learner("Ada")
        from planner.progress import registered_build_labs  # issue 13: a build where the lab has a task

        mode = "implement" if "model-size" in registered_build_labs() else "explore"
        attempt = store.start_attempt(learner.id, "model-size", "large-models", mode=mode, params={},
                                      seed=0, pid=None, app_version="test")
        store.finish_attempt(attempt, status="passed", score=100, passed=True, metrics={}, feedback="",
                             checks=[], duration_s=1.0)
    by_id = {n["id"]: n for n in json.loads(run_cli("nodes", "--json").stdout)["nodes"]}
    assert by_id["large-models"]["state"] == "completed" and by_id["large-models"]["best_score"] == 100
    assert by_id["gradient-descent"]["state"] == "available"
    assert by_id["applications"]["state"] == "completed"  # reading-only node follows its prerequisite
    text = run_cli("nodes").stdout
    assert "[x] large-models" in text and "needs gradient-descent" in text


def test_learner_resolution_messages(run_cli):
    none = run_cli("nodes")
    assert none.exit_code == 1 and "pathlab learner add NAME" in none.stderr  # the state, not the command line
    run_cli("learner", "add", "Ada")
    run_cli("learner", "add", "Bob")
    several = run_cli("nodes")
    assert several.exit_code == 2 and "several learners (Ada, Bob)" in several.stderr
    assert run_cli("nodes", "--learner", "Bob").exit_code == 0
    unknown = run_cli("nodes", "--learner", "Cy")
    assert unknown.exit_code == 2 and "no learner named 'Cy' (learners: Ada, Bob)" in unknown.stderr


def test_no_tui_prints_status(run_cli):
    assert "pathlab learner add NAME" in run_cli("--no-tui").stdout
    run_cli("learner", "add", "Ada", "--role", "ml-engineer")
    out = run_cli("--no-tui").stdout
    assert "Ada: ml-engineer" in out and "Completed 0/5" in out and "Ready now: large-models" in out
    from planner.progress import registered_build_labs

    assert ("Next: start the build: pathlab lab start model-size" if "model-size" in registered_build_labs()
            else "Next: run the lab: pathlab lab run model-size") in out


def test_bare_pathlab_without_a_terminal_prints_one_hint_line(run_cli):
    """`textual serve pathlab` and pipes used to get the status; now one line saying what to run, on
    stderr, exit 2 (a usage error: the app needs a terminal), and nothing on stdout for a script to parse."""
    run_cli("learner", "add", "Ada", "--role", "ml-engineer")
    result = run_cli()  # CliRunner's stdin and stdout are not terminals
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.splitlines() == ["Error: no terminal here; run pathlab in a terminal, `pathlab serve` "
                                          "for a browser, or `pathlab --no-tui` for the status"]


def test_bare_pathlab_under_textual_serve_opens_the_app(run_cli, monkeypatch):
    """textual-serve (`pathlab serve`, `textual serve pathlab`) runs bare `pathlab` with pipes and
    TEXTUAL_DRIVER set to its web driver: that is the app's place, not the hint's."""
    import planner.tui

    opened = []

    class App:
        def run(self):
            opened.append(True)

    monkeypatch.setattr(planner.tui, "make_app", lambda store, curriculum: App())
    monkeypatch.setenv("TEXTUAL_DRIVER", "textual.drivers.web_driver:WebDriver")
    import signal

    before = signal.getsignal(signal.SIGINT)
    try:
        result = run_cli()
    finally:
        signal.signal(signal.SIGINT, before)  # the served app ignores Ctrl-C at the server's console
    assert result.exit_code == 0 and opened == [True] and result.stderr == ""


def test_help_lists_lazy_commands_without_importing_them():
    import subprocess
    import sys

    code = ("import sys; from click.testing import CliRunner; from planner.cli import main; "
            "r = CliRunner().invoke(main, ['--help']); assert r.exit_code == 0, r.output; "
            "assert 'learner' in r.output and 'nodes' in r.output; "
            "heavy = [m for m in ('numpy', 'textual', 'sqlite_utils', 'planner.cli.nodes') if m in sys.modules]; "
            "assert not heavy, heavy")
    subprocess.run([sys.executable, "-c", code], check=True)
