"""Progress reports for one learner in four formats, and the safe way to write them.

    text = render_report(store, curriculum, "Ada", "html", since=date(2026, 1, 1), node_id=None)
    write_atomic("ada.html", text)

`build_report_data` (data.py) reads the store once into a `ReportData` (models.py); each format is a
pure function of it: markdown.py, html.py (+ svg.py), jsonreport.py (+ report.schema.json), csvreport.py.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from planner.reports.csvreport import render_csv
from planner.reports.data import build_report_data
from planner.reports.errors import ReportError
from planner.reports.html import render_html
from planner.reports.jsonreport import render_json
from planner.reports.markdown import render_markdown
from planner.reports.models import ReportData
from planner.reports.output import write_atomic

if TYPE_CHECKING:
    from planner.curriculum import Curriculum
    from planner.records import Learner
    from planner.store import Store

Format = Literal["md", "html", "json", "csv"]
RENDERERS = {"md": render_markdown, "html": render_html, "json": render_json, "csv": render_csv}
FORMATS: tuple[str, ...] = tuple(RENDERERS)


def render(data: ReportData, fmt: Format) -> str:
    """One format of an already-gathered report."""
    try:
        renderer = RENDERERS[fmt]
    except KeyError:
        raise ReportError(f"unknown report format {fmt!r}; use one of: {', '.join(FORMATS)}") from None
    return renderer(data)


def render_report(store: Store, curriculum: Curriculum, learner: Learner | str, fmt: Format,
                  **filters: Any) -> str:
    """Gather one learner's report (filters: since, node_id, today, with_code) and render it as `fmt`."""
    if fmt not in RENDERERS:
        raise ReportError(f"unknown report format {fmt!r}; use one of: {', '.join(FORMATS)}")
    return render(build_report_data(store, curriculum, learner, **filters), fmt)


__all__ = ["FORMATS", "build_report_data", "ReportData", "ReportError", "render", "render_report", "write_atomic"]
