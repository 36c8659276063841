"""A quiz, one question at a time: answer, read why, go on; the score at the end is recorded.

Single-answer questions are an option list (enter answers), several-answer ones a checklist (space
ticks, enter answers), numeric ones an input. Options come in the attempt's seeded order
(`planner.quiz.shuffled_options`), so a retake moves them about. Each answer is graded on the spot
for its explanation; the whole set goes to `Service.submit_quiz`, which grades and records it.
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING, Any

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.markup import escape
from textual.message import Message
from textual.widgets import Button, Footer, Header, Input, OptionList, SelectionList, Static
from textual.widgets.option_list import Option

from planner.curriculum import Curriculum, Question, Quiz
from planner.quiz import AnswerResult, draw_quiz, grade_answer, parse_number, shuffled_options
from planner.tui.screens.base import PathLabScreen

if TYPE_CHECKING:
    from planner.service import QuizOutcome


class Checklist(SelectionList[int]):
    """A SelectionList where space ticks and enter submits the ticked set."""

    BINDINGS = [Binding("enter", "submit", "Answer")]

    class Submitted(Message):
        def __init__(self, values: list[int]) -> None:
            super().__init__()
            self.values = values

    def action_submit(self) -> None:
        self.post_message(self.Submitted(list(self.selected)))


def feedback_markup(result: AnswerResult) -> str:
    head = "[$success]✓ Correct.[/]" if result.correct else "[$error]✗ Not quite.[/]"
    return "\n".join([head, *result.explanations])


class QuizScreen(PathLabScreen[None]):
    BINDINGS = [Binding("escape", "app.pop_screen", "Leave quiz")]

    def __init__(self, node_id: str, seed: int | None = None) -> None:
        super().__init__()
        self.node_id = node_id
        self.seed = seed if seed is not None else random.randrange(1_000_000)
        self.index = 0
        self.answers: dict[str, Any] = {}

    @property
    def quiz(self) -> Quiz:
        quiz = self.app.curriculum.quiz_for(self.node_id)
        assert quiz is not None, "the node screen opens a quiz only for a node that has one"
        return draw_quiz(quiz, self.seed)  # this attempt's questions and numbers (planner.quiz)

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

    # ---- one question ---------------------------------------------------------------------------

    async def _show_question(self) -> None:
        """Replace the answer widget; the old one is removed first (awaited), since two questions of
        one kind in a row would otherwise mount a second widget with the same id."""
        question = self.quiz.questions[self.index]
        self.query_one("#quiz-count", Static).update(
            f"Question {self.index + 1} of {len(self.quiz.questions)} · {question.points:g} point(s)")
        self.query_one("#quiz-prompt", Static).update(f"[b]{question.prompt}[/]")
        self.query_one("#quiz-feedback", Static).update(self._hint(question))
        self.query_one("#next", Button).display = False
        holder = self.query_one("#quiz-answer", VerticalScroll)
        await holder.remove_children()
        holder.disabled = False
        widget = self._answer_widget(question)
        await holder.mount(widget)
        self.call_after_refresh(widget.focus)

    @staticmethod
    def _hint(question: Question) -> str:
        return {"single": "[dim]↑↓ to choose, enter to answer[/]",
                "multiple": "[dim]Several may be right: space ticks, enter answers[/]",
                "numeric": "[dim]Type a number, enter to answer[/]"}[question.kind]

    def _answer_widget(self, question: Question) -> OptionList | Checklist | Input:
        options = shuffled_options(question, self.seed) if question.kind != "numeric" else []
        if question.kind == "single":
            return OptionList(*[Option(o.text, id=str(i)) for i, o in options], id="answer-single")
        if question.kind == "multiple":
            return Checklist(*[(o.text, i) for i, o in options], id="answer-multiple")
        return Input(placeholder="a number", id="answer-numeric")

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
        self.query_one("#quiz-answer").disabled = True
        self.query_one("#quiz-feedback", Static).update(feedback_markup(result))
        button = self.query_one("#next", Button)
        last = self.index + 1 == len(self.quiz.questions)
        button.label = "See my score" if last else "Next question"
        button.display = True
        button.focus()

    @on(Button.Pressed, "#next")
    async def _next(self) -> None:
        if self.index + 1 < len(self.quiz.questions):
            self.index += 1
            await self._show_question()
        else:
            self._finish()

    # ---- the end --------------------------------------------------------------------------------

    def _finish(self) -> None:
        app = self.app
        try:
            outcome = app.service.submit_quiz(app.current_learner, self.node_id, self.answers, self.seed)
        except Exception as exc:  # a busy database: the answers stay on screen, enter tries again
            self.notify(f"Could not record the quiz: {exc}", severity="error", markup=False)
            return
        app.invalidate_progress()
        self.query_one("#quiz-answer").remove_children()
        self.query_one("#quiz-prompt", Static).update("[b]Quiz complete[/]")
        self.query_one("#quiz-count", Static).update("")
        self.query_one("#quiz-feedback", Static).update(quiz_outcome_text(app.curriculum, outcome))
        button = self.query_one("#next", Button)
        button.display = False
        self._bindings.bind("enter", "app.pop_screen", "Back to the node")
        self.refresh_bindings()


def quiz_outcome_text(curriculum: Curriculum, outcome: QuizOutcome) -> str:
    """The final score, pass or not, and any nodes the result unlocked."""
    verdict = "[$success]Passed[/]" if outcome.passed else "[$error]Not passed yet[/]"
    text = f"Score [b]{outcome.score:.0%}[/] · {verdict}"
    pass_mark = getattr(outcome, "pass_mark", None)
    if pass_mark is not None:
        text += f" (pass mark {pass_mark:.0%})"
    unlocked = getattr(outcome, "unlocked", None) or []
    if unlocked:
        titles = [curriculum.node(n).title if n in curriculum.nodes else n for n in unlocked]
        text += f"\nUnlocked: [b]{', '.join(titles)}[/]"
    return text + "\n\n[dim]Press escape (or enter) to go back.[/]"
