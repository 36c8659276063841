"""`pathlab serve` without a browser: the command each session runs, the address, the warning off
loopback, and the one-line errors (tests/test_serve_browser.py serves to a real browser)."""

from __future__ import annotations

import shlex
import sys

import pytest

from planner.cli import serve as serve_module
from planner.cli.serve import app_command, is_loopback, public_url


@pytest.mark.parametrize("host, loopback", [("127.0.0.1", True), ("127.8.9.1", True), ("localhost", True),
                                            ("::1", True), ("[::1]", True), ("0.0.0.0", False), ("::", False),
                                            ("192.168.1.4", False), ("example.org", False)])
def test_loopback_is_only_this_machine(host, loopback):
    assert is_loopback(host) is loopback


def test_the_address_to_open():
    assert public_url("127.0.0.1", 8000) == "http://127.0.0.1:8000"
    assert public_url("::1", 9) == "http://[::1]:9"
    assert public_url("0.0.0.0", 80) == "http://127.0.0.1:80"  # "every address": this machine's works


def test_the_session_command_keeps_awkward_paths_whole(tmp_path):
    db = tmp_path / "it's a db; $(rm -rf x).sqlite"
    data = tmp_path / "my data"
    argv = shlex.split(app_command(db, data))
    assert argv == [sys.executable, "-m", "planner.cli", "--db", str(db), "--data", str(data)]
    assert shlex.split(app_command(db, None))[-2:] == ["--db", str(db)]


class FakeServer:
    """Stands in for textual-serve's Server: records what it was given; `fail` is raised by serve()."""

    made: list["FakeServer"] = []
    fail: Exception | None = None

    def __init__(self, command, host, port, title, public_url):
        self.command, self.host, self.port, self.title, self.public_url = command, host, port, title, public_url
        FakeServer.made.append(self)

    def serve(self):
        if FakeServer.fail is not None:
            raise FakeServer.fail


@pytest.fixture
def fake_server(monkeypatch):
    FakeServer.made, FakeServer.fail = [], None
    monkeypatch.setattr(serve_module, "_server_class", lambda: FakeServer)
    return FakeServer


def test_serve_runs_the_app_on_the_same_database_and_data(run_cli, db_path, fixture_root, fake_server):
    result = run_cli("serve", "--port", "8123")
    assert result.exit_code == 0, result.stderr
    [server] = fake_server.made
    assert shlex.split(server.command)[3:] == ["--db", str(db_path), "--data", str(fixture_root)]
    assert (server.host, server.port, server.title) == ("127.0.0.1", 8123, "PathLab")
    assert "WARNING" not in result.stderr and "stopped" in result.stdout
    other = db_path.parent / "other.sqlite"
    assert run_cli("serve", "--db", str(other)).exit_code == 0  # serve's own --db wins
    assert shlex.split(fake_server.made[-1].command)[4] == str(other)


def test_serving_beyond_loopback_warns(run_cli, fake_server):
    result = run_cli("serve", "--host", "0.0.0.0")
    assert result.exit_code == 0
    [warning] = result.stderr.splitlines()
    assert warning.startswith("WARNING: listening on 0.0.0.0, not loopback")


def test_a_taken_port_is_one_error_line(run_cli, fake_server):
    fake_server.fail = OSError(98, "Address already in use")
    result = run_cli("serve", "--port", "8124")
    assert result.exit_code == 1
    assert result.stderr.splitlines() == ["Error: cannot listen on 127.0.0.1:8124: Address already in use"]


def test_an_unusable_database_stops_serve_before_it_listens(run_cli, tmp_path, fake_server):
    bad = tmp_path / "not-a-db.sqlite"
    bad.write_bytes(b"this is not SQLite" * 100)
    result = run_cli("serve", "--db", str(bad))
    assert result.exit_code == 1 and result.stderr.startswith("Error:") and len(result.stderr.splitlines()) == 1
    assert fake_server.made == []
