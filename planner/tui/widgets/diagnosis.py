""""What went wrong?" under a failed run's result (issue 14 §1): the options as buttons, then the answer.

`DiagnosisPanel.show_for(outcome)` asks the question `Service.diagnosis_question` gives for the run (a
failed experiment whose evidence names one of the lab's failure modes) and hides itself for any other
run. The learner picks an option in the list (arrows and enter, or a click), or presses its number 1-4
while the panel has focus (the list takes focus when the question appears; the numbers are the panel's
own bindings, so they never reach the form or the app). The options wrap at any width (80x24 too). The answer is recorded through the service; the panel then shows whether it
was right, the explanation of the right mode and, when another was chosen, that one's explanation, and
posts `DiagnosisPanel.Answered`. An attempt answered before shows its first answer instead of asking.
"""

from __future__ import annotations

from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.markup import escape
from textual.message import Message
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option


class DiagnosisPanel(Vertical, can_focus=False):
    DEFAULT_CSS = """
    DiagnosisPanel { height: auto; margin: 1 0 0 0; }
    DiagnosisPanel #diagnosis-options { height: auto; max-height: 14; }
    DiagnosisPanel #diagnosis-result { height: auto; }
    """
    BINDINGS = [Binding(str(n), f"pick({n - 1})", f"Answer {n}", show=False, id=f"diagnosis.pick-{n}")
                for n in range(1, 5)]

    class Answered(Message):
        """The learner answered: `result` is a `planner.diagnosis.DiagnosisResult`."""

        def __init__(self, result: Any) -> None:
            super().__init__()
            self.result = result

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.question: Any = None
        self.result: Any = None

    def compose(self) -> ComposeResult:
        yield Static(id="diagnosis-question")
        yield OptionList(id="diagnosis-options")
        yield Static(id="diagnosis-result")

    def on_mount(self) -> None:
        self.display = False

    def show_for(self, outcome: Any) -> None:
        """Ask about `outcome` (a LabOutcome), or hide when it has nothing to ask; the same attempt twice
        changes nothing."""
        if outcome is None:
            self._hide()
            return
        if self.question is not None and self.question.attempt_id == outcome.attempt_id:
            return
        question = None
        with self.app.database_errors_shown("prepare the diagnosis question"):
            question = self.app.service.diagnosis_question(outcome)
        if question is None or self.app.learner is None:
            self._hide()
            return
        self.question, self.result = question, None
        self.display = True
        self.query_one("#diagnosis-question", Static).update(
            f"[b]{escape(question.question)}[/] [dim](1-{len(question.options)}, or arrows and enter)[/]")
        earlier = []
        with self.app.database_errors_shown("read your earlier answer"):
            earlier = self.app.service.diagnosis_answers(self.app.learner, question.attempt_id)
        if earlier:
            self._show_result(self._judge(earlier[0]["answer"]))
            return
        options = self.query_one("#diagnosis-options", OptionList)
        options.clear_options()
        options.add_options([Option(f"{i}. {escape(o.label)}", id=o.id) for i, o in enumerate(question.options, 1)])
        options.highlighted = 0
        options.display = True
        self.query_one("#diagnosis-result", Static).update("")
        self.call_after_refresh(options.focus)

    def _judge(self, answer: str) -> Any:
        from labs.catalog import get_lab
        from planner.diagnosis import judge

        return judge(self.question, get_lab(self.question.lab_id).failure_modes, answer)

    def _hide(self) -> None:
        self.question, self.result = None, None
        self.display = False

    @on(OptionList.OptionSelected, "#diagnosis-options")
    def _selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.action_pick(event.option_index)

    def action_pick(self, index: int) -> None:
        if self.question is None or self.result is not None or not 0 <= index < len(self.question.options):
            return
        with self.app.database_errors_shown("record your answer"):
            result = self.app.service.answer_diagnosis(self.app.learner, self.question,
                                                       self.question.options[index].id)
            self._show_result(result)
            self.post_message(self.Answered(result))

    def _show_result(self, result: Any) -> None:
        self.result = result
        options = self.query_one("#diagnosis-options", OptionList)
        options.clear_options()
        options.display = False
        if result.correct:
            text = f"[$success]✔ Right:[/] {escape(result.expected_label)}\n{escape(result.expected_explanation)}"
        else:
            text = (f"[$error]✘ Not this one.[/] It was: [b]{escape(result.expected_label)}[/]\n"
                    f"{escape(result.expected_explanation)}\n\n[dim]Your answer,[/] {escape(result.chosen_label)}: "
                    f"{escape(result.chosen_explanation)}")
        self.query_one("#diagnosis-result", Static).update(text)
