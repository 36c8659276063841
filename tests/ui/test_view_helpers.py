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
