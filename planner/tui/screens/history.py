"""History: every lab attempt of the learner in a sortable table. Enter opens one (curves and grades);
space marks attempts and `c` compares the two marked (overlaid curves, hyperparameter diff).
"""

from __future__ import annotations

from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Static

COLUMNS = ("", "#", "Lab", "Score", "Status", "When", "Params")
SORT_KEYS = {"1": "Lab", "2": "When", "3": "Score", "4": "Status", "5": "#"}


def params_text(params: dict[str, Any], limit: int = 40) -> str:
    text = " ".join(f"{k}={v}" for k, v in sorted(params.items()))
    return text if len(text) <= limit else text[: limit - 1] + "…"


class HistoryScreen(Screen[None]):
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("space", "mark", "Mark"),
        Binding("c", "compare", "Compare 2"),
        *[Binding(key, f"sort('{column}')", f"Sort {column}", show=False) for key, column in SORT_KEYS.items()],
    ]

    def __init__(self) -> None:
        super().__init__()
        self.marked: list[int] = []
        self._sort: tuple[str, bool] = ("When", True)

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("[dim]enter opens · space marks two of one lab to compare (c) · 1-5 or click a heading to sort[/]",
                     id="history-help")
        yield DataTable(id="attempts", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        for column in COLUMNS:
            table.add_column(column, key=column)
        self.refresh_data()
        table.focus()

    def refresh_data(self) -> None:
        app: Any = self.app
        table = self.query_one(DataTable)
        table.clear()
        for attempt in app.store.attempts(app.learner.id):
            table.add_row(
                "✓" if attempt.id in self.marked else " ", attempt.id, attempt.lab_id,
                -1.0 if attempt.score is None else round(attempt.score, 1), attempt.status,
                attempt.started_at.astimezone().strftime("%m-%d %H:%M"), params_text(attempt.params),
                key=str(attempt.id),
            )
        self._apply_sort()
        if table.row_count == 0:
            self.query_one("#history-help", Static).update("No lab attempts yet: open a node (m) and run its lab.")

    def _apply_sort(self) -> None:
        column, reverse = self._sort
        self.query_one(DataTable).sort(column, reverse=reverse)

    def action_sort(self, column: str) -> None:
        previous, reverse = self._sort
        self._sort = (column, not reverse if previous == column else column in ("When", "Score", "#"))
        self._apply_sort()

    @on(DataTable.HeaderSelected)
    def _header(self, event: DataTable.HeaderSelected) -> None:
        if event.column_key.value:
            self.action_sort(str(event.column_key.value))

    def _current_id(self) -> int | None:
        table = self.query_one(DataTable)
        if table.row_count == 0:
            return None
        row_key, _ = table.coordinate_to_cell_key(table.cursor_coordinate)
        return int(row_key.value)

    def action_mark(self) -> None:
        attempt_id = self._current_id()
        if attempt_id is None:
            return
        if attempt_id in self.marked:
            self.marked.remove(attempt_id)
        else:
            self.marked = (self.marked + [attempt_id])[-2:]
        table = self.query_one(DataTable)
        for row_key in table.rows:
            table.update_cell(row_key, "", "✓" if int(row_key.value) in self.marked else " ")

    @on(DataTable.RowSelected)
    def _open(self, event: DataTable.RowSelected) -> None:
        from planner.tui.screens.attempt import AttemptScreen

        self.app.push_screen(AttemptScreen(int(event.row_key.value)))

    def action_compare(self) -> None:
        if len(self.marked) != 2:
            self.notify("Mark two attempts with space first.", severity="warning")
            return
        store = self.app.store  # type: ignore[attr-defined]
        labs = [store.attempt(attempt_id).lab_id for attempt_id in self.marked]
        if labs[0] != labs[1]:  # different labs share no curves or hyperparameters worth overlaying
            self.notify(f"Compare two attempts of the same lab: #{self.marked[0]} is {labs[0]}, "
                        f"#{self.marked[1]} is {labs[1]}.", severity="warning", timeout=6)
            return
        from planner.tui.screens.compare import CompareScreen

        self.app.push_screen(CompareScreen(*self.marked))
