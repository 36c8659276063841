"""Reading time on the lesson screen (issue 14 §4), with an injected clock and simulated events: ten
minutes of reading, then its quiz, show up in `pathlab plan --json` and in the report; the terminal
losing focus and another tab stop the clock, and the total is written when it stops (the idle cutoff is
the clock's rule: tests/test_studytime.py)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

from textual import events

from .helpers import SIZE, wait_for

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=timezone.utc)


class FakeClock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


async def _open_lesson(app, pilot, monkeypatch, node_id: str = "large-models"):
    from planner.tui.screens.node import NodeScreen

    clock = FakeClock()
    monkeypatch.setattr(NodeScreen, "clock", staticmethod(clock))
    await pilot.pause()
    screen = NodeScreen(node_id)
    app.push_screen(screen)
    await wait_for(pilot, lambda: app.screen is screen and screen.lesson_clock.running)
    return screen, clock


async def _read(pilot, clock: FakeClock, *gaps: float) -> None:
    """A key after each gap (seconds), as a reader paging through (down, up: the lesson may be too short
    to scroll)."""
    for i, gap in enumerate(gaps):
        clock.advance(gap)
        await pilot.press("down" if i % 2 == 0 else "up")


async def test_ten_minutes_of_reading_and_its_quiz_reach_the_plan_and_the_report(make, ada, ui_store,
                                                                                 monkeypatch, tmp_path):
    from click.testing import CliRunner

    from planner.cli import main

    from .conftest import FIXTURE

    app = make()
    async with app.run_test(size=SIZE) as pilot:
        screen, clock = await _open_lesson(app, pilot, monkeypatch)
        await _read(pilot, clock, 240, 240)  # gaps under the idle cutoff count in full: 480 s
        clock.advance(60)
        app.post_message(events.AppBlur())  # the terminal reports it lost focus: 540 s, written
        await wait_for(pilot, lambda: not screen.lesson_clock.running)
        assert [v["active_s"] for v in ui_store.study_sessions(ada.id)] == [540]
        clock.advance(1800)  # away: nothing accrues
        app.post_message(events.AppFocus())
        await wait_for(pilot, lambda: screen.lesson_clock.running)
        await pilot.press("2")  # the quiz tab is not reading
        assert not screen.lesson_clock.running
        clock.advance(600)
        await pilot.press("1")
        clock.advance(60)
        await pilot.press("s")  # ten minutes in, the quiz covers the lesson: its clock stops there
        await wait_for(pilot, lambda: type(app.screen).__name__ == "QuizScreen" and bool(app.screen.query("#quiz-answer > *")))
        clock.advance(3600)  # however long the quiz takes, it is not reading time
        quiz = app.screen
        options = quiz.query_one("#answer-single")
        right = next(i for i in range(options.option_count)
                     if str(options.get_option_at_index(i).prompt) == "The parameters")
        options.highlighted = right
        await pilot.press("enter", "enter")
        await wait_for(pilot, lambda: bool(quiz.query("#answer-numeric")))
        await pilot.press("8", "enter", "enter")
        await wait_for(pilot, lambda: bool(ui_store.quiz_attempts(ada.id, "large-models")))
    [visit] = ui_store.study_sessions(ada.id, "large-models")  # one visit, its row rewritten
    assert visit["active_s"] == 600
    db = ["--db", str(ui_store.path), "--data", str(FIXTURE)]
    plan = json.loads(CliRunner().invoke(main, [*db, "plan", "--json"], catch_exceptions=False).output)
    node = plan["time_spent"]["nodes"]["large-models"]
    assert node["lesson_s"] == 600 and node["quiz_s"] > 0
    assert node["total_s"] == node["lesson_s"] + node["quiz_s"]
    report = json.loads(CliRunner().invoke(main, [*db, "report", "--format", "json"], catch_exceptions=False).output)
    [row] = [n for t in report["tracks"] for n in t["nodes"] if n["id"] == "large-models"]
    assert row["time_by_kind"]["lesson"] == 600 and row["time_spent_s"] == node["total_s"]
    markdown = CliRunner().invoke(main, [*db, "report"], catch_exceptions=False).output
    assert "10 min" in markdown
