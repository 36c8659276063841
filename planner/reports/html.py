"""The HTML report: one self-contained page (inline CSS and SVG, no script, no network) that prints cleanly.

Every piece of text that came from a user or a run (names, params, check messages) goes through `_e`
(html.escape), so a learner called `<script>` reads as text. The print stylesheet keeps sections and
figures from splitting across pages, which is what makes the browser's "Save as PDF" presentable.
"""

from __future__ import annotations

import json
from html import escape

from labs.catalog._fit import ScalingPicture
from planner.reports import svg
from planner.reports.format import duration, help_text, how_completed, percent, score, state_label
from planner.reports.models import BestAttempt, NodeReport, Overall, Plan, ReportAttempt, ReportData

CSS = """
:root { --ink: #1f2328; --muted: #656d76; --line: #d0d7de; --accent: #2f6db5; }
* { box-sizing: border-box; }
body { font: 14px/1.45 -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; color: var(--ink);
       max-width: 60rem; margin: 2rem auto; padding: 0 1rem; }
h1 { font-size: 1.7rem; margin: 0 0 .2rem; }
h2 { font-size: 1.25rem; border-bottom: 1px solid var(--line); padding-bottom: .2rem; margin-top: 2rem; }
h3 { font-size: 1.05rem; margin: 1.2rem 0 .4rem; }
.muted { color: var(--muted); }
table { border-collapse: collapse; width: 100%; margin: .5rem 0 1rem; }
th, td { border: 1px solid var(--line); padding: .25rem .5rem; text-align: left; vertical-align: top; }
th { background: #f6f8fa; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.cards { display: flex; gap: .8rem; flex-wrap: wrap; }
.card { border: 1px solid var(--line); border-radius: 6px; padding: .5rem .8rem; min-width: 9rem; }
.card b { display: block; font-size: 1.4rem; }
.bar { display: flex; height: 14px; border-radius: 7px; overflow: hidden; border: 1px solid var(--line);
       margin: .6rem 0; }
.bar span { display: block; height: 100%; }
.key { margin-right: 1rem; white-space: nowrap; }
.swatch { display: inline-block; width: .8em; height: .8em; border-radius: 2px; margin-right: .3em; }
.completed { background: #2e7d32; } .in_progress { background: #e0a526; }
.available { background: #6d9eeb; } .locked { background: #cfcfcf; }
.state { font-size: .85em; padding: 0 .4em; border-radius: 4px; white-space: nowrap; }
.state.completed, .state.in_progress, .state.available { color: #fff; } .state.locked { color: #333; }
.lab { border: 1px solid var(--line); border-radius: 6px; padding: .4rem .8rem .8rem; margin: .8rem 0; }
.charts { display: flex; gap: .5rem; flex-wrap: wrap; }
svg text { font-family: inherit; }
.chart .plot { fill: #fbfbfb; stroke: #d0d7de; }
.chart .chart-title { font-size: 12px; font-weight: 600; fill: #1f2328; }
.chart .tick { font-size: 10px; fill: #656d76; }
.chart .legend { font-size: 10px; font-weight: 600; }
.skill-map { max-width: 100%; height: auto; }
.skill-map .edge { stroke: #8a8a8a; stroke-width: 1.2; }
.skill-map .role-edge { stroke: #b9b9b9; stroke-dasharray: 4 3; }
.skill-map .node-title { font-size: 12px; fill: #1f2328; }
.skill-map .node-state { font-size: 10px; }
code { background: #f6f8fa; padding: 0 .25em; border-radius: 3px; font-size: .92em; }
pre.code { background: #f6f8fa; padding: .5rem; overflow-x: auto; white-space: pre-wrap; }
pre.code code { padding: 0; }
@page { margin: 14mm; }
@media print {
  body { margin: 0; max-width: none; font-size: 11pt; }
  h2 { break-after: avoid; }
  section, figure, .lab, table, .card { break-inside: avoid; }
  .bar span, .swatch, .state, th { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
}
"""


def _e(value: object) -> str:
    return escape(str(value))


def _table(head: list[str], rows: list[list[str]], numeric: set[int] = frozenset()) -> str:
    """A table whose cells are already-escaped HTML; `numeric` columns align right."""
    th = "".join(f"<th>{h}</th>" for h in head)
    body = "".join(
        "<tr>" + "".join(f'<td class="num">{c}</td>' if i in numeric else f"<td>{c}</td>" for i, c in enumerate(r))
        + "</tr>"
        for r in rows
    )
    return f"<table><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>"


def _state(state: str, test_out: bool = False) -> str:
    mark = " (test-out)" if test_out and state == "completed" else ""
    return f'<span class="state {_e(state)}">{_e(state_label(state) + mark)}</span>'


def _header(data: ReportData) -> str:
    learner = data.learner
    bits = [f"Report of {data.generated_on.isoformat()}"]
    if data.filters.since:
        bits.append(f"activity since {data.filters.since.isoformat()}")
    if data.filters.node_id:
        bits.append(f"node {_e(data.filters.node_id)}")
    return f"<header><h1>{_e(learner.name)} · PathLab progress</h1><p class=\"muted\">{' · '.join(bits)}</p></header>"


def _overall(overall: Overall, plan: Plan | None) -> str:
    cards = [("Completed", f"{overall.completed} / {overall.total}"), ("In progress", overall.in_progress),
             ("Available", overall.available), ("Locked", overall.locked),
             ("Time spent", duration(overall.time_spent_s))]
    if plan:
        cards.insert(0, ("Readiness", percent(plan.readiness)))
    html = "".join(f'<div class="card"><span class="muted">{k}</span><b>{_e(v)}</b></div>' for k, v in cards)
    total = overall.total or 1
    segments = "".join(
        f'<span class="{state}" style="width:{100 * count / total:.2f}%" title="{state_label(state)}: {count}"></span>'
        for state, count in [("completed", overall.completed), ("in_progress", overall.in_progress),
                             ("available", overall.available), ("locked", overall.locked)] if count
    )
    legend = " ".join(f'<span class="key"><span class="swatch {state}"></span>{state_label(state)}</span>'
                      for state in ("completed", "in_progress", "available", "locked"))
    return (f'<section><h2>Overall</h2><div class="cards">{html}</div><div class="bar">{segments}</div>'
            f'<p class="muted">{legend}</p></section>')


def _plan(plan: Plan | None) -> str:
    if plan is None:
        return '<section><h2>Target role</h2><p class="muted">No target role set.</p></section>'
    when = plan.projected_finish.isoformat() if plan.projected_finish else "set weekly hours to project a date"
    intro = (f"<p><b>{_e(plan.role_title)}</b>: {percent(plan.readiness)} ready, "
             f"{plan.remaining_hours:g} h of study left, projected finish <b>{_e(when)}</b>.</p>")
    if not plan.steps:
        return f"<section><h2>Target role</h2>{intro}<p>Every required node is complete.</p></section>"
    rows = [[str(i), _e(s.title), _state(s.state), f"{s.hours:g}"] for i, s in enumerate(plan.steps, 1)]
    return f"<section><h2>Target role</h2>{intro}{_table(['#', 'Next', 'State', 'Hours'], rows, {0, 3})}</section>"


def _tracks(data: ReportData) -> str:
    out = ["<section><h2>Skill map</h2><figure>", svg.skill_map(data.nodes()), "</figure></section>"]
    for track in data.tracks:
        rows = [[_e(n.title), _state(n.state, n.test_out), _e(n.mastery), score(n.best_score),
                 duration(n.time_spent_s), str(n.attempts)] for n in track.nodes]
        out.append(f"<section><h2>{_e(track.id.title())} <span class=\"muted\">{track.completed}/{track.total}"
                   "</span></h2>"
                   + _table(["Node", "State", "Mastery", "Best score", "Time", "Attempts"], rows, {3, 4, 5})
                   + "</section>")
    return "".join(out)


def _built(data: ReportData) -> str:
    """For each completed node: how, and for a build what was written, when, after how many gradings, with
    what help; with --with-code the passing files, escaped, in <pre>."""
    done = [n for n in data.nodes() if n.state == "completed" or n.build is not None]
    if not done:
        return '<section><h2>What was built</h2><p class="muted">No node completed yet.</p></section>'
    rows, code = [], []
    for n in done:
        b = n.build
        rows.append([_e(n.title), _e(how_completed(n)) if n.state == "completed" else "not completed yet",
                     " ".join(f"<code>{_e(f)}</code>" for f in b.functions) if b else "–",
                     f"{b.passed_at:%Y-%m-%d}" if b else "–", str(b.gradings_until_pass) if b else "–",
                     _e(help_text(b)) if b else "–"])
        if b is not None and b.code is not None:
            code.append(f'<div class="lab"><h3>{_e(n.title)} · <code>{_e(b.filename)}</code></h3>'
                        f'<pre class="code"><code>{_e(b.code)}</code></pre></div>')
        elif b is not None and b.code_note:
            code.append(f'<div class="lab"><h3>{_e(n.title)} · <code>{_e(b.filename)}</code></h3>'
                        f'<p class="muted">{_e(b.code_note)}</p></div>')
    head = ["Node", "Completed by", "Functions written", "Passed on", "Gradings", "Help before the pass"]
    return "<section><h2>What was built</h2>" + _table(head, rows, {4}) + "".join(code) + "</section>"


def _params(attempt: ReportAttempt) -> str:
    if not attempt.params:
        return '<span class="muted">defaults</span>'
    return " ".join(f"<code>{_e(k)}={_e(json.dumps(v))}</code>" for k, v in attempt.params.items())


def _chart_groups(best: BestAttempt) -> dict[str, list]:
    """Series sharing a quantity (train_loss, val_loss -> "loss") share a chart, so they can be compared."""
    groups: dict[str, list] = {}
    for series in best.series:
        groups.setdefault(series.name.split("_", 1)[-1], []).append(series)
    return groups


def _lab(node: NodeReport, best: BestAttempt) -> str:
    checks = [[_e(c.title), _e(c.status), f"{c.points:g} / {c.max_points:g}", _e(c.message)] for c in best.checks]
    charts = "".join(svg.line_chart(group, title) for title, group in _chart_groups(best).items())
    picture = ScalingPicture.from_metrics(best.metrics)  # a scaling-laws run: its log-log picture too
    charts += svg.scaling_chart(picture) if picture is not None else ""
    return (
        f'<div class="lab"><h3>{_e(node.title)} · <code>{_e(best.lab_id)}</code></h3>'
        f"<p>Best attempt #{best.id} on {best.started_at:%Y-%m-%d %H:%M}: score <b>{score(best.score)}</b>"
        f" ({_e(best.status)}), seed {_e(best.seed)}, {duration(best.duration_s or 0)}.<br>"
        f"Hyperparameters: {_params(best)}</p>"
        + (_table(["Check", "Status", "Points", "Message"], checks, {2}) if checks else "")
        + (f'<div class="charts">{charts}</div>' if charts else "")
        + (f'<p class="muted">{_e(best.feedback)}</p>' if best.feedback else "")
        + "</div>"
    )


def _labs(data: ReportData) -> str:
    labs = [_lab(n, n.best_attempt) for n in data.nodes() if n.best_attempt]
    if not labs:
        return '<section><h2>Labs</h2><p class="muted">No lab attempts in this window.</p></section>'
    return "<section><h2>Labs: best attempts</h2>" + "".join(labs) + "</section>"


def _quizzes_and_activity(data: ReportData) -> str:
    quiz_rows = [[_e(q.title) + (" (review)" if q.kind == "review" else ""), percent(q.score),
                  ("remembered" if q.passed else "lapsed") if q.kind == "review" else ("passed" if q.passed else "not yet"),
                  f"{q.started_at:%Y-%m-%d}"] for q in data.quizzes]
    day_rows = [[d.day.isoformat(), str(d.attempts), str(d.passed), str(d.quizzes), duration(d.time_spent_s)]
                for d in data.activity]
    quizzes = _table(["Node", "Score", "Result", "Day"], quiz_rows, {1}) if quiz_rows else \
        '<p class="muted">No quizzes taken in this window.</p>'
    days = _table(["Day", "Lab attempts", "Passed", "Quizzes", "Time"], day_rows, {1, 2, 3, 4}) if day_rows else \
        '<p class="muted">No activity in this window.</p>'
    diagnosed = [a for a in data.attempts if a.diagnosis is not None]
    diagnoses = "" if not diagnosed else "<section><h2>Diagnoses: what went wrong?</h2>" + _table(
        ["Attempt", "Lab", "The evidence says", "You said", "", "Day"],
        [[f"#{a.id}", _e(a.lab_id), _e(a.diagnosis.expected), _e(a.diagnosis.answer),
          "right" if a.diagnosis.correct else "wrong", f"{a.diagnosis.answered_at:%Y-%m-%d}"] for a in diagnosed],
        {0}) + "</section>"
    return (f"<section><h2>Quizzes</h2>{quizzes}</section>{diagnoses}"
            f"<section><h2>Recent activity</h2>{days}</section>")


def render_html(data: ReportData) -> str:
    """The whole report as one HTML document."""
    body = (_header(data) + _overall(data.overall, data.plan) + _plan(data.plan) + _tracks(data)
            + _built(data) + _labs(data) + _quizzes_and_activity(data))
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<title>{_e(data.learner.name)} · PathLab progress</title>"
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<style>{CSS}</style></head><body>{body}"
        '<footer class="muted"><p>Generated by PathLab. Scores are out of 100. A node with a build task is '
        "completed by the learner's own code passing every check, and its quiz; mastery adds experiments, "
        "re-passes and quiz scores.</p></footer></body></html>\n"
    )
