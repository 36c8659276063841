"""A quiz, one question at a time: answer, see every option marked, go on; the score at the end is recorded.

Single-answer questions are an option list (enter answers), several-answer ones a checklist (space
ticks, enter answers), numeric ones an input. Options come in the attempt's seeded order
(`planner.quiz.shuffled_options`), so a retake moves them about. Each answer is graded on the spot:
the answer widget gives way to the options marked right or wrong (✓/✗ and a word, so it reads without
colour), each with its explanation. The whole set goes to `Service.submit_quiz`, which grades and
records it with the time the first question was shown; the end shows the score against the pass mark
and every missed question with its right answer.

Keys: a printable key that reaches the screen while a numeric answer is open goes into the answer (a
key typed just after "next" lands before the new input has focus, and the `e` of `1.2e18` opened the
export dialog); the app's keys that leave the screen, and escape, ask first once an answer is given.
"""

from __future__ import annotations

import random
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.markup import escape
from textual.message import Message
from textual.widgets import Button, Footer, Header, Input, OptionList, SelectionList, Static
from textual.widgets.option_list import Option

from planner.curriculum import Curriculum, Question, Quiz
from planner.quiz import AnswerResult, draw_quiz, grade_answer, parse_number, shuffled_options
from planner.templates import format_number
from planner.tui.app import PathLabApp
from planner.tui.screens.base import PathLabScreen

if TYPE_CHECKING:
    from planner.service import QuizOutcome

LEAVING_ACTIONS = ("dashboard", "plan", "history", "learners", "quit")
"""The app's actions that take the learner off the quiz (export and help open over it)."""


def _now() -> datetime:
    return datetime.now(timezone.utc)


class Checklist(SelectionList[int]):
    """A SelectionList where space ticks and enter submits the ticked set."""

    BINDINGS = [Binding("enter", "submit", "Answer", id="quiz.submit")]

    class Submitted(Message):
        def __init__(self, values: list[int]) -> None:
            super().__init__()
            self.values = values

    def action_submit(self) -> None:
        self.post_message(self.Submitted(list(self.selected)))


def _mark(correct: bool, chosen: bool, kind: str) -> str:
    """'✓ right · your choice': symbol AND words, so the marks read with NO_COLOR too."""
    if correct:
        return ("[$success]✓ right · your choice[/]" if chosen else
                "[$success]✓ right · not chosen[/]" if kind == "multiple" else "[$success]✓ right answer[/]")
    return "[$error]✗ wrong · your choice[/]" if chosen else "[dim]✗ wrong[/]"


def feedback_markup(result: AnswerResult, order: list[int] | None = None) -> str:
    """The verdict, then every option in the order shown, marked right or wrong with its explanation
    (a numeric question: the answer given and the right one, then why)."""
    if result.correct:
        head = f"[$success]✓ Correct.[/] [dim]{result.points:g} of {result.max_points:g} point(s)[/]"
    elif result.points > 0:
        head = f"[$warning]◐ Partly right:[/] {result.points:g} of {result.max_points:g} point(s)"
    else:
        head = f"[$error]✗ Not quite.[/] [dim]0 of {result.max_points:g} point(s)[/]"
    lines = [head]
    if result.kind == "numeric":
        given = "no answer" if result.answer is None else escape(format_number(float(result.answer)))  # type: ignore[arg-type]
        lines.append(f"Your answer: {given} · right answer: [b]{escape(result.right_answer_text)}[/]")
        lines += [f"[dim]Why:[/] {escape(e)}" for e in result.explanations]
        return "\n".join(lines)
    by_index = {o.index: o for o in result.options}
    for index in order if order is not None else sorted(by_index):
        option = by_index[index]
        lines.append(f"{_mark(option.correct, option.chosen, result.kind)}  {escape(option.text)}")
        if option.explanation:
            lines.append(f"    [dim]Why:[/] {escape(option.explanation)}")
    if result.kind == "multiple":
        right = sum(o.correct for o in result.options)
        wrong = len(result.options) - right
        rule = f"+1/{right} of the points per right option ticked"
        rule += f", −1/{wrong} per wrong one, never below 0" if wrong else ""
        lines.append(f"[dim]Scoring: {rule}.[/]")
    return "\n".join(lines)


class QuizScreen(PathLabScreen[None]):
    BINDINGS = [
        Binding("escape", "leave('back')", "Leave quiz", id="quiz.leave"),
        # A priority binding runs in the app's key queue before the next key is delivered, so keys typed
        # right after enter wait until the next question's answer box has focus (the button's own
        # enter ran later, and the `e` of 1.2e18 reached the app's export key first).
        Binding("enter", "next", "Next", show=False, priority=True, id="quiz.next"),
        *[Binding(b.key, f"leave({b.action!r})", b.description, show=False, key_display=b.key_display,
                  id=b.id)  # the app's id: a keymap that moves "Map" moves this copy with it
          for b in PathLabApp.BINDINGS if isinstance(b, Binding) and b.action in LEAVING_ACTIONS],
    ]

    def __init__(self, node_id: str, seed: int | None = None) -> None:
        super().__init__()
        self.node_id = node_id
        self.seed = seed if seed is not None else random.randrange(1_000_000)
        self.index = 0
        self.answers: dict[str, Any] = {}
        self.started_at: datetime | None = None  # when the first question was shown
        self.finished = False
        self._asking = False
        self._drawn: Quiz | None = None

    @property
    def quiz(self) -> Quiz:
        if self._drawn is None:
            quiz = self.app.curriculum.quiz_for(self.node_id)
            assert quiz is not None, "the node screen opens a quiz only for a node that has one"
            self._drawn = draw_quiz(quiz, self.seed)  # this attempt's questions and numbers (planner.quiz)
        return self._drawn

    def compose(self) -> ComposeResult:
        yield Header()
        with VerticalScroll(id="quiz-body"):
            yield Static(id="quiz-count", classes="muted")
            yield Static(id="quiz-prompt")
            yield VerticalScroll(id="quiz-answer")
            yield Static(id="quiz-feedback")
            with Horizontal(classes="actions"):
                yield Button("Next question", id="next", variant="primary")
        yield Footer()

    async def on_mount(self) -> None:
        self.query_one(VerticalScroll).border_title = self.app.curriculum.node(self.node_id).title
        await self._show_question()
        self.started_at = _now()

    # ---- one question ---------------------------------------------------------------------------

    async def _show_question(self) -> None:
        """Replace the answer widget; the old one is removed first (awaited), since two questions of
        one kind in a row would otherwise mount a second widget with the same id."""
        question = self.quiz.questions[self.index]
        self.query_one("#quiz-count", Static).update(
            f"Question {self.index + 1} of {len(self.quiz.questions)} · {question.points:g} point(s)")
        self.query_one("#quiz-prompt", Static).update(f"[b]{escape(question.prompt)}[/]")
        self.query_one("#quiz-feedback", Static).update(self._hint(question))
        self.query_one("#next", Button).display = False
        holder = self.query_one("#quiz-answer", VerticalScroll)
        await holder.remove_children()
        holder.disabled = False
        holder.display = True
        widget = self._answer_widget(question)
        await holder.mount(widget)
        self.set_focus(widget)  # now, not after a refresh: keys queued behind this must land in it

    @staticmethod
    def _hint(question: Question) -> str:
        return {"single": "[dim]↑↓ to choose, enter to answer[/]",
                "multiple": "[dim]Several may be right: space ticks, enter answers[/]",
                "numeric": "[dim]Type a number (1.2e18 is fine), enter to answer[/]"}[question.kind]

    def _order(self, question: Question) -> list[int]:
        return [i for i, _ in shuffled_options(question, self.seed)]

    def _answer_widget(self, question: Question) -> OptionList | Checklist | Input:
        options = shuffled_options(question, self.seed) if question.kind != "numeric" else []
        if question.kind == "single":
            return OptionList(*[Option(o.text, id=str(i)) for i, o in options], id="answer-single")
        if question.kind == "multiple":
            return Checklist(*[(o.text, i) for i, o in options], id="answer-multiple")
        return Input(placeholder="a number", id="answer-numeric")

    def _open_numeric_box(self) -> Input | None:
        """The numeric answer box while its question waits for an answer, else None."""
        if self.finished or self.quiz.questions[self.index].id in self.answers:
            return None
        boxes = self.query("#answer-numeric").results(Input)
        return next((box for box in boxes if not box.disabled), None)

    def on_key(self, event: events.Key) -> None:
        """A printable key that bubbles up here (typed before the new input took focus, or with focus
        elsewhere) while a numeric answer is open belongs in that answer, not to the app's keys."""
        if not event.is_printable or event.character is None:
            return
        box = self._open_numeric_box()
        if box is None:
            return
        event.stop()
        event.prevent_default()
        if self.focused is not box:
            box.focus()
        box.insert_text_at_cursor(event.character)

    @on(OptionList.OptionSelected, "#answer-single")
    def _single(self, event: OptionList.OptionSelected) -> None:
        if event.option.id is not None:
            self._answer(int(event.option.id))

    @on(Checklist.Submitted)
    def _multiple(self, event: Checklist.Submitted) -> None:
        if not event.values:
            self.notify("Tick at least one option (space), then press enter.", severity="warning")
            return
        self._answer(sorted(event.values))

    @on(Input.Submitted, "#answer-numeric")
    def _numeric(self, event: Input.Submitted) -> None:
        try:
            value = parse_number(event.value)
        except ValueError as exc:
            self.query_one("#quiz-feedback", Static).update(f"[$error]{escape(str(exc))}.[/]")
            return
        self._answer(value)

    def _answer(self, answer: Any) -> None:
        question = self.quiz.questions[self.index]
        if question.id in self.answers:
            return
        self.answers[question.id] = answer
        result = grade_answer(question, answer)
        holder = self.query_one("#quiz-answer")
        holder.disabled = True
        holder.display = question.kind == "numeric"  # the marked options below replace the list
        self.query_one("#quiz-feedback", Static).update(feedback_markup(result, self._order(question)))
        button = self.query_one("#next", Button)
        last = self.index + 1 == len(self.quiz.questions)
        button.label = "See my score" if last else "Next question"
        button.display = True
        button.focus()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "next":  # only between an answer and the next question; else enter answers
            return self.answered and not self.finished
        return True

    @property
    def answered(self) -> bool:
        return self.quiz.questions[self.index].id in self.answers

    async def action_next(self) -> None:
        await self._next()

    @on(Button.Pressed, "#next")
    async def _next(self) -> None:
        if not self.answered or self.finished:
            return
        if self.index + 1 < len(self.quiz.questions):
            self.index += 1
            await self._show_question()
        else:
            self._finish()

    # ---- leaving ----------------------------------------------------------------------------------

    @property
    def half_done(self) -> bool:
        """Answers given that would be lost: leaving now asks first."""
        return bool(self.answers) and not self.finished

    async def action_leave(self, action: str) -> None:
        """Go back (escape) or run the app's `action`; half done, ask first (yes leaves, no stays)."""
        if not self.half_done:
            await self._go(action)
            return
        if self._asking:
            return
        from planner.tui.screens.confirm import ConfirmScreen

        self._asking = True
        count = len(self.answers)
        question = (f"Leave the quiz? You answered {count} of {len(self.quiz.questions)} question(s); "
                    "a quiz left half done is not recorded.")

        async def answered(leave: bool | None) -> None:
            self._asking = False
            if leave:
                await self._go(action)

        self.app.push_screen(ConfirmScreen(question, yes="Leave", no="Stay"), answered)

    async def _go(self, action: str) -> None:
        if action == "back":
            if self.app.screen is self:
                self.app.pop_screen()
        else:
            await self.app.run_action(action)

    # ---- the end --------------------------------------------------------------------------------

    def _finish(self) -> None:
        app = self.app
        try:
            outcome = app.service.submit_quiz(app.current_learner, self.node_id, self.answers, self.seed,
                                              started_at=self.started_at)
        except Exception as exc:  # a busy database: the answers stay on screen, enter tries again
            self.notify(f"Could not record the quiz: {exc}", severity="error", markup=False)
            return
        self._show_end("Quiz complete", quiz_outcome_text(app.curriculum, outcome), "Back to the node")

    def _show_end(self, title: str, text: str, back: str) -> None:
        """The end screen: the outcome's text, and enter bound to leave (`back` in the footer)."""
        self.finished = True
        self.app.invalidate_progress()
        self.query_one("#quiz-answer").remove_children()
        self.query_one("#quiz-prompt", Static).update(f"[b]{title}[/]")
        self.query_one("#quiz-count", Static).update("")
        self.query_one("#quiz-feedback", Static).update(text)
        self.query_one("#next", Button).display = False
        # Textual's BindingsMap.copy shares each key's list with the class: binding on it directly would
        # add `back` to every later quiz screen (its footer showed it on question 1)
        self._bindings.key_to_bindings = {k: list(v) for k, v in self._bindings.key_to_bindings.items()}
        self._bindings.bind("enter", "app.pop_screen", back)
        self.refresh_bindings()


def quiz_outcome_text(curriculum: Curriculum, outcome: QuizOutcome) -> str:
    """The score against the pass mark, pass or not, the nodes it unlocked, and every missed question
    with its right answer."""
    verdict = "[$success]✓ Passed[/]" if outcome.passed else "[$error]✗ Not passed yet[/]"
    text = f"Score [b]{outcome.score:.0%}[/]"
    if outcome.pass_mark is not None:
        text += f" against a pass mark of [b]{outcome.pass_mark:.0%}[/]"
    text += f" · {verdict} [dim]({outcome.points:g} of {outcome.max_points:g} points)[/]"
    if outcome.unlocked:
        titles = [curriculum.node(n).title if n in curriculum.nodes else n for n in outcome.unlocked]
        text += f"\nUnlocked: [b]{escape(', '.join(titles))}[/]"
    if outcome.missed:
        text += f"\n\n[b]Missed ({len(outcome.missed)})[/]"
        for number, missed in enumerate(outcome.missed, 1):
            text += f"\n{number}. {escape(missed.prompt)}\n   Right answer: [b]{escape(missed.right_answer_text)}[/]"
            if missed.explanation:
                text += f"\n   [dim]{escape(missed.explanation)}[/]"
    else:
        text += "\n\nEvery question right."
    return text + "\n\n[dim]Press escape (or enter) to go back.[/]"
