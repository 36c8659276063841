"""History: every lab attempt of the learner in a sortable table. Enter opens one (curves and grades);
space marks attempts and `c` compares the two marked (overlaid curves, hyperparameter diff). An attempt
without a score (still running, interrupted) shows none, and sorts below every scored one.

The table holds pages of `PAGE` rows, sorted by the database (`Service.attempts(order=...)`): reaching
the last loaded row (down, PageDown, End) fetches the next page, and sorting reloads from the first. A
learner with 100,000 attempts opens the screen as fast as one with 200 (issue 18: it built one table of
every row, 3.5-4.4 s at 10,000). Marks are attempt ids, so they survive paging and sorting.
"""

from __future__ import annotations

from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Footer, Header, Static
from textual.widgets.data_table import RowKey

from planner.records import Attempt
from planner.tui.screens.base import PathLabScreen

COLUMNS = ("", "#", "Lab", "Score", "Status", "When", "Params")
SORT_KEYS = {"1": "Lab", "2": "When", "3": "Score", "4": "Status", "5": "#"}
NO_SCORE = "—"
PAGE = 200
"""Rows fetched at a time."""


def params_text(params: dict[str, Any], limit: int = 40) -> str:
    text = " ".join(f"{k}={v}" for k, v in sorted(params.items()))
    return text if len(text) <= limit else text[: limit - 1] + "…"


def score_cell(attempt: Attempt) -> float | str:
    """The score to one decimal, or a dash: a running or interrupted attempt has no score yet."""
    return NO_SCORE if attempt.score is None or attempt.status == "running" else round(attempt.score, 1)


def score_order(cell: Any) -> float:
    """Sort key of a score cell: no score sorts below every score."""
    return cell if isinstance(cell, (int, float)) else float("-inf")


def row_id(row_key: RowKey) -> int:
    """The attempt id a row was added under (every row's key is its attempt's id)."""
    assert row_key.value is not None
    return int(row_key.value)


class HistoryScreen(PathLabScreen[None]):
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back", id="history.back"),
        Binding("space", "mark", "Mark", id="history.mark"),
        Binding("c", "compare", "Compare 2", id="history.compare"),
        *[Binding(key, f"sort('{column}')", f"Sort {column}", show=False, id=f"history.sort-{column}")
          for key, column in SORT_KEYS.items()],
    ]

    def __init__(self) -> None:
        super().__init__()
        self.marked: list[int] = []
        self._sort: tuple[str, bool] = ("When", True)
        self.total = 0  # the learner's attempts, of which the table holds the first `row_count`

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
        with self.app.database_errors_shown("read the history"):
            self.refresh_data()
        table.focus()

    def refresh_data(self) -> None:
        """Reload as many rows as are shown (at least a page), in the current order."""
        table = self.query_one(DataTable)
        attempts = self._page(0, max(PAGE, table.row_count))  # before clearing what is shown
        self.total = self.app.service.attempt_count(self.app.current_learner)
        cursor = table.cursor_row
        table.clear()
        self._add_rows(attempts)
        if table.row_count:
            table.move_cursor(row=min(cursor, table.row_count - 1))
        if table.row_count == 0:
            self.query_one("#history-help", Static).update("No lab attempts yet: open a node (m) and run its lab.")

    def _page(self, offset: int, limit: int = PAGE) -> list[Attempt]:
        column, descending = self._sort
        return self.app.service.attempts(self.app.current_learner, order=column, descending=descending,
                                         limit=limit, offset=offset)

    def _add_rows(self, attempts: list[Attempt]) -> None:
        table = self.query_one(DataTable)
        for attempt in attempts:
            table.add_row(
                "✓" if attempt.id in self.marked else " ", attempt.id, attempt.lab_id,
                score_cell(attempt), attempt.status,
                attempt.started_at.astimezone().strftime("%m-%d %H:%M"), params_text(attempt.params),
                key=str(attempt.id),
            )
        if table.row_count < self.total:
            table.border_subtitle = f"{table.row_count:,} of {self.total:,} (the last row fetches more)"
        else:
            table.border_subtitle = ""

    def load_more(self) -> bool:
        """Append the next page; False when every attempt is shown already."""
        table = self.query_one(DataTable)
        if table.row_count >= self.total:
            return False
        shown = {row_id(key) for key in table.rows}
        with self.app.database_errors_shown("read the history"):  # a row added since: never twice
            self._add_rows([a for a in self._page(table.row_count) if a.id not in shown])
        return True

    @on(DataTable.RowHighlighted)
    def _near_the_end(self, event: DataTable.RowHighlighted) -> None:
        if event.cursor_row >= event.data_table.row_count - 1:
            self.load_more()

    def action_sort(self, column: str) -> None:
        previous, reverse = self._sort
        self._sort = (column, not reverse if previous == column else column in ("When", "Score", "#"))
        table = self.query_one(DataTable)
        with self.app.database_errors_shown("sort the history"):
            attempts = self._page(0)
            table.clear()
            self._add_rows(attempts)

    @on(DataTable.HeaderSelected)
    def _header(self, event: DataTable.HeaderSelected) -> None:
        if event.column_key.value:
            self.action_sort(str(event.column_key.value))

    def _current_id(self) -> int | None:
        table = self.query_one(DataTable)
        if table.row_count == 0:
            return None
        row_key, _ = table.coordinate_to_cell_key(table.cursor_coordinate)
        return row_id(row_key)

    def action_mark(self) -> None:
        attempt_id = self._current_id()
        if attempt_id is None:
            return
        before = set(self.marked)
        if attempt_id in self.marked:
            self.marked.remove(attempt_id)
        else:
            self.marked = (self.marked + [attempt_id])[-2:]
        table = self.query_one(DataTable)
        for changed in before ^ set(self.marked):  # only the rows whose mark changed, if loaded
            if str(changed) in table.rows:
                table.update_cell(str(changed), "", "✓" if changed in self.marked else " ")

    @on(DataTable.RowSelected)
    def _open(self, event: DataTable.RowSelected) -> None:
        from planner.tui.screens.attempt import AttemptScreen

        self.app.push_screen(AttemptScreen(row_id(event.row_key)))

    def action_compare(self) -> None:
        if len(self.marked) != 2:
            self.notify("Mark two attempts with space first.", severity="warning")
            return
        labs: list[str] = []
        with self.app.database_errors_shown("read the marked attempts"):
            labs = [self.app.service.attempt(attempt_id).lab_id for attempt_id in self.marked]
        if not labs:
            return
        if labs[0] != labs[1]:  # different labs share no curves or hyperparameters worth overlaying
            self.notify(f"Compare two attempts of the same lab: #{self.marked[0]} is {labs[0]}, "
                        f"#{self.marked[1]} is {labs[1]}.", severity="warning", timeout=6)
            return
        from planner.tui.screens.compare import CompareScreen

        self.app.push_screen(CompareScreen(*self.marked))
