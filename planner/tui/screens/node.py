"""A node: its lesson (Markdown, scrollable), its quiz, and its lab (description, checks and points,
the learner's best attempt). Tabs switch with 1/2/3; `s` starts the quiz, `r` opens the lab.

Reading time (planner.studytime): while the lesson tab is shown, every key, click, scroll and tab switch
touches a `LessonClock`; the terminal losing focus (Textual's AppBlur, seen as `app.app_focus`), another
tab, another screen on top, or leaving pauses it. The visit's total is written every `FLUSH_EVERY_S` and
when paused (`Service.record_lesson_time`, one row per visit). `clock` is the time source (tests inject one).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Button, Footer, Header, Markdown, Static, TabbedContent, TabPane

from planner.curriculum import Node, Quiz
from planner.records import Attempt, QuizAttempt
from planner.studytime import FLUSH_EVERY_S, LessonClock, utc_now
from planner.tui.app import DATABASE_ERRORS
from planner.tui.screens.base import PathLabScreen
from planner.tui.symbols import STATE_LABEL, mastery_bar, state_markup

if TYPE_CHECKING:
    from labs.catalog.base import Lab  # the catalogue loads lazily (numpy), only with the Lab tab


def quiz_summary(quiz: Quiz | None, attempts: list[QuizAttempt]) -> str:
    if quiz is None:
        return "This node has no quiz."
    text = (f"{quiz.draw or len(quiz.questions)} questions · pass mark {quiz.pass_mark:.0%}. One question at a time; "
            "each answer is explained as you go.")
    if attempts:
        best = max(attempts, key=lambda a: a.score)
        text += f"\n\nBest so far: [b]{best.score:.0%}[/] ({'passed' if best.passed else 'not passed'}), "
        text += f"{len(attempts)} attempt(s)."
    return text


def lab_summary(lab: Lab, attempts: list[Attempt]) -> str:
    """Checks with their points, then the best recorded attempt."""
    lines = [f"[b]{lab.title}[/]  [dim]pass mark {lab.pass_mark:g}/100 · time limit {lab.time_limit_s:g}s[/]",
             "", "[b]Checks[/]"]
    for check in lab.checks:
        required = " [dim](required)[/]" if check.required else ""
        lines.append(f"  {check.points:>5g} pts  {check.title}{required}")
    scored = [a for a in attempts if a.score is not None]
    lines.append("")
    if scored:
        best = max(scored, key=lambda a: a.score or 0.0)
        lines.append(f"Best attempt: [b]{best.score:.0f}/100[/] ({best.status}, #{best.id}) of {len(attempts)}.")
    else:
        lines.append("No attempts yet.")
    return "\n".join(lines)


class NodeScreen(PathLabScreen[None]):
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back", id="node.back"),
        Binding("1", "tab('lesson')", "Lesson", show=False, id="node.tab-lesson"),  # the tab titles show these keys
        Binding("2", "tab('quiz')", "Quiz", show=False, id="node.tab-quiz"),
        Binding("3", "tab('lab')", "Lab", show=False, id="node.tab-lab"),
        Binding("s", "start_quiz", "Start quiz", id="node.start-quiz"),
        Binding("r", "open_lab", "Open lab", id="node.open-lab"),
        Binding("w", "implement", "Build", id="node.implement"),
    ]

    clock: Callable[[], datetime] = staticmethod(utc_now)
    """Where the reading time's moments come from (a test replaces it)."""

    def __init__(self, node_id: str) -> None:
        super().__init__()
        self.node_id = node_id
        self.lesson_clock = LessonClock()
        self._lesson_visit: int | None = None  # the visit's study_sessions row, once written
        self._lesson_written = 0.0

    @property
    def node(self) -> Node:
        return self.app.curriculum.node(self.node_id)

    def compose(self) -> ComposeResult:
        app = self.app
        node = self.node
        yield Header()
        yield Static(id="node-head")
        with TabbedContent(id="node-tabs"):
            with TabPane("1 Lesson", id="lesson-tab"):
                with VerticalScroll(id="lesson"):
                    text = app.curriculum.lesson_text(self.node_id) if node.lesson else ""
                    yield Markdown(text or node.description or node.summary or "No lesson for this node.")
            with TabPane("2 Quiz", id="quiz-tab"):
                with VerticalScroll(id="node-quiz"):
                    yield Static(id="quiz-summary")
                    with Horizontal(classes="actions"):
                        yield Button("Start quiz (s)", id="start-quiz", variant="primary",
                                     disabled=app.curriculum.quiz_for(self.node_id) is None)
            with TabPane("3 Lab", id="lab-tab"):
                with VerticalScroll(id="node-lab"):
                    yield Static(id="lab-summary")
                    yield Markdown(id="lab-description")
                    with Horizontal(classes="actions"):
                        yield Button("Open lab (r)", id="open-lab", variant="primary", disabled=node.lab is None)
                        if self.has_implement:
                            yield Button("Build it yourself (w)", id="implement")
        yield Footer()

    def on_mount(self) -> None:
        with self.app.database_errors_shown("read your progress on this node"):
            self.refresh_data()
        self._fill_lab_description()
        self.query_one("#lesson").focus()  # so ↑↓ and page keys scroll the lesson straight away
        self.watch(self.app, "app_focus", self._app_focus_changed, init=False)
        self.watch(self.query_one("#lesson", VerticalScroll), "scroll_y", lambda _: self.lesson_activity(),
                   init=False)
        self.set_interval(FLUSH_EVERY_S, self.flush_lesson_time)
        self.lesson_activity()

    # -- reading time ----------------------------------------------------------------------------
    @property
    def lesson_shown(self) -> bool:
        return self.is_current and self.query_one(TabbedContent).active == "lesson-tab" and self.app.app_focus

    def lesson_activity(self) -> None:
        """A key, click or scroll: the lesson's clock runs (if the lesson is what is shown)."""
        if self.lesson_shown:
            self.lesson_clock.touch(self.clock())
        else:
            self.pause_lesson()

    def pause_lesson(self, *, refresh: bool = True) -> None:
        """The lesson is not being read: stop its clock and write the visit's total."""
        if self.lesson_clock.running:
            self.lesson_clock.pause(self.clock())
            self.flush_lesson_time(refresh=refresh)

    def flush_lesson_time(self, *, refresh: bool = True) -> None:
        """Write the visit's running total (every FLUSH_EVERY_S and on pause). A busy or broken database
        skips this write only: the next one carries the whole total. `refresh`: redraw the figures that
        show time spent (not while the screen is being removed)."""
        clock, learner = self.lesson_clock, self.app.learner
        now = self.clock()
        total = clock.total(now)
        if learner is None or clock.started_at is None or total <= self._lesson_written:
            return
        with contextlib.suppress(*DATABASE_ERRORS):
            self._lesson_visit = self.app.service.record_lesson_time(
                learner, self.node_id, started_at=clock.started_at, ended_at=clock.end(now) or now,
                active_s=total, session_id=self._lesson_visit)
            self._lesson_written = total
        if refresh:
            self.app.invalidate_progress()

    def _app_focus_changed(self, focused: bool) -> None:
        self.lesson_activity() if focused else self.pause_lesson()

    def on_key(self, event: events.Key) -> None:
        self.lesson_activity()

    def on_mouse_down(self, event: events.MouseDown) -> None:
        self.lesson_activity()

    def on_mouse_scroll_down(self, event: events.MouseScrollDown) -> None:
        self.lesson_activity()

    def on_mouse_scroll_up(self, event: events.MouseScrollUp) -> None:
        self.lesson_activity()

    def on_screen_suspend(self) -> None:
        self.pause_lesson()

    def on_screen_resume(self) -> None:
        if self.is_mounted and self.lesson_clock.started_at is not None:
            self.lesson_activity()

    def on_unmount(self) -> None:
        self.pause_lesson(refresh=False)

    @on(TabbedContent.TabActivated)
    def _focus_pane(self, event: TabbedContent.TabActivated) -> None:
        """Focus the shown pane's scroller, so the keys scroll what the learner is looking at."""
        pane = {"lesson-tab": "#lesson", "quiz-tab": "#node-quiz", "lab-tab": "#node-lab"}.get(event.pane.id or "")
        if pane:
            self.query_one(pane).focus()
        self.lesson_activity()  # the lesson tab starts the clock, any other pauses it

    def refresh_data(self) -> None:
        """Redraw state, mastery, quiz and lab summaries after something was recorded."""
        app = self.app
        node = self.node
        entry = app.progress().get(self.node_id)
        state = entry.state if entry is not None else "locked"
        head = f"[b]{node.title}[/]  {state_markup(state)} {STATE_LABEL.get(state, state)}"
        if entry is not None:
            head += f"  {mastery_bar(entry.mastery)} {entry.mastery}"
        if state == "locked" and entry is not None and entry.missing:
            titles = [app.curriculum.node(m).title if m in app.curriculum.nodes else m for m in entry.missing]
            head += f"\n[$warning]Locked: complete {', '.join(titles)} first.[/] You can still read and practise."
        self.query_one("#node-head", Static).update(head)
        quiz_attempts = app.service.quiz_attempts(app.current_learner, self.node_id)
        self.query_one("#quiz-summary", Static).update(
            quiz_summary(app.curriculum.quiz_for(self.node_id), quiz_attempts))
        self.query_one("#lab-summary", Static).update(self._lab_text())

    def _lab(self) -> Lab | None:
        if not self.node.lab:
            return None
        from labs.catalog import get_lab

        try:
            return get_lab(self.node.lab)
        except KeyError:
            return None

    def _lab_text(self) -> str:
        node, lab = self.node, self._lab()
        if node.lab is None:
            return "This node has no lab: its lesson and quiz carry it."
        if lab is None:
            return f"The lab {node.lab!r} is not installed yet."
        return lab_summary(lab, self.app.service.attempts(self.app.current_learner, lab_id=lab.id))

    def _fill_lab_description(self) -> None:
        lab = self._lab()
        if lab is not None:
            self.query_one("#lab-description", Markdown).update(lab.description)

    def action_tab(self, tab: str) -> None:
        self.query_one(TabbedContent).active = f"{tab}-tab"

    @on(Button.Pressed, "#start-quiz")
    def action_start_quiz(self) -> None:
        app = self.app
        if app.curriculum.quiz_for(self.node_id) is None:
            self.notify("This node has no quiz.")
            return
        from planner.tui.screens.quiz import QuizScreen

        app.push_screen(QuizScreen(self.node_id))

    @property
    def has_implement(self) -> bool:
        """Whether the node's lab has implement mode (the learner writes the network's functions)."""
        from labs.implement import TASKS

        return self.node.lab in TASKS

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Show a key in the footer only where it does something: no quiz, no `s`; no lab, no `r`."""
        app = self.app
        if action == "start_quiz":
            return app.curriculum.quiz_for(self.node_id) is not None
        if action == "open_lab":
            return self.node.lab is not None
        if action == "implement":
            return self.has_implement
        return True

    @on(Button.Pressed, "#implement")
    def action_implement(self) -> None:
        lab_id = self.node.lab
        if lab_id is not None and self.has_implement:
            self.app.open_implement(lab_id, self.node_id)

    @on(Button.Pressed, "#open-lab")
    def action_open_lab(self) -> None:
        lab = self._lab()
        if lab is None:
            self.notify("This node has no lab to run.")
            return
        self.app.open_lab(lab.id, self.node_id)
