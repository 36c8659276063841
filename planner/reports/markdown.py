"""The Markdown report: reads well as plain text in a terminal and renders as tables on a code host.

User-supplied text is escaped with `_md` so a name with `|` cannot break a table and a name with `<` or
`*` cannot turn into markup; hyperparameters sit in code spans, where nothing is interpreted.
"""

from __future__ import annotations

import json
import re

import numpy as np

from planner.reports.format import (
    bar, duration, help_text, how_completed, percent, score, sparkline, state_label,
)
from planner.reports.models import BestAttempt, NodeReport, ReportData

_SPECIAL = re.compile(r"([\\`*_\[\]<>|#])")


def _md(value: object) -> str:
    """Text safe inside Markdown prose and table cells (one line, markup characters escaped)."""
    return _SPECIAL.sub(r"\\\1", " ".join(str(value).split()))


def _code(value: object) -> str:
    """A code span; backticks and table pipes inside it are replaced so the span cannot end early."""
    return "`" + " ".join(str(value).split()).replace("`", "'").replace("|", "¦") + "`"


def _table(head: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines + [""]


def _summary(data: ReportData) -> list[str]:
    o, learner = data.overall, data.learner
    lines = [f"# {_md(learner.name)} · PathLab progress", "", f"Report of {data.generated_on.isoformat()}"]
    if data.filters.since or data.filters.node_id:
        scope = [f"activity since {data.filters.since}" if data.filters.since else "",
                 f"node {_code(data.filters.node_id)}" if data.filters.node_id else ""]
        lines[-1] += " (" + ", ".join(s for s in scope if s) + ")"
    lines += ["", "## Overall", "",
              f"`{bar([o.completed, o.in_progress, o.available, o.locked])}` "
              f"{o.completed} of {o.total} nodes completed",
              "", f"- Completed: {o.completed}", f"- In progress: {o.in_progress}",
              f"- Available: {o.available}", f"- Locked: {o.locked}",
              f"- Time spent: {duration(o.time_spent_s)}", ""]
    return lines


def _plan(data: ReportData) -> list[str]:
    plan = data.plan
    lines = ["## Target role", ""]
    if plan is None:
        return lines + ["No target role set.", ""]
    when = plan.projected_finish.isoformat() if plan.projected_finish else "no date (set weekly hours)"
    lines += [f"**{_md(plan.role_title)}**: {percent(plan.readiness)} ready, {plan.remaining_hours:g} h of study "
              f"left, projected finish **{when}**.", ""]
    if not plan.steps:
        return lines + ["Every required node is complete.", ""]
    rows = [[str(i), _md(s.title), state_label(s.state), f"{s.hours:g}"] for i, s in enumerate(plan.steps, 1)]
    return lines + _table(["#", "Next", "State", "Hours"], rows)


def _tracks(data: ReportData) -> list[str]:
    lines = ["## Skill graph", ""]
    for track in data.tracks:
        lines += [f"### {_md(track.id.title())} ({track.completed}/{track.total})", ""]
        lines += [f"- [{'x' if n.state == 'completed' else ' '}] {_md(n.title)} — {_state(n)}"
                  for n in track.nodes]
        lines.append("")
        rows = [[_md(n.title), _state(n), n.mastery, score(n.best_score), duration(n.time_spent_s),
                 str(n.attempts)] for n in track.nodes]
        lines += _table(["Node", "State", "Mastery", "Best score", "Time", "Attempts"], rows)
    return lines


def _state(node: NodeReport) -> str:
    return state_label(node.state) + (" (test-out)" if node.state == "completed" and node.test_out else "")


def _fence(text: str) -> str:
    """A code fence longer than any run of backticks in `text`, so the file cannot end the block."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    return "`" * max(3, longest + 1)


def _built(data: ReportData) -> list[str]:
    """For each completed node: how, and for a build what was written, when, after how many gradings, with
    what help; with --with-code the passing files."""
    done = [n for n in data.nodes() if n.state == "completed" or n.build is not None]
    lines = ["## What was built", ""]
    if not done:
        return lines + ["No node completed yet.", ""]
    rows = []
    for n in done:
        b = n.build
        rows.append([_md(n.title), _md(how_completed(n)) if n.state == "completed" else "not completed yet",
                     ", ".join(_code(f) for f in b.functions) if b else "–",
                     f"{b.passed_at:%Y-%m-%d}" if b else "–", str(b.gradings_until_pass) if b else "–",
                     _md(help_text(b)) if b else "–"])
    lines += _table(["Node", "Completed by", "Functions written", "Passed on", "Gradings", "Help before the pass"],
                    rows)
    for n in done:
        b = n.build
        if b is None or (b.code is None and b.code_note is None):
            continue
        lines += [f"### {_md(n.title)} · {_code(b.filename)}", ""]
        if b.code is not None:
            fence = _fence(b.code)
            lines += [fence + "python", b.code.rstrip("\n"), fence, ""]
        else:
            lines += [_md(b.code_note), ""]
    return lines


def _lab(node: NodeReport, best: BestAttempt) -> list[str]:
    params = ", ".join(_code(f"{k}={json.dumps(v)}") for k, v in best.params.items()) or "defaults"
    lines = [f"### {_md(node.title)} · {_code(best.lab_id)}", "",
             f"Best attempt #{best.id} on {best.started_at:%Y-%m-%d %H:%M}: score **{score(best.score)}** "
             f"({best.status}), seed {best.seed}, {duration(best.duration_s)}.", "",
             f"Hyperparameters: {params}", ""]
    if best.checks:
        rows = [[_md(c.title), c.status, f"{c.points:g} / {c.max_points:g}", _md(c.message)] for c in best.checks]
        lines += _table(["Check", "Status", "Points", "Message"], rows)
    sandbox = [x for x in best.feedback.splitlines() if x.startswith("Sandbox:")]  # implement mode's record
    lines += [_md(sandbox[0]), ""] if sandbox else []
    for s in best.series:
        values = np.asarray(s.values, dtype=float)  # None (a NaN or inf the run produced) becomes NaN
        finite = values[np.isfinite(values)]
        if len(finite):
            bad = len(values) - len(finite)
            note = f", {bad} not finite (diverged)" if bad else ""
            lines.append(f"- {_code(s.name)} `{sparkline(finite)}` {finite[0]:.4g} → {finite[-1]:.4g} "
                         f"({len(values)} points{note})")
    return lines + [""]


def render_markdown(data: ReportData) -> str:
    """The whole report as GitHub-flavoured Markdown."""
    lines = _summary(data) + _plan(data) + _tracks(data) + _built(data) + ["## Labs: best attempts", ""]
    labs = [line for n in data.nodes() if n.best_attempt for line in _lab(n, n.best_attempt)]
    lines += labs or ["No lab attempts in this window.", ""]
    lines += ["## Quizzes", ""]
    if data.quizzes:
        rows = [[_md(q.title) + (" (review)" if q.kind == "review" else ""), percent(q.score),
                 ("remembered" if q.passed else "lapsed") if q.kind == "review" else ("passed" if q.passed else "not yet"),
                 f"{q.started_at:%Y-%m-%d}"] for q in data.quizzes]
        lines += _table(["Node", "Score", "Result", "Day"], rows)
    else:
        lines += ["No quizzes taken in this window.", ""]
    diagnosed = [a for a in data.attempts if a.diagnosis is not None]
    if diagnosed:
        lines += ["## Diagnoses: what went wrong?", ""]
        rows = [[f"#{a.id}", _code(a.lab_id), _code(a.diagnosis.expected), _code(a.diagnosis.answer),
                 "right" if a.diagnosis.correct else "wrong", f"{a.diagnosis.answered_at:%Y-%m-%d}"]
                for a in diagnosed]
        lines += _table(["Attempt", "Lab", "The evidence says", "You said", "", "Day"], rows)
    lines += ["## Recent activity", ""]
    if data.activity:
        rows = [[d.day.isoformat(), str(d.attempts), str(d.passed), str(d.quizzes), duration(d.time_spent_s)]
                for d in data.activity]
        lines += _table(["Day", "Lab attempts", "Passed", "Quizzes", "Time"], rows)
    else:
        lines += ["No activity in this window.", ""]
    return "\n".join(lines).rstrip() + "\n"
