"""benchmarks/bench_nn.py's verdicts and its rewrite of RESULTS.md (issue 18): a ratio is met only on its
median over the rounds, and the rewrite keeps the historical section and every other benchmark's section."""

from __future__ import annotations

import importlib
import os
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


@pytest.fixture(scope="module")
def bench_nn():
    saved = dict(os.environ)  # bench_nn pins thread counts and malloc settings for its children
    sys.path.insert(0, str(BENCHMARKS))
    try:
        yield importlib.import_module("bench_nn")
    finally:
        sys.path.remove(str(BENCHMARKS))
        os.environ.clear()
        os.environ.update(saved)


def test_a_ratio_is_met_only_when_its_median_is_at_or_under_the_target(bench_nn):
    assert bench_nn.verdict([0.5, 0.7, 0.8], 0.6).startswith("MISSED")  # the fastest round alone would pass
    assert bench_nn.verdict([0.55, 0.58, 0.9], 0.6).startswith("met")   # one slow round does not fail it
    assert "some rounds over" in bench_nn.verdict([0.55, 0.58, 0.9], 0.6)
    assert bench_nn.verdict([0.4, 0.5, 0.55], 0.6) == "met"
    assert bench_nn.spread([0.3, 0.1, 0.2], ".1f") == "0.2 (0.1-0.3)"


def test_the_rewrite_keeps_history_and_other_benchmarks_sections(bench_nn, tmp_path, monkeypatch):
    results = tmp_path / "RESULTS.md"
    results.write_text("# old table\n\n<!-- begin early -->\nkept A\n<!-- end early -->\n\n"
                       "## Historical figures: x\n\nold history\n\n<!-- begin late -->\nkept B\n<!-- end late -->\n")
    monkeypatch.setattr(bench_nn, "RESULTS", results)
    new = bench_nn.with_history("# new table\n")
    assert new.startswith("# new table\n") and "# old table" not in new
    for kept in ("<!-- begin early -->\nkept A\n<!-- end early -->", "old history",
                 "<!-- begin late -->\nkept B\n<!-- end late -->"):
        assert kept in new
