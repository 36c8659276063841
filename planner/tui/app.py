"""The PathLab Textual app. `make_app(store, curriculum, runner=...)` is the one way to build it.

The app owns what outlives any one screen: the service (all use cases go through it), the current
learner, and the one lab run being watched (`LiveRun`). Training happens in a worker thread that polls
the service's session and posts messages; the handlers here, on the UI thread, update the `LiveRun` and
refresh whichever screens show it, at most a few times a second.

Screens are imported lazily inside the actions so the first screen draws fast (numpy, the lab
catalogue and the plotting widget load only when a lab or chart is opened).
"""

from __future__ import annotations

import asyncio
import threading
import time
from datetime import date
from functools import partial
from pathlib import Path
from typing import Any, Callable

from textual import work
from textual.app import App
from textual.binding import Binding
from textual.command import Hit, Hits, Provider
from textual.worker import get_current_worker

from planner.tui.live_run import LiveRun
from planner.tui.messages import ImplementGraded, RunEnded, RunEvents, RunStarted

LAST_LEARNER_KEY = "last_learner"


class PathLabCommands(Provider):
    """The app's actions in the command palette (ctrl+p), next to Textual's own (themes, keys, quit)."""

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
        Binding("m", "dashboard", "Map"),
        Binding("p", "plan", "Plan"),
        Binding("h", "history", "History"),
        Binding("e", "export", "Export"),
        Binding("l", "learners", "Learner"),
        Binding("question_mark,f1", "help", "Help", key_display="?"),
        Binding("q", "quit", "Quit"),
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

    def __init__(self, service: Any, store: Any, curriculum: Any) -> None:
        super().__init__()
        self.service = service
        self.store = store
        self.curriculum = curriculum
        self.learner: Any = None
        self.live: LiveRun | None = None
        self._run_over = threading.Event()
        self._run_dirty = False
        self._progress_cache: dict[str, Any] | None = None
        self.today: Callable[[], date] = date.today  # replaceable, so dated screens can be snapshotted
        self.workspace: Path | None = None  # implement mode's folder; None: planner.implement's default
        self.grading: tuple[str, str] | None = None  # (lab, node) being graded: one grading at a time
        self.grading_started = 0.0  # time.monotonic() when it began
        self._grade_again = False

    # ---- start-up and learners -------------------------------------------------------------

    def on_mount(self) -> None:
        self._recover()
        learner = self._last_learner()
        if learner is None:
            from planner.tui.screens.welcome import WelcomeScreen

            self.push_screen(WelcomeScreen())
        else:
            self.set_learner(learner)
        self.set_interval(0.25, self._refresh_run_views)

    def _recover(self) -> None:
        try:
            count = self.service.recover_interrupted(at_start=True)
        except Exception as exc:  # a database problem must not stop the app from opening
            self.notify(f"Could not check for interrupted runs: {exc}", severity="error")
            return
        if count:
            self.notify(f"{count} run(s) from a previous session were interrupted and marked so.")

    def _last_learner(self) -> Any:
        learner_id = self.store.get_state(LAST_LEARNER_KEY)
        learner = self.store.learner_by_id(int(learner_id)) if learner_id else None
        if learner is None:
            learners = self.store.list_learners()
            learner = learners[-1] if learners else None
        return learner

    def set_learner(self, learner: Any) -> None:
        """Make `learner` current, remember them for next start, and show their dashboard."""
        from planner.tui.screens.dashboard import DashboardScreen

        self.learner = self._with_known_role(learner)
        self.store.set_state(LAST_LEARNER_KEY, str(learner.id))
        self.sub_title = learner.name
        self.invalidate_progress()
        while len(self.screen_stack) > 1:
            self.pop_screen()
        self.push_screen(DashboardScreen())

    def reload_learner(self) -> None:
        """Read the learner again after a change (target role, hours) and redraw what depends on it."""
        self.learner = self._with_known_role(self.store.learner_by_id(self.learner.id))
        self.invalidate_progress()

    def _with_known_role(self, learner: Any) -> Any:
        """The learner as the screens see them: a target role this curriculum lacks (from an import or
        another --data folder) reads as none, so the app opens and offers a choice instead of crashing."""
        role = self.curriculum.nodes.get(learner.target_role) if learner.target_role else None
        if learner.target_role and (role is None or role.kind != "role"):
            return learner.model_copy(update={"target_role": None})
        return learner

    # ---- progress, shared by screens ---------------------------------------------------------

    def progress(self) -> dict[str, Any]:
        """The learner's node progress, cached until something is recorded."""
        if self._progress_cache is None:
            self._progress_cache = self.service.progress(self.learner)
        return self._progress_cache

    def invalidate_progress(self) -> None:
        self._progress_cache = None
        for screen in self.screen_stack:
            refresh = getattr(screen, "refresh_data", None)
            if refresh is not None and screen.is_mounted:
                refresh()

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
        job = (self.store.path, self.curriculum, self.service.runner_factory, self.learner, lab_id, node_id,
               self.workspace)

        def run() -> None:
            try:
                message = ImplementGraded(lab_id, result=grade_in_thread(*job))
            except Exception as exc:  # no file, unreadable, the sandbox would not start: say so
                message = ImplementGraded(lab_id, error=str(exc) or type(exc).__name__)
            self.post_message(message)

        threading.Thread(target=run, name=f"grade {lab_id}", daemon=True).start()
        return True

    def on_implement_graded(self, message: ImplementGraded) -> None:
        lab_id, node_id = self.grading or (message.lab_id, None)
        self.grading = None
        self.invalidate_progress()
        for screen in self.screen_stack:
            show = getattr(screen, "show_graded", None)
            if show is not None and screen.is_mounted:
                show(message)
        if message.error:
            self.notify(message.error, title="Grading", severity="error", timeout=8)
        else:
            self.notify(outcome_summary(self.curriculum, lab_id, message.result.outcome), title="Your code",
                        timeout=6)
        if self._grade_again and node_id is not None:
            self.start_grading(lab_id, node_id)

    # ---- the lab run ------------------------------------------------------------------------

    def start_run(self, lab_id: str, params: dict[str, Any], seed: int | None = None,
                  practice: bool = False) -> bool:
        """Start training in a worker thread; False (with a message) if a run is already going."""
        if self.live is not None and self.live.running:
            self.notify(f"{self.live.lab_id} is still training; cancel it first (ctrl+x).", severity="warning")
            return False
        self.live = LiveRun(lab_id=lab_id, params=dict(params))
        self._run_over = threading.Event()
        self._train(self.learner, lab_id, dict(params), seed, practice, self._run_over)
        self._refresh_run_views(force=True)
        return True

    @work(thread=True, exclusive=True, group="lab", exit_on_error=False, name="lab run")
    def _train(self, learner: Any, lab_id: str, params: dict[str, Any], seed: int | None, practice: bool,
               over: threading.Event) -> None:
        """Worker thread: run one attempt through the service, posting each event. Touches no widget.

        SQLite connections belong to the thread that opened them, so the session records through a
        service over its own connection to the same database; cancellation is a flag this loop checks
        every 0.1 s (the session is only ever touched from this thread).
        """
        worker = get_current_worker()
        try:
            service = self._thread_service()
            try:
                session = service.start_lab(learner, lab_id, params, seed=seed, practice=practice)
                self.post_message(RunStarted(session.attempt_id or 0))
                while not session.done:
                    if worker.is_cancelled:
                        session.cancel()
                        break
                    batch = list(session.events(timeout=0.1))
                    if batch:  # one message per poll, not per event: a fast lab cannot flood the UI
                        self.post_message(RunEvents(batch))
                self.post_message(RunEnded(outcome=session.outcome))
            finally:
                service.store.close()
        except Exception as exc:  # bad params, a locked lab, a database or spawn failure: say so
            self.post_message(RunEnded(error=str(exc) or type(exc).__name__))
        finally:
            over.set()

    def _thread_service(self) -> Any:
        """A Service like the app's, over a new connection to the same database (for a worker thread)."""
        from planner.service import Service
        from planner.store import Store

        return Service(Store.open(self.store.path), self.curriculum, runner_factory=self.service.runner_factory)

    def action_cancel_run(self) -> None:
        """Stop training: the worker kills the child and the service records the attempt as cancelled."""
        if self.live is None or not self.live.running:
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
            self.notify(message.error, title="Lab run", severity="error", timeout=8)
        elif message.outcome is not None:
            self.notify(outcome_summary(self.curriculum, live.lab_id, message.outcome), title="Lab run", timeout=6)

    def _refresh_run_views(self, force: bool = False) -> None:
        """Redraw the run on every screen that shows it; called on a timer so bursts of events batch."""
        if not (force or self._run_dirty) or self.live is None:
            return
        self._run_dirty = False
        live = self.live
        label = live.status_line()
        self.sub_title = f"{self.learner.name if self.learner else ''}  ⏵ {label}" if live.running else (
            self.learner.name if self.learner else "")
        for screen in self.screen_stack:
            show = getattr(screen, "show_run", None)
            if show is not None and screen.is_mounted:
                show(live)

    # ---- quitting ---------------------------------------------------------------------------

    async def action_quit(self) -> None:
        """Quit at once; a run in progress is first cancelled and recorded so (well under a second)."""
        if self.live is not None and self.live.running:
            self.workers.cancel_group(self, "lab")
            await asyncio.get_running_loop().run_in_executor(None, self._run_over.wait, 3.0)
        self.exit()


def outcome_summary(curriculum: Any, lab_id: str, outcome: Any) -> str:
    """'gd-linear passed: 92/100 · unlocked Backpropagation' — the toast after a run."""
    status = getattr(outcome, "status", "finished")
    score = getattr(outcome, "score", None)
    text = f"{lab_id} {status}" + (f": {score:.0f}/100" if score is not None else "")
    unlocked = getattr(outcome, "unlocked", None) or []
    if unlocked:
        text += " · unlocked " + ", ".join(curriculum.nodes[n].title if n in curriculum.nodes else n
                                            for n in unlocked)
    return text


def make_app(store: Any, curriculum: Any, runner: Callable[..., Any] | None = None) -> PathLabApp:
    """The app over an open `Store` and a loaded `Curriculum`; `runner` is the lab runner factory.

    `runner` (lab_id, params, seed) -> a process with start/events/cancel/done; None means the service's
    default, `labs.runner.LabProcess` (a child process per run). Tests may pass a scripted one.
    """
    from planner.service import Service

    return PathLabApp(Service(store, curriculum, runner_factory=runner), store, curriculum)
