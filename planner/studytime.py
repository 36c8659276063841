"""Study time: how much of a stretch of wall-clock time a learner was actually at it (pure rules).

Three sources feed a node's recorded time (`planner.progress.NodeProgress.time_by_kind`):

- lessons read in the app: the lesson screen hands every key press, mouse press, scroll and tab switch
  to a `LessonClock` (`touch`), and the terminal losing focus (Textual's `AppBlur`, where the terminal
  reports focus changes), leaving the lesson tab or the screen, and quitting to `pause`;
- quizzes: from the first question shown to the last answer submitted (`quiz_attempts` started/finished);
- build tasks: from the scaffold to the first passing grading, estimated from the moments something
  happened: the scaffold written, each save of the file (its mtime, seen when it is graded) and each
  grading's start and finish; the gradings themselves are lab compute, counted once, as lab time.

The rule, the same for lessons and builds: **every activity at time t credits the time after it up to
the next activity, a pause or t + `IDLE_CUTOFF_S`, whichever comes first.** So continuous work counts in
full, a gap longer than the cutoff counts only its first `IDLE_CUTOFF_S` (the learner was probably still
reading the page they last scrolled to, then left), and nothing accrues while the terminal is unfocused.
As a union of intervals:

    active(events, pauses) = | U_i [e_i, min(e_i + cutoff, next event or pause after e_i, until)] |

`active_seconds` computes it from a list of moments; `LessonClock` computes the same figure
incrementally (what the app flushes every `FLUSH_EVERY_S`, so a killed app loses at most that long).
Lab runs' compute is their recorded `duration_s`, unchanged.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

IDLE_CUTOFF_S = 300.0
"""Five minutes without a key, a click or a scroll and the clock stops: the learner has left."""

FLUSH_EVERY_S = 60.0
"""The lesson screen writes its running total this often (and when it is left), so a killed app loses
at most a minute of reading."""

Interval = tuple[datetime, datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


def credited(events: Iterable[datetime], *, cutoff_s: float = IDLE_CUTOFF_S,
             pauses: Iterable[datetime] = (), until: datetime | None = None) -> list[Interval]:
    """The intervals the rule above credits, merged and in time order: each event opens one that ends at
    the next event or pause, at the cutoff, or at `until`, whichever is first. Events after `until` are
    dropped. Naive datetimes are taken as UTC."""
    cutoff = timedelta(seconds=cutoff_s)
    moments = sorted({_utc(t) for t in events})
    stops = sorted({_utc(t) for t in pauses})
    end_all = _utc(until) if until is not None else None
    out: list[Interval] = []
    for i, start in enumerate(moments):
        if end_all is not None and start >= end_all:
            break
        end = start + cutoff
        if i + 1 < len(moments):
            end = min(end, moments[i + 1])
        following = next((p for p in stops if p >= start), None)
        if following is not None:
            end = min(end, following)
        if end_all is not None:
            end = min(end, end_all)
        if end > start:
            if out and start <= out[-1][1]:
                out[-1] = (out[-1][0], max(out[-1][1], end))
            else:
                out.append((start, end))
    return out


def measure(intervals: Iterable[Interval], *, exclude: Iterable[Interval] = ()) -> float:
    """Seconds covered by the union of `intervals`, less what the `exclude` intervals cover of it."""
    covered = _union(intervals)
    removed = _union(exclude)
    total = sum((b - a).total_seconds() for a, b in covered)
    for a, b in covered:
        for c, d in removed:
            lo, hi = max(a, c), min(b, d)
            if hi > lo:
                total -= (hi - lo).total_seconds()
    return max(0.0, total)


def active_seconds(events: Iterable[datetime], *, cutoff_s: float = IDLE_CUTOFF_S,
                   pauses: Iterable[datetime] = (), until: datetime | None = None,
                   exclude: Iterable[Interval] = ()) -> float:
    """The active time the rule credits to these events (seconds), less the `exclude` intervals (a
    build's gradings, which are counted as lab time)."""
    return measure(credited(events, cutoff_s=cutoff_s, pauses=pauses, until=until), exclude=exclude)


def build_active_seconds(saves: Iterable[datetime], gradings: Iterable[Interval], *,
                         passed_at: datetime | None = None, cutoff_s: float = IDLE_CUTOFF_S) -> float:
    """A build task's estimated working time: the scaffold and the saves (`saves`, the file's mtimes)
    and each grading's start and finish are the events; the credit stops at the first pass
    (`passed_at`, when its grading finished) and leaves out the gradings' own spans (lab time)."""
    spans = [(_utc(a), _utc(b)) for a, b in gradings]
    events = [*saves, *(a for a, _ in spans), *(b for _, b in spans)]
    return active_seconds(events, cutoff_s=cutoff_s, until=passed_at, exclude=spans)


def node_study_seconds(lessons: Mapping[str, float], saves: Iterable[Mapping[str, Any]],
                       gradings: Iterable[Mapping[str, Any]], *,
                       cutoff_s: float = IDLE_CUTOFF_S) -> dict[str, tuple[float, float]]:
    """Per node, (lesson seconds, build seconds) from the stored rows: `lessons` node -> reading seconds
    (Store.lesson_seconds), `saves` the build moments (lab_id, node_id, at), `gradings` the implement
    attempts (lab_id, started_at, finished_at, passed; oldest first). Times are ISO text or datetimes."""
    out: dict[str, list[float]] = {node_id: [float(seconds), 0.0] for node_id, seconds in lessons.items()}
    moments: dict[tuple[str, str], list[datetime]] = {}
    for row in saves:
        moments.setdefault((row["lab_id"], row["node_id"]), []).append(_when(row["at"]))
    spans: dict[str, list[Interval]] = {}
    passed: dict[str, datetime] = {}
    for row in gradings:
        start = _when(row["started_at"])
        end = _when(row["finished_at"]) if row.get("finished_at") else start
        spans.setdefault(row["lab_id"], []).append((start, end))
        if row.get("passed") and (row["lab_id"] not in passed or end < passed[row["lab_id"]]):
            passed[row["lab_id"]] = end
    for (lab_id, node_id), seen in moments.items():
        seconds = build_active_seconds(seen, spans.get(lab_id, []), passed_at=passed.get(lab_id), cutoff_s=cutoff_s)
        out.setdefault(node_id, [0.0, 0.0])[1] += seconds
    return {node_id: (lesson, build) for node_id, (lesson, build) in out.items()}


def _when(value: datetime | str) -> datetime:
    return _utc(value if isinstance(value, datetime) else datetime.fromisoformat(value))


@dataclass
class LessonClock:
    """The reading time of one lesson visit, kept as events arrive (the incremental `active_seconds`).

    `touch(t)`: the learner did something (a key, a click, a scroll). `pause(t)`: the terminal lost focus
    or the lesson is no longer shown; nothing accrues until the next touch. `total(t)`: the active seconds
    credited up to `t` (a running stretch counts up to `t`, at most the cutoff past its last touch).
    `started_at`/`last_at`: the visit's first touch and the end of its last credited stretch.
    """

    cutoff_s: float = IDLE_CUTOFF_S
    started_at: datetime | None = None
    last_at: datetime | None = None
    _closed_s: float = 0.0
    _open_from: datetime | None = field(default=None, repr=False)

    def touch(self, t: datetime) -> None:
        t = _utc(t)
        self._close(t)
        if self.started_at is None:
            self.started_at = t
        self._open_from = t

    def pause(self, t: datetime) -> None:
        self._close(_utc(t))

    @property
    def running(self) -> bool:
        return self._open_from is not None

    def total(self, t: datetime) -> float:
        """Seconds credited up to `t`, the open stretch included."""
        return self._closed_s + self._open_span(_utc(t))

    def end(self, t: datetime) -> datetime | None:
        """Where the credited time ends when read at `t` (the visit's `ended_at`)."""
        t = _utc(t)
        if self._open_from is not None:
            return self._open_from + timedelta(seconds=self._open_span(t))
        return self.last_at

    def _open_span(self, t: datetime) -> float:
        if self._open_from is None:
            return 0.0
        return max(0.0, min((t - self._open_from).total_seconds(), self.cutoff_s))

    def _close(self, t: datetime) -> None:
        if self._open_from is not None:
            span = self._open_span(t)
            self._closed_s += span
            self.last_at = self._open_from + timedelta(seconds=span)
            self._open_from = None


def _union(intervals: Iterable[Interval]) -> list[Interval]:
    out: list[Interval] = []
    for a, b in sorted((_utc(a), _utc(b)) for a, b in intervals):
        if b <= a:
            continue
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


def _utc(t: datetime) -> datetime:
    return t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC)
