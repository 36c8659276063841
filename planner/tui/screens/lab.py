"""A lab: the hyperparameter form, Run/Cancel, and the live view of the run (loss and metric charts
with axes, step, elapsed time, ETA, text samples), then the grade check by check.

The run belongs to the app (`PathLabApp.start_run`), not to this screen: leave to read a lesson and
the network keeps training; come back and the charts are where the run got to, and the form shows
the values being trained (read-only until the run ends). The app calls `show_run` a few times a
second while events stream in. When the pace so far says the clock will stop training before every
planned step, the status says so, and a run the clock stopped says so in its result.

A lab with a build task (labs.implement.tasks) says under its title which network an experiment here
trains (the library's, `Task.uses`) and whether the learner's own build of it has passed yet.
"""

from __future__ import annotations

from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.markup import escape
from textual.widgets import Button, Collapsible, Footer, Header, Log, Markdown, ProgressBar, Static

from labs.catalog._fit import ScalingPicture
from labs.catalog._layerstats import decode as decode_layer_stats
from labs.catalog._layerstats import is_layer_stats
from planner.tui.live_run import LiveRun
from planner.tui.screens.base import PathLabScreen
from planner.tui.symbols import format_duration
from planner.tui.widgets.diagnosis import DiagnosisPanel
from planner.tui.widgets.grade_view import outcome_markup
from planner.tui.widgets.layer_histograms import LayerHistograms
from planner.tui.widgets.metric_chart import MetricChart, is_loss
from planner.tui.widgets.model_choice import ModelChoice
from planner.tui.widgets.params_form import ParamsForm
from planner.tui.widgets.scaling_plot import ScalingPlot


def run_status(live: LiveRun) -> str:
    """'Training · epoch 3/10 · 4s elapsed · ETA 9s' (or how the run ended), and on a second line the
    warning when at this pace the clock will stop the run before its last step."""
    seconds = live.elapsed_s  # a fast lab may end before reporting any time; then its duration says
    if live.outcome is not None:
        seconds = max(seconds, live.outcome.duration_s or 0)
    clock = f"{format_duration(seconds)} elapsed"
    if live.error:
        return f"[$error]Could not run:[/] {escape(live.error)}"
    if live.outcome is None:
        verb = "Cancelling" if live.cancelling else ("Training" if live.total_steps else "Starting")
        text = f"[b]{verb}[/] · {live.position_text()} · {clock} · ETA {format_duration(live.eta_s)}"
        warning = live.limit_warning()
        return text + (f"\n[$warning]{warning}[/]" if warning else "")
    return f"[b]Run {live.outcome.status}[/] · {live.position_text()} · {clock}"


def stopped_at_limit_markup(live: LiveRun) -> str:
    """'Stopped at the 60 s limit after step 150/200: graded on what it trained.' or ''."""
    finished = live.finished
    if finished is None or not getattr(finished, "stopped_at_limit", False):  # (older workers lack it)
        return ""
    reached = getattr(finished, "stopped_at_step", None)
    where = f" after {live.unit} {reached}/{live.total_steps or '?'}" if reached is not None else ""
    limit = f"the {live.time_limit_s:g} s limit" if live.time_limit_s else "its time limit"
    return f"[$warning]Stopped at {limit}{where}:[/] graded on what it trained."


def build_markup(lab_id: str, node_title: str, passed_at: object | None) -> str:
    """'Experiments train the library Linear, ...; your build passed on 2 Dec.' for a lab with a build
    task, '' for one without. An experiment raises mastery; the build (and the quiz) completes the node."""
    from labs.implement.tasks import TASKS

    task = TASKS.get(lab_id)
    if task is None:
        return ""
    uses = task.uses or f"the library's network, the same maths you write in {task.filename} ({node_title})"
    if passed_at is not None:
        when = passed_at.strftime("%d %b %Y") if hasattr(passed_at, "strftime") else str(passed_at)
        mine = f"[$success]your build passed[/] on {when}"
    else:
        mine = "[$warning]your build is still to do[/] (the node's Lab tab, w): it completes the node, not a run"
    return f"[dim]Experiments here train[/] {escape(uses)}; {mine}."


def _build_tasks() -> set[str]:
    from labs.implement.tasks import TASKS

    return set(TASKS)


class LabScreen(PathLabScreen[None]):
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back", id="lab.back"),
        Binding("ctrl+r", "run", "Run", priority=True, id="lab.run"),
        Binding("ctrl+x", "app.cancel_run", "Cancel run", priority=True, id="lab.cancel-run"),
        Binding("ctrl+d", "defaults", "Defaults", priority=True, id="lab.defaults"),
    ]

    def __init__(self, lab_id: str, node_id: str | None = None, seed: int | None = None) -> None:
        super().__init__()
        from labs.catalog import get_lab

        self.lab = get_lab(lab_id)
        self.node_id = node_id or self.lab.node_id
        self.seed = seed

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="lab-body"):
            with VerticalScroll(id="lab-form"):
                with VerticalScroll(id="result", classes="panel"):  # on top of the form: the charts keep
                    yield Static(id="result-text")                  # their room even at 80x24
                    yield DiagnosisPanel(id="diagnosis")  # a failed run: "what went wrong?"
                yield Static(f"[b]{self.lab.title}[/]", classes="title")
                yield Static(self._build_text(), id="lab-build")
                with Collapsible(title="What this lab asks", collapsed=False, id="lab-about"):
                    yield Markdown(self.lab.description)  # estimation labs describe the network here
                yield ParamsForm(self.lab, self._trained_values(), id="params")
                yield ModelChoice(self.lab, *self._stored_models(), id="model-choice")
                with Horizontal(classes="actions"):
                    yield Button("Run ^r", id="run", variant="primary")
                    yield Button("Cancel ^x", id="cancel", variant="error", disabled=True)
            with Vertical(id="lab-live"):
                yield Static("Set the hyperparameters and press ctrl+r to train.", id="run-status")
                yield ProgressBar(id="run-bar", show_eta=False, show_percentage=True)
                yield MetricChart("Loss", is_loss, x_label=self.lab.unit, id="chart")
                yield MetricChart("Metrics", lambda n: not is_loss(n), x_label=self.lab.unit, id="metric-chart")
                yield ScalingPlot(id="scaling-plot")  # scaling-laws: final loss against size, once finished
                yield LayerHistograms(id="layer-hist")  # deep-nets: per-layer histograms, live
                yield Log(id="samples", max_lines=200)
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#samples").display = False
        self.query_one("#lab-build").display = self.lab.id in _build_tasks()
        self.query_one("#metric-chart").display = False
        self.query_one("#scaling-plot").display = False
        self.query_one("#layer-hist").display = False
        self._samples_seen = 0  # samples of the shown run already drawn (text in the log, or histograms)
        self.query_one("#result").display = False
        self.query_one("#result").border_title = "Result"
        live = self.app.live
        if live is not None and live.lab_id == self.lab.id:
            self.show_run(live)
        elif self.locked:
            self.query_one("#run-status", Static).update(
                "[$warning]This node is locked.[/] A run now is a test-out: pass it and the node completes "
                "without the path. Press ctrl+r to try.")

    def _build_text(self) -> str:
        """Which network trains here, and the learner's build of it (see build_markup)."""
        passed_at = None
        with self.app.database_errors_shown("read your build"):
            entry = self.app.progress().get(self.node_id)
            passed_at = entry.build_passed_at if entry is not None else None
        node = self.app.curriculum.nodes.get(self.node_id)
        return build_markup(self.lab.id, node.title if node else self.node_id, passed_at)

    def _stored_models(self) -> tuple[list[Any], Any]:
        """The learner's models this lab can take (its `uses_models`) and the models folder's disk use."""
        choices: list[Any] = []
        listing = None
        with self.app.database_errors_shown("read your stored models"):
            learner = self.app.current_learner
            if self.lab.uses_models and learner is not None:
                choices = self.app.service.model_choices(learner, self.lab.id)
            listing = self.app.service.checkpoint_listing(learner)
        return choices, listing

    def _trained_values(self) -> dict[str, Any] | None:
        """The values of this lab's run (in progress, or the one whose result is shown), so the form
        shows what is being trained rather than the defaults."""
        live = self.app.live
        return live.params if live is not None and live.lab_id == self.lab.id else None

    # ---- actions --------------------------------------------------------------------------------

    @on(Button.Pressed, "#run")
    def action_run(self) -> None:
        """Validate the whole form; start only when every value is good, else name the bad ones."""
        form = self.query_one(ParamsForm)
        errors = form.errors()
        if errors:
            self.notify("\n".join(f"{name}: {message}" for name, message in errors.items()),
                        title="Fix these first", severity="error", timeout=6)
            return
        if self.app.start_run(self.lab.id, form.values(), self.seed, practice=self.locked,
                              model=self.query_one(ModelChoice).value):
            self._clear_samples()

    @property
    def locked(self) -> bool:
        """A locked node's lab still runs, as a test-out: a pass completes the node without the path."""
        with self.app.database_errors_shown("read the node's state"):
            entry = self.app.progress().get(self.node_id)
            return entry is not None and entry.state == "locked"
        return False

    @on(Button.Pressed, "#cancel")
    def _cancel(self) -> None:
        self.app.action_cancel_run()

    def action_defaults(self) -> None:
        form = self.query_one(ParamsForm)
        if form.disabled:
            self.notify("The form shows the values being trained; it opens again when the run ends.")
            return
        form.reset()

    # ---- the live view --------------------------------------------------------------------------

    def show_run(self, live: LiveRun) -> None:
        """Draw the run's state; the app calls this whenever new events have arrived."""
        if live.lab_id != self.lab.id:
            return
        self.query_one("#run-status", Static).update(run_status(live))
        self.query_one("#run-bar", ProgressBar).update(total=max(1, live.total_steps),
                                                       progress=live.fraction * max(1, live.total_steps))
        self.query_one("#run", Button).disabled = live.running
        self.query_one(ParamsForm).disabled = live.running  # it shows what trains: no edits meanwhile
        self.query_one("#cancel", Button).disabled = not live.running or live.cancelling
        self.query_one("#chart", MetricChart).show(live.series)
        metric_chart = self.query_one("#metric-chart", MetricChart)
        has_metrics = any(not is_loss(n) for n in live.series)
        metric_chart.display = has_metrics
        if has_metrics:
            metric_chart.show(live.series)
        self._show_scaling(live)
        self._show_samples(live)
        self._show_result(live)

    def _show_scaling(self, live: LiveRun) -> None:
        """A finished scaling-laws run: its points and fitted law on log-log axes (drawn once per run)."""
        plot = self.query_one(ScalingPlot)
        picture = ScalingPicture.from_metrics(live.finished.metrics) if live.finished is not None else None
        if picture is not None and not plot.display:
            plot.show(picture)
        plot.display = picture is not None

    def _clear_samples(self) -> None:
        self.query_one("#samples", Log).clear()
        self.query_one(LayerHistograms).show([])
        self._samples_seen = 0

    def _show_samples(self, live: LiveRun) -> None:
        """New text samples go to the log; layer-statistics samples (deep-nets) to the histograms."""
        log, hist = self.query_one("#samples", Log), self.query_one(LayerHistograms)
        if len(live.samples) < self._samples_seen:  # another run's state: start again
            self._clear_samples()
        fresh = live.samples[self._samples_seen:]
        self._samples_seen = len(live.samples)
        for step, text in fresh:
            if not is_layer_stats(text):
                log.write_line(f"{step:>6}: {' '.join(text.split())}")
        snapshots = [snap for _, text in fresh if (snap := decode_layer_stats(text)) is not None]
        if snapshots:
            hist.show(hist.snapshots + snapshots)
        hist.display = bool(hist.snapshots)
        log.display = log.line_count > 0

    def _show_result(self, live: LiveRun) -> None:
        result = self.query_one("#result")
        if live.running or live.outcome is None:
            result.display = False
            self.query_one(DiagnosisPanel).show_for(None)
            return
        if not result.display:
            self.query_one("#lab-form", VerticalScroll).scroll_home(animate=False)
        result.display = True
        stopped = stopped_at_limit_markup(live)
        text = outcome_markup(live.outcome, self.app.curriculum)
        self.query_one("#result-text", Static).update(f"{stopped}\n{text}" if stopped else text)
        self.query_one(DiagnosisPanel).show_for(live.outcome)
