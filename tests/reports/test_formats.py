"""Each format from one hand-built ReportData: escaping, structure, size, schema."""

from __future__ import annotations

import csv
import io
import json
import re

import jsonschema
import numpy as np
import pytest

from planner.reports import render
from planner.reports.jsonreport import SCHEMA_PATH, schema_text
from planner.reports.svg import downsample

from .factory import report_data

EVIL = "<script>alert(1)</script>"


def test_html_shows_a_hostile_name_and_params_as_text():
    html = render(report_data(name=EVIL, note=EVIL), "html")
    assert "<script" not in html.lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&quot;&lt;script&gt;" in html  # the param value, JSON-quoted then escaped


def test_html_is_self_contained_and_printable():
    html = render(report_data(), "html")
    assert not re.search(r"\b(src|href)\s*=|@import|url\((?!#)|https?://(?!www\.w3\.org/2000/svg)", html)
    assert "@media print" in html and "break-inside: avoid" in html
    assert html.count('<svg class="chart"') == 2  # one loss chart per best attempt
    assert html.count('class="node"') == len(report_data().nodes())  # the skill map draws every node
    assert html.count('class="edge"') + html.count('class="edge role-edge"') == sum(
        len(n.prerequisites) for n in report_data().nodes())


def test_long_series_are_downsampled_in_the_html():
    html = render(report_data(n_points=100_000), "html")
    polylines = re.findall(r'<polyline points="([^"]+)"', html)
    assert polylines and all(len(p.split()) <= 400 for p in polylines)
    assert len(html) < 150_000


def test_downsample_keeps_extremes_in_step_order():
    rng = np.random.default_rng(0)
    values = rng.normal(size=50_000)
    values[31_337], values[4_242] = 40.0, -40.0
    values[7] = np.nan
    steps = np.arange(50_000) * 10
    s, v = downsample(steps, values, max_points=400)
    assert len(v) <= 400 and np.all(np.diff(s) > 0)
    assert v.max() == 40.0 and v.min() == -40.0 and np.isfinite(v).all()
    short_s, short_v = downsample(steps[:100], values[8:108])
    assert len(short_v) == 100  # short series are left alone


def test_markdown_has_a_checklist_and_tables_a_name_cannot_break():
    md = render(report_data(name="Ada | <b>*bold*</b>"), "md")
    assert md.startswith("# Ada \\| \\<b\\>\\*bold\\*\\</b\\> · PathLab progress")
    assert "- [x] What AI large models are — completed" in md
    assert "- [ ] Backpropagation and gradient checking — available" in md
    header = next(line for line in md.splitlines() if line.startswith("| Node | State"))
    rows = [line for line in md.splitlines() if line.startswith("| ") and "| proficient |" in line]
    assert rows and all(line.count(" | ") == header.count(" | ") for line in rows)
    assert "`lr=0.1`" in md and "(300 points)" in md


def test_csv_has_one_row_per_check_and_defuses_formulas():
    data = report_data(name="=HYPERLINK(\"x\")")
    rows = list(csv.DictReader(io.StringIO(render(data, "csv"))))
    assert len(rows) == sum(len(a.checks) for a in data.attempts)
    assert list(rows[0]) == ["learner", "node", "lab", "attempt", "timestamp", "check", "points", "max_points",
                             "status"]
    assert all(r["learner"] == "'=HYPERLINK(\"x\")" for r in rows)
    first = data.attempts[0]
    assert rows[0]["attempt"] == str(first.id) and float(rows[0]["points"]) == first.checks[0].points


def test_json_validates_against_the_committed_schema():
    schema = json.loads(SCHEMA_PATH.read_text())
    document = json.loads(render(report_data(name=EVIL), "json"))
    jsonschema.validate(document, schema)
    assert document["schema_version"] == 1 and document["learner"]["name"] == EVIL
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**document, "overall": {"total": "many"}}, schema)


def test_committed_schema_matches_the_models():
    assert SCHEMA_PATH.read_text() == schema_text(), "run: python -m planner.reports.jsonreport"


def test_unknown_format_names_the_choices():
    from planner.reports import ReportError

    with pytest.raises(ReportError, match="'pdf'.*md, html, json, csv"):
        render(report_data(), "pdf")


def test_a_loss_spanning_orders_of_magnitude_is_drawn_on_a_log_axis():
    from planner.reports.models import Series
    from planner.reports.svg import line_chart

    steps = list(range(200))
    falling = Series(name="train_loss", steps=steps, values=[10.0 * 0.97**s for s in steps])
    flat = Series(name="val_accuracy", steps=steps, values=[0.5 + s / 1000 for s in steps])
    assert "log scale" in line_chart([falling], "loss") and "log scale" not in line_chart([flat], "accuracy")
    ys = [float(p.split(",")[1]) for p in re.search(r'points="([^"]+)"', line_chart([falling], "l")).group(1).split()]
    gaps = np.diff(ys)
    assert np.allclose(gaps, gaps[0], atol=0.15)  # a geometric decay is a straight line on a log axis
