"""A review of a completed node (issue 14 §7): the quiz screen, asking the review's short draw.

`ReviewScreen(node_id)` is `QuizScreen` with two changes: its questions are `Service.review_draw` (three
of the node's pool, seeded), and the end records the set through `Service.submit_review`, which grades
it, turns the score into an FSRS grade and schedules the node's next review. The end screen shows the
score, the grade, a lapse's effect on mastery, the next due date and each missed question.
"""

from __future__ import annotations

from textual.markup import escape

from planner.curriculum import Quiz
from planner.tui.screens.quiz import QuizScreen


class ReviewScreen(QuizScreen):
    @property
    def quiz(self) -> Quiz:
        if self._drawn is None:
            self._drawn = self.app.service.review_draw(self.node_id, self.seed)
        return self._drawn

    async def on_mount(self) -> None:
        await super().on_mount()
        node = self.app.curriculum.node(self.node_id)
        self.query_one("#quiz-body").border_title = f"Review · {node.title}"

    def _finish(self) -> None:
        app = self.app
        try:
            outcome = app.service.submit_review(app.current_learner, self.node_id, self.answers, self.seed,
                                                started_at=self.started_at)
        except Exception as exc:  # a busy database: the answers stay on screen, enter tries again
            self.notify(f"Could not record the review: {exc}", severity="error", markup=False)
            return
        self._show_end("Review complete", review_outcome_text(outcome), "Back")


def review_outcome_text(outcome) -> str:
    """Score, FSRS grade, mastery change on a lapse, the next due date, the missed questions."""
    colour = "$error" if outcome.rating == 1 else "$success"
    text = (f"Score [b]{outcome.score:.0%}[/] [dim]({outcome.points:g} of {outcome.max_points:g} points)[/] · "
            f"graded [{colour}][b]{outcome.rating_name}[/][/]")
    if outcome.mastery_after != outcome.mastery_before:
        text += f"\nMastery {outcome.mastery_before} → [b]{outcome.mastery_after}[/] (the node stays completed)"
    text += f"\nNext review: [b]{outcome.due_after:%d %b %Y}[/]"
    for number, missed in enumerate(outcome.missed, 1):
        if number == 1:
            text += f"\n\n[b]Missed ({len(outcome.missed)})[/]"
        text += f"\n{number}. {escape(missed.prompt)}\n   Right answer: [b]{escape(missed.right_answer_text)}[/]"
    return text + "\n\n[dim]Press escape (or enter) to go back.[/]"
