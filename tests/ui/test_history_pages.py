"""The history screen shows pages sorted by the database (issue 18: it built one table of every
attempt, 3.5-4.4 s at 10,000): a first page, best score first from SQL, paging to the last, marks kept."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from planner.store import iso
from planner.tui.screens.history import PAGE

from .helpers import SIZE

N = 1000
T0 = datetime(2025, 6, 1, tzinfo=UTC)


def seed_attempts(store, learner) -> dict[int, float | None]:
    """N finished attempts, newest with the highest ids; the best score is the OLDEST attempt, so it
    is on the last page by time and only a sort over every row puts it first. Returns id -> score."""
    rows = []
    for i in range(N):
        score = 100.0 if i == 0 else (None if i % 97 == 0 else float((i * 37) % 99))
        rows.append({"learner_id": learner.id, "lab_id": "gd-linear", "node_id": "gradient-descent",
                     "mode": "explore", "test_out": 0, "params": "{}", "seed": i,
                     "status": "interrupted" if score is None else "failed", "score": score, "passed": 0,
                     "metrics": "{}", "feedback": "", "started_at": iso(T0 + timedelta(minutes=i)),
                     "finished_at": iso(T0 + timedelta(minutes=i, seconds=30)), "duration_s": 30.0,
                     "app_version": "t", "dataset_hash": ""})
    with store.transaction():
        store.db["attempts"].insert_all(rows, batch_size=500)
    return {a.id: a.score for a in store.attempts(learner.id)}


def shown_ids(table) -> list[int]:
    return [table.get_row_at(i)[1] for i in range(table.row_count)]


async def test_the_history_shows_a_first_page_sorts_in_sql_and_pages_to_the_last(make, ada, ui_store):
    scores = seed_attempts(ui_store, ada)
    app = make()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("h")
        await pilot.pause()
        table = app.screen.query_one("#attempts")
        assert table.row_count == PAGE and app.screen.total == N
        assert shown_ids(table) == sorted(scores, reverse=True)[:PAGE]  # newest first
        oldest = min(scores)
        assert oldest not in shown_ids(table)

        await pilot.press("space")  # mark the newest, then look for it after sorting and paging
        newest = max(scores)

        await pilot.press("3")  # by score, best first: the oldest attempt, not on the first page by time
        await pilot.pause()
        assert table.row_count == PAGE and shown_ids(table)[0] == oldest
        shown = [scores[i] for i in shown_ids(table)]
        best = sorted((s for s in scores.values() if s is not None), reverse=True)[:PAGE]
        assert shown == best

        for _ in range(N):  # PageDown until every row is loaded and the cursor is on the last (~40 presses)
            if table.row_count == N and table.cursor_row == N - 1:
                break
            await pilot.press("pagedown")
            await pilot.pause()
        ids = shown_ids(table)
        assert len(ids) == N and set(ids) == set(scores)  # every attempt once, none twice
        unscored = sum(s is None for s in scores.values())
        assert unscored and [scores[i] for i in ids][-unscored:] == [None] * unscored  # no score sorts last
        assert table.get_row(str(newest))[0] == "✓"  # the mark survived the sort and the pages
        assert sum(table.get_row_at(i)[0] == "✓" for i in range(N)) == 1
