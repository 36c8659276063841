"""The pure pieces the screens draw from: run state, durations, legends, diffs, paths, hours."""

from __future__ import annotations

from pathlib import Path

import pytest

from labs.events import Progress, Sample, Started
from planner.tui.live_run import LiveRun
from planner.tui.screens.compare import params_diff
from planner.tui.screens.export import default_path
from planner.tui.screens.quiz import parse_number
from planner.tui.screens.welcome import parse_hours
from planner.tui.symbols import STATE_SYMBOL, format_duration, legend_markup, mastery_bar
from planner.tui.widgets.metric_chart import padded


def test_live_run_folds_events_into_series_and_eta():
    run = LiveRun(lab_id="gd-linear")
    run.apply(Started(lab_id="gd-linear", total_steps=100))
    run.apply(Progress(step=25, metrics={"train_loss": 2.0}, elapsed_s=1.0))
    run.apply(Progress(step=50, metrics={"train_loss": 1.0, "val_accuracy": 0.5}, elapsed_s=2.0))
    run.apply(Sample(step=50, text="to be"))
    assert run.series == {"train_loss": [(25, 2.0), (50, 1.0)], "val_accuracy": [(50, 0.5)]}
    assert run.fraction == 0.5 and run.eta_s == pytest.approx(2.0)
    assert run.samples == [(50, "to be")] and run.running


def test_live_run_counts_epochs_when_the_lab_does():
    run = LiveRun(lab_id="ffnn-digits")
    run.apply(Started(lab_id="ffnn-digits", total_steps=10, unit="epoch"))
    run.apply(Progress(step=400, epoch=3, metrics={"train_loss": 0.5}, elapsed_s=3.0))
    assert run.fraction == pytest.approx(0.3) and run.eta_s == pytest.approx(7.0)


def test_eta_is_unknown_before_any_progress():
    assert LiveRun(lab_id="x").eta_s is None and format_duration(None) == "—"


@pytest.mark.parametrize("seconds, text", [(4.24, "4.2s"), (42, "42s"), (185, "3m05s"), (3720, "1h02m")])
def test_format_duration(seconds, text):
    assert format_duration(seconds) == text


def test_legend_names_every_state_with_its_symbol_and_mastery_pips_grow():
    legend = legend_markup()
    assert all(symbol in legend for symbol in STATE_SYMBOL.values())
    assert [mastery_bar(m).count("▰") for m in ("none", "familiar", "mastered")] == [0, 2, 4]


def test_params_diff_lists_only_what_differs():
    assert params_diff({"lr": 0.1, "steps": 300}, {"lr": 0.5, "steps": 300, "hidden": 8}) == [
        ("hidden", None, 8), ("lr", 0.1, 0.5)]


def test_default_export_path_is_a_safe_file_name(tmp_path: Path):
    assert default_path("Ada Lovelace / 2", "html", tmp_path) == tmp_path / "pathlab-ada-lovelace-2.html"


@pytest.mark.parametrize("text, message", [("abc", "must be a number"), ("0", "between"), ("200", "between")])
def test_bad_hours_are_explained(text, message):
    with pytest.raises(ValueError, match=message):
        parse_hours(text)


def test_flat_chart_ranges_get_room_and_real_ranges_are_kept():
    low, high = padded((0.5, 0.5))
    assert low < 0.5 < high
    assert padded((0.0, 2.0)) == (0.0, 2.0) and padded(None) == (None, None)


def test_a_numeric_choice_goes_to_the_lab_as_its_literal_member():
    from labs.catalog import get_lab
    from planner.tui.widgets.params_form import choice_value

    cnn = get_lab("cnn-digits")
    value = choice_value(cnn, "kernel_size", "3")
    assert value == 3 and cnn.validate_params({"kernel_size": value}).kernel_size == 3
    assert choice_value(get_lab("ffnn-digits"), "activation", "relu") == "relu"


def test_printed_output_keeps_the_last_lines_and_says_how_many_were_cut():
    from planner.tui.screens.implement import OUTPUT_LINES, printed_markup

    assert printed_markup("  \n") == ""
    text = printed_markup("\n".join(f"line {i}" for i in range(OUTPUT_LINES + 5)))
    assert f"line {OUTPUT_LINES + 4}" in text and "line 4\n" not in text and f"of {OUTPUT_LINES + 5} lines" in text


@pytest.mark.parametrize("text, value", [("1168", 1168.0), (" 1,168 ", 1168.0), ("100,480", 100480.0),
                                         ("1,000,000.5", 1000000.5), ("0.8", 0.8), ("1.2e18", 1.2e18)])
def test_a_numeric_quiz_answer_reads_thousands_separators(text, value):
    assert parse_number(text) == value


@pytest.mark.parametrize("text", ["0,8", "2,6", "12,34", "1,0000", "abc", ""])
def test_a_decimal_comma_is_refused_not_read_as_a_bigger_number(text):
    # "0,8" used to become 8.0 (the comma dropped): a right answer in a decimal-comma locale graded wrong.
    with pytest.raises(ValueError, match="number"):
        parse_number(text)


def _paced(steps_done: int, elapsed_s: float, total: int = 200, limit: float | None = 60.0) -> LiveRun:
    run = LiveRun(lab_id="gd-linear", time_limit_s=limit, deadline_s=None if limit is None else limit - 6.0)
    run.apply(Started(lab_id="gd-linear", total_steps=total))
    run.apply(Progress(step=steps_done, metrics={"train_loss": 1.0}, elapsed_s=elapsed_s))
    return run


def test_a_run_that_cannot_finish_before_its_deadline_names_the_step_it_will_stop_at():
    run = _paced(50, 20.0)  # 2.5 steps/s; the worker stops at 54 s: 135 of 200 steps
    assert run.projected_stop() == 135
    assert run.limit_warning() == ("At this pace the run will stop at the 60 s limit at about step 135/200; "
                                   "what it trained by then is graded.")


def test_a_run_on_pace_or_without_a_pace_yet_gets_no_warning():
    assert _paced(100, 20.0).limit_warning() is None  # 40 s for all 200: inside 54 s
    assert _paced(1, 0.5).limit_warning() is None  # half a second in: the start-up still skews the pace
    assert _paced(50, 20.0, limit=None).limit_warning() is None  # no limit known
    assert LiveRun(lab_id="x", time_limit_s=60.0).limit_warning() is None  # no progress yet
    finished = _paced(50, 20.0)
    finished.error = "it ended"
    assert finished.limit_warning() is None


def test_the_warning_counts_epochs_for_labs_that_count_epochs():
    run = LiveRun(lab_id="ffnn-digits", time_limit_s=100.0, deadline_s=90.0)
    run.apply(Started(lab_id="ffnn-digits", total_steps=10, unit="epoch"))
    run.apply(Progress(step=400, epoch=2, metrics={"train_loss": 0.5}, elapsed_s=30.0))
    assert run.position_text() == "epoch 2/10"
    assert run.projected_stop() == 6 and "about epoch 6/10" in (run.limit_warning() or "")


def test_the_stop_is_never_projected_past_the_last_step_nor_before_the_current_one():
    assert _paced(199, 54.5).projected_stop() == 199  # just over: it stops at most one short of the end
    assert _paced(10, 100.0, limit=60.0).projected_stop() == 10  # already past the deadline


def test_history_shows_no_score_for_a_running_attempt_and_sorts_it_below_every_score():
    from datetime import datetime, timezone

    from planner.records import Attempt
    from planner.tui.screens.history import NO_SCORE, score_cell, score_order

    def attempt(status: str, score: float | None) -> Attempt:
        return Attempt(id=1, learner_id=1, lab_id="gd-linear", node_id="gradient-descent", mode="explore",
                       status=status, score=score, passed=False, params={}, seed=0,
                       started_at=datetime.now(timezone.utc))

    assert score_cell(attempt("running", None)) == NO_SCORE
    assert score_cell(attempt("interrupted", None)) == NO_SCORE
    assert score_cell(attempt("failed", 12.34)) == 12.3
    assert sorted([NO_SCORE, 0.0, 50.0], key=score_order) == [NO_SCORE, 0.0, 50.0]
