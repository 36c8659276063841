"""`pathlab serve`: the same app in a browser tab, served by textual-serve.

textual-serve runs one command per browser session (here `python -m planner.cli --db DB [--data DIR]`,
under this interpreter) on Textual's web driver and relays its screen over a websocket; each tab is its
own app process on the one database, as two terminals would be. Bound to loopback unless told otherwise:
anyone who can reach the port drives the app, with no password.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import shlex
import sys
from pathlib import Path

import click

from planner.cli import AppContext, pass_app


def is_loopback(host: str) -> bool:
    """True for addresses only this machine can reach (127.0.0.0/8, ::1, `localhost`)."""
    if host.lower().rstrip(".") == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:  # another name: it may resolve to anything
        return False


def public_url(host: str, port: int) -> str:
    """The address to open; an IPv6 literal needs brackets, and 0.0.0.0/:: mean "this machine"."""
    shown = host.strip("[]")
    if shown in ("0.0.0.0", "::"):
        shown = "127.0.0.1" if shown == "0.0.0.0" else "::1"
    if ":" in shown:
        shown = f"[{shown}]"
    return f"http://{shown}:{port}"


def app_command(db_path: Path, data_root: Path | None) -> str:
    """The shell command textual-serve runs per session: bare `pathlab` on the same database and data
    folder (bare `pathlab` opens the app on Textual's web driver, which textual-serve sets)."""
    argv = [sys.executable, "-m", "planner.cli", "--db", str(db_path.absolute())]
    if data_root is not None:
        argv += ["--data", str(data_root.absolute())]
    return shlex.join(argv)


class _OneLine(logging.Formatter):
    """textual-serve logs failures with log.exception; the console gets the message, not a traceback."""

    def format(self, record: logging.LogRecord) -> str:
        record.exc_info, record.exc_text, record.stack_info = None, None, None
        return super().format(record)


def _server_class():
    from aiohttp import web
    from textual_serve.server import Server

    @web.middleware
    async def merge_slashes(request: web.Request, handler):
        """textual-serve (to 1.1.3 at least) links its page's scripts as `/static//js/textual.js`, which
        aiohttp's static route refuses (404 or 403, Textualize/textual-serve#18): the page stays blank.
        Send the browser to the path with single slashes."""
        if "//" in request.path:
            merged = "/" + "/".join(part for part in request.path.split("/") if part)
            raise web.HTTPPermanentRedirect(request.rel_url.with_path(merged))
        return await handler(request)

    class PathLabServer(Server):
        """textual-serve's Server with PathLab's own start line, one-line logging and the slash fix."""

        async def _make_app(self) -> web.Application:  # textual-serve's one place to add middleware
            app = await super()._make_app()
            app.middlewares.append(merge_slashes)
            return app

        def initialize_logging(self) -> None:
            handler = logging.StreamHandler(sys.stderr)
            handler.setFormatter(_OneLine("pathlab serve: %(levelname)s: %(message)s"))
            logging.basicConfig(level=logging.WARNING, handlers=[handler], force=True)

        async def on_startup(self, app) -> None:  # before the socket is bound; a bind error follows it
            click.echo(f"PathLab in a browser: open {self.public_url}  (Ctrl-C stops the server)")

    return PathLabServer


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on; anything but loopback lets other machines drive the app.")
@click.option("--port", type=click.IntRange(1, 65535), default=8000, show_default=True, help="Port to listen on.")
@click.option("--db", "db_path", type=click.Path(path_type=Path),
              help="The database file (default: pathlab's own --db, else your user data folder).")
@pass_app
def serve(app: AppContext, host: str, port: int, db_path: Path | None) -> None:
    """Serve the app to a browser tab (one app per tab, on the same database)."""
    from planner.paths import default_db_path

    db = db_path or app.db_path or default_db_path()
    # Open the database and the curriculum once here, so a bad file is one `Error:` line now, not a
    # blank browser tab later; the sessions open their own.
    checked = AppContext(db, app.data_root)
    try:
        checked.store, checked.curriculum  # noqa: B018 (opened for the check)
    finally:
        checked.close()
    if not is_loopback(host):
        click.echo(f"WARNING: listening on {host}, not loopback: anyone who can reach port {port} can use "
                   "the app and its database, with no password.", err=True)
    server = _server_class()(app_command(db, app.data_root), host=host, port=port, title="PathLab",
                             public_url=public_url(host, port))
    try:
        server.serve()  # returns on Ctrl-C or SIGTERM (textual-serve's handlers), sessions stopped
    except OSError as exc:  # the port is taken, the address is not this machine's, ...
        reason = os.strerror(exc.errno) if exc.errno else str(exc)  # asyncio's own text repeats the address
        raise click.ClickException(f"cannot listen on {host}:{port}: {reason}") from None
    click.echo("PathLab server stopped.")
