"""The PathLab Textual app. `make_app(store, curriculum, runner=...)` is the one way to build it.

The app owns what outlives any one screen: the service (every read and write goes through it; no
screen sees the store), the current learner, and the one lab run being watched (`LiveRun`). Training
happens in a worker thread that polls the service's session and posts messages; the handlers here, on
the UI thread, update the `LiveRun` and refresh whichever screens show it, at most a few times a second.

A database error while the app is in use (a write while another program holds the lock, a failed read
during a refresh) is shown in a notification and the app stays up; one it cannot start without (the
learners cannot be read) ends it, and `run()` raises it for the CLI to print as one `Error:` line.

Screens are imported lazily inside the actions so the first screen draws fast (numpy, the lab
catalogue and the plotting widget load only when a lab or chart is opened).
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.segment import Segment
from rich.style import Style
from textual import work
from textual.app import App
from textual.binding import Binding
from textual.color import Color
from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.filter import Monochrome
from textual.worker import get_current_worker

from planner.store import StoreError
from planner.tui.live_run import LiveRun
from planner.tui.messages import GradingEvents, ImplementGraded, RunEnded, RunEvents, RunStarted

if TYPE_CHECKING:
    from planner.curriculum import Curriculum
    from planner.progress import NodeProgress
    from planner.records import Learner
    from planner.service import LabOutcome, Service
    from planner.store import Store

DATABASE_ERRORS = (StoreError, sqlite3.Error)
"""What a read or write of the database may raise: shown to the learner, never a traceback."""


class NullSafeMonochrome(Monochrome):
    """Textual's NO_COLOR filter, tolerating a segment without a style.

    textual-plot's canvas draws an unsized line as `Strip.blank(0)`, whose segment has style None, and
    Textual's `monochrome_style(None)` raises AttributeError: with NO_COLOR set, opening a lab, an
    attempt or a comparison closed the app. A missing style has no colour to remove, so it passes as is.
    """

    def apply(self, segments: list[Segment], background: Color) -> list[Segment]:
        return super().apply([segment if segment.style is not None else Segment(segment.text, Style.null(),
                                                                                  segment.control)
                              for segment in segments], background)


def screenshot_folder() -> Path:
    """Where screenshots go: $PATHLAB_SCREENSHOTS, else ~/Downloads when it exists and is writable, else
    the current folder when writable, else the temporary folder (created if need be)."""
    import os
    import tempfile

    if os.environ.get("PATHLAB_SCREENSHOTS"):
        folder = Path(os.environ["PATHLAB_SCREENSHOTS"]).expanduser()
        folder.mkdir(parents=True, exist_ok=True)
        return folder
    for folder in (Path.home() / "Downloads", Path.cwd()):
        if folder.is_dir() and os.access(folder, os.W_OK):
            return folder
    return Path(tempfile.gettempdir())


class PathLabCommands(Provider):
    """The app's actions in the command palette (ctrl+p), next to Textual's own (themes, keys, quit)."""

    async def discover(self) -> Hits:
        """What the palette lists as soon as it opens, before anything is typed: the app's own actions."""
        app = self.app
        assert isinstance(app, PathLabApp)
        for title, action, help_text in app.PALETTE:
            yield DiscoveryHit(title, partial(app.run_action, action), help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        app = self.app
        assert isinstance(app, PathLabApp)
        for title, action, help_text in app.PALETTE:
            score = matcher.match(title)
            if score > 0:
                yield Hit(score, matcher.highlight(title), partial(app.run_action, action), help=help_text)


class PathLabApp(App[None]):
    CSS_PATH = "app.tcss"
    TITLE = "PathLab"
    COMMANDS = App.COMMANDS | {PathLabCommands}
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (110, "-wide")]
    BINDINGS = [
        Binding("m", "dashboard", "Map", id="app.dashboard"),
        Binding("p", "plan", "Plan", id="app.plan"),
        Binding("h", "history", "History", id="app.history"),
        Binding("e", "export", "Export", id="app.export"),
        Binding("l", "learners", "Learner", id="app.learners"),
        Binding("question_mark,f1", "help", "Help", key_display="?", id="app.help"),
        Binding("q", "quit", "Quit", id="app.quit"),
        Binding("ctrl+x", "cancel_run", "Cancel run", show=False, id="app.cancel-run"),  # from any screen, as the help says
    ]
    PALETTE = [
        ("Skill map (dashboard)", "dashboard", "Tracks, nodes, next up and readiness"),
        ("Roles and plan", "plan", "Every role's readiness; change target role or hours"),
        ("History of attempts", "history", "Every lab attempt; open, compare"),
        ("Export a report", "export", "Write Markdown, HTML, JSON or CSV"),
        ("Switch learner", "learners", "Pick another learner or add one"),
        ("Cancel the running lab", "cancel_run", "Stop training and record it cancelled"),
        ("Help: every key", "help", "The keys of every screen"),
    ]

    def __init__(self, service: Service, curriculum: Curriculum) -> None:
        super().__init__()
        self._filters = [NullSafeMonochrome() if type(f) is Monochrome else f for f in self._filters]
        self.service = service
        self.curriculum = curriculum
        self.learner: Learner | None = None
        self.map_view = "graph"  # the dashboard's skill map: "graph" or "list" (v toggles; kept this session)
        self.prewarm_labs = False  # make_app turns it on for real lab processes
        self.live: LiveRun | None = None
        self._run_over = threading.Event()
        self._run_dirty = False
        self._progress_cache: dict[str, NodeProgress] | None = None
        self._asking_to_quit = False
        self.fatal: Exception | None = None  # why the app could not go on; `run()` raises it
        self.today: Callable[[], date] = date.today  # replaceable, so dated screens can be snapshotted
        self.workspace: Path | None = None  # implement mode's folder; None: planner.implement's default
        self.grading: tuple[str, str] | None = None  # (lab, node) being graded: one grading at a time
        self.grading_started = 0.0  # time.monotonic() when it began
        self.grading_live: LiveRun | None = None  # its training check, as the build screen's chart draws it
        self._grading_cancel = threading.Event()
        self._grade_again = False

    def run(self, *args: Any, **kwargs: Any) -> None:
        """Run the app; if it ended because it could not go on, raise why (the CLI prints one line and
        exits 1), and if it ended on an unexpected error (Textual printed it), exit with its status."""
        result = super().run(*args, **kwargs)  # None, unless a harness exits with a value (snapshots)
        if self.fatal is not None:
            raise self.fatal
        if self.return_code:
            raise SystemExit(self.return_code)
        return result

    # ---- database errors ---------------------------------------------------------------------

    @contextmanager
    def database_errors_shown(self, doing: str) -> Iterator[None]:
        """Run the block; a database error in it becomes an error notification ("Could not {doing}: ...")
        and the app stays up. Use around every read or write a key press or a refresh triggers."""
        try:
            yield
        except DATABASE_ERRORS as exc:
            self.notify(f"Could not {doing}: {exc}", title="Database", severity="error", timeout=10,
                        markup=False)

    def cannot_go_on(self, exc: Exception) -> None:
        """End the app because it cannot work without what failed; `run()` raises `exc`."""
        self.fatal = exc if isinstance(exc, StoreError) else StoreError(f"database problem: {exc}")
        self.exit(return_code=1)

    # ---- start-up and learners -------------------------------------------------------------

    def on_mount(self) -> None:
        self.theme_changed_signal.subscribe(self, self._theme_changed)
        self._load_keymap()
        self._recover()
        try:
            learner = self.service.last_learner()
        except DATABASE_ERRORS as exc:  # nothing can be shown without the learners
            self.cannot_go_on(exc)
            return
        if learner is None:
            from planner.tui.screens.welcome import WelcomeScreen

            self.push_screen(WelcomeScreen())
        else:
            self.set_learner(learner)
        self.set_interval(0.25, self._refresh_run_views)
        if self.prewarm_labs:  # a worker that has imported NumPy and the labs waits for the first run
            self.call_after_refresh(self._prewarm)
            self.call_after_refresh(lambda: self.run_worker(self._sync_catalog, thread=True,
                                                            group="catalog", exit_on_error=False))

    DEFAULT_THEME = "textual-dark"
    NARROW_FOOTER = 110
    """Below this width the footer drops the app-wide keys other than help and quit: with them a screen's
    own keys did not fit in 80 columns (the footer cut them off); `?` lists every key, as the footer says."""
    ALWAYS_SHOWN = ("help", "quit")

    def on_resize(self, event: Any) -> None:
        self._fit_footer(event.size.width)

    def _fit_footer(self, width: int) -> None:
        from dataclasses import replace

        from textual.binding import BindingsMap

        narrow = width < self.NARROW_FOOTER
        if getattr(self, "_footer_narrow", None) == narrow:
            return
        self._footer_narrow = narrow
        if not hasattr(self, "_all_bindings"):
            self._all_bindings = self._bindings.copy()  # the class's bindings and Textual's palette key
        bindings = [replace(b, show=b.show and (not narrow or b.action in self.ALWAYS_SHOWN))
                    for _key, b in self._all_bindings]
        self._bindings = BindingsMap(bindings)
        self.refresh_bindings()

    def _apply_learner_theme(self, learner: Learner) -> None:
        """The theme this learner chose last (ctrl+p, "Change theme"), else the default; a theme that is no
        longer available falls back to the default too."""
        theme = None
        with self.database_errors_shown("read the learner's theme"):
            theme = self.service.learner_setting(learner, "theme")
        self._theme_for = None  # not the learner's choice: applying it must not be saved as one
        self.theme = theme if theme in self.available_themes else self.DEFAULT_THEME
        self._theme_for = learner.id

    def _theme_changed(self, theme: Any) -> None:
        """A theme chosen while a learner is current is theirs (kept per learner, across restarts)."""
        if self.learner is None or getattr(self, "_theme_for", None) != self.learner.id:
            return
        with self.database_errors_shown("remember the theme"):
            self.service.set_learner_setting(self.learner, "theme", theme.name)

    def deliver_screenshot(self, filename: str | None = None, path: str | None = None,
                           time_format: str | None = None) -> str | None:
        """The palette's "Screenshot": saved as SVG where the user can write, saying where (Textual's
        default folder, ~/Downloads, may not exist). In a browser it is offered as a download, as Textual does."""
        if self.is_web:
            return super().deliver_screenshot(filename, path, time_format)
        try:
            saved = self.save_screenshot(filename, str(path or screenshot_folder()), time_format)
        except OSError as exc:
            self.notify(f"Could not save the screenshot: {exc}", severity="error", markup=False)
            return None
        self.notify(f"Screenshot saved to {saved}", title="Screenshot", markup=False)
        return saved

    def _load_keymap(self) -> None:
        """The user's keymap file (planner.tui.keymap): good entries apply at once, each problem is one
        notification naming the file and the field; ids are checked against every screen's bindings
        after the first paint (that imports the screens, which the first screen does not need)."""
        from planner.tui.keymap import keymap_path, read_keymap

        path = keymap_path()
        keymap, problems = read_keymap(path)
        if keymap:
            self.set_keymap(keymap)
            self.call_after_refresh(lambda: self.run_worker(partial(self._check_keymap_ids, keymap, path),
                                                            thread=True, group="keymap", exit_on_error=False))
        for problem in problems:
            self.notify(problem, title="Keymap", severity="warning", timeout=10, markup=False)

    def _check_keymap_ids(self, keymap: dict[str, str], path: Path) -> None:
        from planner.tui.keymap import unknown_ids

        for problem in unknown_ids(keymap, path):
            self.call_from_thread(self.notify, problem, title="Keymap", severity="warning", timeout=10,
                                  markup=False)

    def _prewarm(self) -> None:
        from labs.runner import prewarm

        prewarm()

    def _sync_catalog(self) -> None:
        """The database's `nodes`/`labs` tables follow the curriculum (Service.sync_catalog), on a thread
        with its own connection: a changed curriculum imports the lab catalogue, which the first screen
        must not wait for. A busy database is left for the next start."""
        service = self.service.on_own_connection()
        try:
            service.sync_catalog()
        except Exception:  # never worth a notification: the next start or command tries again
            pass
        finally:
            service.close()

    def _recover(self) -> None:
        try:
            count = self.service.recover_interrupted(at_start=True)
        except Exception as exc:  # a database problem must not stop the app from opening
            self.notify(f"Could not check for interrupted runs: {exc}", severity="error", markup=False)
            return
        if count:
            self.notify(f"{count} run(s) from a previous session were interrupted and marked so.")

    @property
    def current_learner(self) -> Learner:
        """The learner the screens show (the screens that need one open only once one is set)."""
        if self.learner is None:
            raise RuntimeError("no learner yet: the welcome screen comes first")
        return self.learner

    def set_learner(self, learner: Learner) -> None:
        """Make `learner` current, remember them for next start, and show their dashboard."""
        from planner.tui.screens.dashboard import DashboardScreen

        self.learner = self._with_known_role(learner)
        with self.database_errors_shown("remember the learner for next time"):  # a busy database
            self.service.remember_learner(learner)                                # costs only that
        self._apply_learner_theme(learner)
        self.sub_title = learner.name
        self.invalidate_progress()
        while len(self.screen_stack) > 1:
            self.pop_screen()
        self.push_screen(DashboardScreen())

    def after_learner_deleted(self, learner_id: int) -> None:
        """The current learner was deleted: open on another one, or the welcome screen when none is left."""
        if self.learner is None or self.learner.id != learner_id:
            return
        self.learner = None
        learners = []
        with self.database_errors_shown("read the learners"):
            learners = self.service.learners()
        if learners:
            self.set_learner(learners[-1])
            return
        from planner.tui.screens.welcome import WelcomeScreen

        while len(self.screen_stack) > 1:
            self.pop_screen()
        self.push_screen(WelcomeScreen())

    def reload_learner(self) -> None:
        """Read the learner again after a change (target role, hours) and redraw what depends on it."""
        with self.database_errors_shown("read the learner again"):
            learner = self.service.learner(self.current_learner.id)
            if learner is not None:
                self.learner = self._with_known_role(learner)
        self.invalidate_progress()

    def _with_known_role(self, learner: Learner) -> Learner:
        """The learner as the screens see them: a target role this curriculum lacks (from an import or
        another --data folder) reads as none, so the app opens and offers a choice instead of crashing."""
        role = self.curriculum.nodes.get(learner.target_role) if learner.target_role else None
        if learner.target_role and (role is None or role.kind != "role"):
            return learner.model_copy(update={"target_role": None})
        return learner

    # ---- progress, shared by screens ---------------------------------------------------------

    def progress(self) -> dict[str, NodeProgress]:
        """The learner's node progress, cached until something is recorded (raises a database error)."""
        if self._progress_cache is None:
            self._progress_cache = self.service.progress(self.current_learner)
        return self._progress_cache

    def invalidate_progress(self) -> None:
        """Forget the cached progress and redraw every open screen that shows recorded data; a database
        error in a redraw is shown (once) and the screen keeps what it showed."""
        self._progress_cache = None
        failed: Exception | None = None
        for screen in self.screen_stack:
            refresh = getattr(screen, "refresh_data", None)
            if refresh is not None and screen.is_mounted:
                try:
                    refresh()
                except DATABASE_ERRORS as exc:
                    failed = exc
        if failed is not None:
            self.notify(f"Could not refresh the view: {failed}", title="Database", severity="error",
                        timeout=10, markup=False)

    # ---- navigation -------------------------------------------------------------------------

    def _needs_learner(self) -> bool:
        if self.learner is None:
            self.notify("Create a learner first.", severity="warning")
            return True
        return False

    def _show(self, screen_type: type, *args: Any) -> None:
        """Bring a screen of this type forward (pop back to it if open) or push a new one."""
        for index, screen in enumerate(self.screen_stack):
            if type(screen) is screen_type and not args:
                while len(self.screen_stack) > index + 1:
                    self.pop_screen()
                return
        self.push_screen(screen_type(*args))

    def action_dashboard(self) -> None:
        from planner.tui.screens.dashboard import DashboardScreen

        if not self._needs_learner():
            self._show(DashboardScreen)

    def action_plan(self) -> None:
        from planner.tui.screens.plan import PlanScreen

        if not self._needs_learner():
            self._show(PlanScreen)

    def action_history(self) -> None:
        from planner.tui.screens.history import HistoryScreen

        if not self._needs_learner():
            self._show(HistoryScreen)

    def action_export(self) -> None:
        from planner.tui.screens.export import ExportScreen

        if not self._needs_learner():
            self.push_screen(ExportScreen())

    def action_learners(self) -> None:
        from planner.tui.screens.learners import LearnersScreen

        self.push_screen(LearnersScreen())

    def action_help(self) -> None:
        from planner.tui.screens.help import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    def open_node(self, node_id: str) -> None:
        from planner.tui.screens.node import NodeScreen

        self.push_screen(NodeScreen(node_id))

    def open_lab(self, lab_id: str, node_id: str | None = None) -> None:
        from planner.tui.screens.lab import LabScreen

        self.push_screen(LabScreen(lab_id, node_id))

    def open_implement(self, lab_id: str, node_id: str) -> None:
        from planner.tui.screens.implement import ImplementScreen

        self.push_screen(ImplementScreen(lab_id, node_id))

    # ---- implement mode: grading the learner's own file ------------------------------------------

    def start_grading(self, lab_id: str, node_id: str, *, again_if_busy: bool = False) -> bool:
        """Grade the learner's file on a daemon thread; the result comes back as `ImplementGraded`.

        One grading at a time: while one runs, `again_if_busy` (a watched file changed) queues one more
        round for when it ends; a key press is told to wait. A daemon thread, not a Textual worker,
        because the sandbox cannot be interrupted: quitting must not wait for it (the attempt row, left
        `running`, is marked interrupted on the next start, as a lab run's would be).
        """
        if self.grading is not None:
            self._grade_again = self._grade_again or again_if_busy
            if not again_if_busy:
                self.notify(f"Still grading {self.grading[0]}; the result is on its way.")
            return False
        from planner.tui.implement_job import grade_in_thread

        self.grading, self._grade_again = (lab_id, node_id), False
        self.grading_started = time.monotonic()
        self.grading_live = LiveRun(lab_id=lab_id)
        self._grading_cancel = cancel = threading.Event()
        job = (self.service.db_path, self.curriculum, self.service.runner_factory, self.current_learner,
               lab_id, node_id, self.workspace)

        def run() -> None:
            try:
                message = ImplementGraded(lab_id, result=grade_in_thread(
                    *job, cancel=cancel, on_event=lambda event: self.post_message(GradingEvents(lab_id, [event]))))
            except Exception as exc:  # no file, unreadable, the sandbox would not start: say so
                message = ImplementGraded(lab_id, error=str(exc) or type(exc).__name__)
            self.post_message(message)

        threading.Thread(target=run, name=f"grade {lab_id}", daemon=True).start()
        return True

    def on_grading_events(self, message: GradingEvents) -> None:
        if self.grading_live is not None and self.grading_live.lab_id == message.lab_id:
            for event in message.events:
                self.grading_live.apply(event)

    def cancel_grading(self) -> bool:
        """Stop the grading (within a second; recorded `cancelled` with the points earned); False if none."""
        if self.grading is None:
            return False
        self._grading_cancel.set()
        self._grade_again = False
        if self.grading_live is not None:
            self.grading_live.cancelling = True
        return True

    def on_implement_graded(self, message: ImplementGraded) -> None:
        lab_id, node_id = self.grading or (message.lab_id, None)
        self.grading = None
        self.invalidate_progress()
        for screen in self.screen_stack:
            show = getattr(screen, "show_graded", None)
            if show is not None and screen.is_mounted:
                show(message)
        if message.error or message.result is None:
            self.notify(message.error or "no result", title="Grading", severity="error", timeout=8,
                        markup=False)
        else:
            self.notify(outcome_summary(self.curriculum, lab_id, message.result.outcome), title="Your code",
                        timeout=6)
        if self._grade_again and node_id is not None:
            self.start_grading(lab_id, node_id)

    # ---- the lab run ------------------------------------------------------------------------

    def start_run(self, lab_id: str, params: dict[str, Any], seed: int | None = None,
                  practice: bool = False, model: str | None = None) -> bool:
        """Start training in a worker thread; False (with a message) if a run is already going. `model`:
        "your model" for a lab that builds on one ("best", "none", a sha256; planner.checkpoints)."""
        if self.live is not None and self.live.running:
            self.notify(f"{self.live.lab_id} is still training; cancel it first (ctrl+x).", severity="warning")
            return False
        time_limit_s, deadline_s = _clock(lab_id)
        self.live = LiveRun(lab_id=lab_id, params=dict(params), time_limit_s=time_limit_s, deadline_s=deadline_s)
        self._run_over = threading.Event()
        self._train(self.current_learner, lab_id, dict(params), seed, practice, self._run_over, model)
        self._refresh_run_views(force=True)
        return True

    @work(thread=True, exclusive=True, group="lab", exit_on_error=False, name="lab run")
    def _train(self, learner: Learner, lab_id: str, params: dict[str, Any], seed: int | None, practice: bool,
               over: threading.Event, model: str | None = None) -> None:
        """Worker thread: run one attempt through the service, posting each event. Touches no widget.

        SQLite connections belong to the thread that opened them, so the session records through a
        service over its own connection to the same database; cancellation is a flag this loop checks
        every 0.1 s (the session is only ever touched from this thread).
        """
        worker = get_current_worker()
        try:
            service = self.service.on_own_connection()
            try:
                session = service.start_lab(learner, lab_id, params, seed=seed, practice=practice, model=model)
                announced = False
                while not session.done:
                    if worker.is_cancelled:
                        session.cancel()
                        break
                    batch = list(session.events(timeout=0.1))
                    if not announced and session.attempt_id is not None:  # the row exists once Started came
                        self.post_message(RunStarted(session.attempt_id))
                        announced = True
                    if batch:  # one message per poll, not per event: a fast lab cannot flood the UI
                        self.post_message(RunEvents(batch))
                self.post_message(RunEnded(outcome=session.outcome))
            finally:
                service.close()
        except Exception as exc:  # bad params, a locked lab, a database or spawn failure: say so
            self.post_message(RunEnded(error=str(exc) or type(exc).__name__))
        finally:
            over.set()

    def action_cancel_run(self) -> None:
        """Stop training: the worker kills the child and the service records the attempt as cancelled."""
        if self.live is None or not self.live.running:
            if self.cancel_grading():
                self.notify("Cancelling the grading of your code…")
            else:
                self.notify("No lab is training.")
            return
        self.live.cancelling = True
        self.workers.cancel_group(self, "lab")
        self._refresh_run_views(force=True)

    def on_run_started(self, message: RunStarted) -> None:
        if self.live is not None:
            self.live.attempt_id = message.attempt_id

    def on_run_events(self, message: RunEvents) -> None:
        if self.live is not None:
            for event in message.events:
                self.live.apply(event)
            self._run_dirty = True

    def on_run_ended(self, message: RunEnded) -> None:
        live = self.live
        if live is None:
            return
        live.outcome, live.error = message.outcome, message.error
        self.invalidate_progress()
        self._refresh_run_views(force=True)
        if message.error:
            self.notify(message.error, title="Lab run", severity="error", timeout=8, markup=False)
        elif message.outcome is not None:
            self.notify(outcome_summary(self.curriculum, live.lab_id, message.outcome), title="Lab run", timeout=6)

    def _refresh_run_views(self, force: bool = False) -> None:
        """Redraw the run on every screen that shows it; called on a timer so bursts of events batch."""
        if not (force or self._run_dirty) or self.live is None:
            return
        self._run_dirty = False
        live = self.live
        name = self.learner.name if self.learner else ""
        self.sub_title = f"{name}  ⏵ {live.status_line()}" if live.running else name
        for screen in self.screen_stack:
            show = getattr(screen, "show_run", None)
            if show is not None and screen.is_mounted:
                show(live)

    # ---- quitting ---------------------------------------------------------------------------

    async def action_quit(self) -> None:
        """Quit; while a lab trains, first ask, and on yes cancel the run and record it so."""
        live = self.live
        if live is None or not live.running:
            self.exit()
            return
        if self._asking_to_quit:  # q again while the question is up
            return
        from planner.tui.screens.confirm import ConfirmScreen

        self._asking_to_quit = True
        question = f"A lab is training ({live.lab_id}, {live.position_text()}). Quit and cancel it?"
        self.push_screen(ConfirmScreen(question, yes="Quit", no="Keep training"), self._quit_answered)

    async def _quit_answered(self, quit_: bool | None) -> None:
        self._asking_to_quit = False
        if not quit_:
            return
        if self.live is not None and self.live.running:  # it may have ended while the question was up
            self.live.cancelling = True
            self.workers.cancel_group(self, "lab")
            await asyncio.get_running_loop().run_in_executor(None, self._run_over.wait, 3.0)
        self.exit()


def _clock(lab_id: str) -> tuple[float | None, float | None]:
    """(the lab's time limit, when its worker stops training to grade within it), in seconds."""
    from labs.catalog import get_lab
    from labs.catalog.base import grading_margin_s

    try:
        limit = float(get_lab(lab_id).time_limit_s)
    except KeyError:  # an unknown lab: the service will say so when the run starts
        return None, None
    return limit, limit - grading_margin_s(limit)


def outcome_summary(curriculum: Curriculum, lab_id: str, outcome: LabOutcome) -> str:
    """'gd-linear passed: 92/100 · unlocked Backpropagation' — the toast after a run."""
    text = f"{lab_id} {outcome.status}: {outcome.score:.0f}/100"
    if outcome.unlocked:
        text += " · unlocked " + ", ".join(curriculum.nodes[n].title if n in curriculum.nodes else n
                                            for n in outcome.unlocked)
    return text


def make_app(store: Store, curriculum: Curriculum, runner: Callable[..., Any] | None = None) -> PathLabApp:
    """The app over an open `Store` and a loaded `Curriculum`; `runner` is the lab runner factory.

    This is the app's wiring: the one place in `planner.tui` that holds the store, and only to give it
    to the `Service` every screen goes through. `runner` (lab_id, params, seed) -> a process with
    start/events/cancel/done; None means the service's default, `labs.runner.LabProcess` (a child
    process per run). Tests may pass a scripted one.
    """
    from planner.service import Service

    app = PathLabApp(Service(store, curriculum, runner_factory=runner), curriculum)
    app.prewarm_labs = runner is None  # real lab processes only; a scripted runner needs no worker
    return app
