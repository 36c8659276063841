"""One real lab run (gd-linear, a few steps) recorded by the service and reported in every format."""

from __future__ import annotations

import csv
import io
import json
import re
from html import escape

import jsonschema

from planner.reports import render_report
from planner.reports.jsonreport import SCHEMA_PATH
from planner.service import Service


def test_a_real_gd_linear_run_reaches_every_format(store, full_graph):
    ada = store.add_learner("Ada", target_role="data-scientist", hours_per_week=3)
    outcome = Service(store, full_graph).start_lab(ada, "gd-linear", {"lr": 0.05, "steps": 60}, seed=0,
                                                 practice=True).wait()
    attempt = store.attempts(ada.id)[0]
    checks = store.attempt_checks(attempt.id)
    series = store.metric_series(attempt.id)
    assert checks and series, outcome

    doc = json.loads(render_report(store, full_graph, ada, "json"))
    jsonschema.validate(doc, json.loads(SCHEMA_PATH.read_text()))
    gd = next(n for t in doc["tracks"] for n in t["nodes"] if n["id"] == "gradient-descent")
    assert gd["best_attempt"]["score"] == attempt.score and gd["best_attempt"]["params"]["steps"] == 60
    assert {s["name"] for s in gd["best_attempt"]["series"]} == set(series)

    html = render_report(store, full_graph, ada, "html")
    assert len(re.findall(r"<polyline ", html)) == len(series)
    assert all(escape(c.title) in html for c in checks)

    rows = list(csv.DictReader(io.StringIO(render_report(store, full_graph, ada, "csv"))))
    assert [r["check"] for r in rows] == [c.id for c in checks]

    md = render_report(store, full_graph, ada, "md")
    assert "`gd-linear`" in md and f"score **{attempt.score:.1f}**" in md
