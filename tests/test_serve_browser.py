"""`pathlab serve` in a real browser: headless Chromium loads the page, the app's first screen arrives,
a key typed in the page reaches the app, and the server stops cleanly on Ctrl-C (SIGINT) and SIGTERM.

Chromium is driven over the DevTools protocol with aiohttp's websocket client (aiohttp comes with
textual-serve). The terminal in the page is xterm.js drawing on a canvas, so its text is not in the DOM:
a script added before the page's own wraps the page's WebSocket and keeps what the app sent (the screen,
as terminal output) and what the page sent (the keys), and the test reads those.

Needs /usr/bin/chromium (Debian's `chromium`; `.ci/run` installs it). Without it the test is skipped,
except in CI (CI=true), where a missing browser is a failure.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

CHROMIUM = Path("/usr/bin/chromium")
LEARNER = "Zelda"  # a name that appears nowhere else on the screen
HELP_TITLE = "PathLab keys"  # the help screen's heading (planner/tui/screens/help.py), opened by `?`

# Before any page script runs: keep every message the page's websockets receive (and send) as text.
RECORD_SOCKETS = """
window.__pathlab = {received: "", sent: []};
(() => {
  const Native = window.WebSocket;
  const decoder = new TextDecoder();
  window.WebSocket = class extends Native {
    constructor(...args) {
      super(...args);
      this.addEventListener("message", (event) => {
        const data = event.data;
        if (typeof data === "string") window.__pathlab.received += data;
        else if (data instanceof ArrayBuffer) window.__pathlab.received += decoder.decode(data, {stream: true});
        else if (data instanceof Blob) data.text().then((t) => { window.__pathlab.received += t; });
      });
    }
    send(data) {
      if (typeof data === "string") window.__pathlab.sent.push(data);
      return super.send(data);
    }
  };
})();
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def need_chromium() -> None:
    if CHROMIUM.exists():
        return
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{CHROMIUM} is missing in CI: .ci/run should have installed Debian's chromium")
    pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium; .ci/run does it)")


def pathlab(*args: str, **kwargs) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "planner.cli", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, **kwargs)


def start_server(db: Path, port: int) -> subprocess.Popen:
    server = pathlab("--db", str(db), "serve", "--port", str(port))
    deadline = time.monotonic() + 20  # wide: importing aiohttp and textual-serve on a loaded machine
    while time.monotonic() < deadline:
        if server.poll() is not None:
            out, err = server.communicate()
            pytest.fail(f"pathlab serve exited {server.returncode}: {out}{err}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return server
        except OSError:
            time.sleep(0.1)
    server.kill()
    pytest.fail("pathlab serve did not listen within 20 s")


def stop(server: subprocess.Popen, sig: int) -> tuple[str, str]:
    server.send_signal(sig)
    try:
        out, err = server.communicate(timeout=15)
    except subprocess.TimeoutExpired:
        server.kill()
        out, err = server.communicate()
        pytest.fail(f"pathlab serve did not stop on signal {sig}: {out}{err}")
    return out, err


def app_processes(db: Path) -> list[str]:
    """Command lines of live processes running the app on `db` (the server's per-session children)."""
    found = []
    for proc in Path("/proc").iterdir():
        try:
            cmd = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if str(db) in cmd and " serve --port " not in cmd:
            found.append(cmd)
    return found


@pytest.fixture
def served_db(tmp_path: Path) -> Path:
    from click.testing import CliRunner

    from planner.cli import main

    db = tmp_path / "Zelda's db (served).sqlite"  # the session's shell command must quote it
    added = CliRunner().invoke(main, ["--db", str(db), "learner", "add", LEARNER, "--role", "ml-engineer"])
    assert added.exit_code == 0, added.output
    return db


class DevTools:
    """The smallest DevTools protocol client: numbered commands over one page's websocket."""

    def __init__(self, ws):
        self.ws, self.next_id = ws, 0

    async def call(self, method: str, **params):
        self.next_id += 1
        await self.ws.send_json({"id": self.next_id, "method": method, "params": params})
        while True:  # events (no "id") arrive in between; only the answer matters here
            message = await self.ws.receive_json(timeout=10)
            if message.get("id") == self.next_id:
                if "error" in message:
                    raise AssertionError(f"{method}: {message['error']}")
                return message.get("result", {})

    async def evaluate(self, expression: str):
        result = await self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        return result["result"].get("value")

    async def wait_for(self, expression: str, what: str, timeout: float = 20):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if value := await self.evaluate(expression):
                return value
            await asyncio.sleep(0.2)
        received = await self.evaluate("window.__pathlab && window.__pathlab.received.slice(-2000)")
        raise AssertionError(f"no {what} within {timeout} s; last output received: {received!r}")


def launch_chromium(profile: Path) -> tuple[subprocess.Popen, int]:
    browser = subprocess.Popen(
        [str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         f"--user-data-dir={profile}", "--remote-debugging-port=0", "--window-size=1200,800", "about:blank"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    port_file = profile / "DevToolsActivePort"  # Chromium writes the port it chose here
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if port_file.exists() and (lines := port_file.read_text().split()):
            return browser, int(lines[0])
        if browser.poll() is not None:
            pytest.fail(f"chromium exited {browser.returncode} at start")
        time.sleep(0.1)
    browser.kill()
    pytest.fail("chromium did not open its DevTools port within 15 s")


async def drive_page(devtools_port: int, url: str) -> tuple[str, str, list[str]]:
    """Open `url`, wait for the app's first screen, type `?`; return the screen text before the key,
    the text after it and what the page sent."""
    import aiohttp

    async with aiohttp.ClientSession() as http:
        async with http.get(f"http://127.0.0.1:{devtools_port}/json/list") as response:
            targets = await response.json(content_type=None)
        [page] = [t for t in targets if t["type"] == "page"][:1]
        async with http.ws_connect(page["webSocketDebuggerUrl"], max_msg_size=0) as ws:
            cdp = DevTools(ws)
            await cdp.call("Page.enable")
            await cdp.call("Page.addScriptToEvaluateOnNewDocument", source=RECORD_SOCKETS)
            await cdp.call("Page.navigate", url=url)
            await cdp.wait_for(f"window.__pathlab && window.__pathlab.received.includes({LEARNER!r})",
                               f"dashboard for {LEARNER}")
            await asyncio.sleep(0.5)  # let the first screen finish drawing before typing
            first = await cdp.evaluate("window.__pathlab.received")
            await cdp.evaluate("document.querySelector('.xterm-helper-textarea').focus()")
            await cdp.call("Input.dispatchKeyEvent", type="keyDown", key="?", code="Slash", text="?",
                           unmodifiedText="/", windowsVirtualKeyCode=191, modifiers=8)
            await cdp.call("Input.dispatchKeyEvent", type="keyUp", key="?", code="Slash",
                           windowsVirtualKeyCode=191, modifiers=8)
            after = await cdp.wait_for(f"window.__pathlab.received.length > {len(first)} && "
                                       f"window.__pathlab.received.slice({len(first)}).includes({HELP_TITLE!r}) "
                                       f"&& window.__pathlab.received.slice({len(first)})",
                                       "help screen after typing ?")
            sent = await cdp.evaluate("window.__pathlab.sent")
    return first, after, sent


def test_the_app_runs_in_a_real_browser_and_the_server_stops_cleanly(served_db: Path, tmp_path: Path):
    need_chromium()
    port = free_port()
    server = start_server(served_db, port)
    browser = None
    try:
        browser, devtools_port = launch_chromium(tmp_path / "chromium-profile")
        first, after, sent = asyncio.run(drive_page(devtools_port, f"http://127.0.0.1:{port}/"))
    finally:
        if browser is not None:
            browser.terminate()
            browser.wait(timeout=10)
        out, err = stop(server, signal.SIGINT)  # what Ctrl-C at the server's terminal sends
    assert LEARNER in first and HELP_TITLE not in first  # the dashboard, not yet the help
    assert '["stdin","?"]' in [s.replace(" ", "") for s in sent]  # the key went through the page
    assert HELP_TITLE in after  # ... and reached the app, which opened its help screen
    assert server.returncode == 0, err
    assert f"open http://127.0.0.1:{port}" in out
    assert "Traceback" not in out + err and "Error" not in err, out + err
    deadline = time.monotonic() + 5  # the session's app gets "quit" from the server; give it a moment
    while app_processes(served_db) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert app_processes(served_db) == []


def test_sigterm_stops_the_server_without_a_traceback(served_db: Path):
    port = free_port()
    server = start_server(served_db, port)
    out, err = stop(server, signal.SIGTERM)
    assert server.returncode == 0 and "Traceback" not in out + err, out + err
    assert "stopped" in out
