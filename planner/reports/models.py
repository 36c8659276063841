"""What a progress report says, as plain data: the one model every renderer reads.

`build_report_data` (data.py) gathers these from the store, curriculum, progress and plan once; the
Markdown, HTML, JSON and CSV renderers are pure functions of a `ReportData`, so they can be tested
without a database and never disagree about a number. The JSON report *is* this model dumped, so
field names here are a public contract (see report.schema.json and the README, section --json): add fields,
never rename them, and bump `SCHEMA_VERSION` when a change would break a reader.
"""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field

SCHEMA_VERSION = 1

NodeState = str  # "completed", "in_progress", "available", "locked" (planner.progress decides)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LearnerInfo(_Strict):
    name: str
    target_role: str | None = Field(None, description="role node id the learner aims for")
    hours_per_week: float | None = None
    created_at: datetime | None = None
    last_active_at: datetime | None = None


class Filters(_Strict):
    since: date | None = Field(None, description="only attempts and quizzes started on or after this day")
    node_id: str | None = Field(None, description="only this node and its attempts")


class Overall(_Strict):
    total: int
    completed: int
    in_progress: int
    available: int = Field(description="unlocked but not started")
    locked: int
    time_spent_s: float


class CheckRow(_Strict):
    check_id: str
    title: str
    points: float
    max_points: float
    status: str = Field(description="passed | partial | failed | skipped")
    message: str = ""
    required: bool = False


class Series(_Strict):
    name: str = Field(description="metric name, e.g. train_loss, val_accuracy")
    steps: list[int] = Field(description="the step of each recorded point, ascending")
    values: list[float | None] = Field(
        description="the value at each step (same length as steps); null where the run diverged (NaN, inf)"
    )


class DiagnosisRow(_Strict):
    expected: str = Field(description="the failure mode the failed run's evidence names")
    answer: str = Field(description="the learner's first answer to 'what went wrong?'")
    correct: bool
    options: list[str] = Field(default_factory=list, description="the failure-mode ids offered, in the order shown")
    answered_at: datetime


class ReportAttempt(_Strict):
    # One lab attempt as a report shows it (not `planner.records.Attempt`, the stored row it is made from).
    # No docstring: it would become the schema's description. Its `$defs` entry keeps the published name
    # `Attempt` (jsonreport.CONTRACT_NAMES), and the title stays "Attempt".
    model_config = ConfigDict(extra="forbid", title="Attempt")

    id: int
    lab_id: str
    node_id: str
    mode: str
    status: str
    score: float | None
    passed: bool
    seed: int | None = None
    params: dict[str, object] = Field(default_factory=dict, description="hyperparameters as submitted")
    metrics: dict[str, float | None] = Field(
        default_factory=dict, description="final metrics of the run; null for NaN or inf"
    )
    feedback: str = ""
    started_at: datetime
    finished_at: datetime | None = None
    duration_s: float | None = None
    checks: list[CheckRow] = Field(default_factory=list)
    diagnosis: DiagnosisRow | None = Field(default=None, description="a failed experiment: the learner's "
                                           "diagnosis, when answered")


class BestAttempt(ReportAttempt):
    model_config = ConfigDict(extra="forbid", title="BestAttempt")

    series: list[Series] = Field(default_factory=list, description="the loss/metric curves of the run")


class BuildEvidence(_Strict):
    lab_id: str
    filename: str = Field(description="the learner's file, as the build task names it")
    functions: list[str] = Field(description="the functions the learner wrote (labs.implement.tasks)")
    attempt_id: int = Field(description="the first passing build")
    passed_at: datetime = Field(description="when that build finished")
    gradings_until_pass: int = Field(description="builds graded up to and including the pass")
    hints_before_pass: int = Field(0, description="distinct hints seen before the pass")
    solution_before_pass: bool = Field(False, description="the reference solution was seen before the pass")
    matches_reference: bool = Field(False, description="the passing file is byte for byte the reference solution")
    code_hash: str | None = Field(None, description="sha256 of the passing file")
    code: str | None = Field(None, description="the passing file's text (report --with-code, when found unchanged)")
    code_note: str | None = Field(None, description="with --with-code, why the code is not attached")


class NodeReport(_Strict):
    id: str
    title: str
    kind: str = Field(description="concept | model | role")
    track: str
    prerequisites: list[str] = Field(description="for a role, the skill nodes it requires")
    depth: int = Field(description="longest prerequisite chain below the node (0 = no prerequisites)")
    hours: float
    lab_id: str | None = None
    state: NodeState
    mastery: str = Field(description="none | attempted | familiar | proficient | mastered")
    best_score: float | None = None
    time_spent_s: float = 0.0
    time_by_kind: dict[str, float] = Field(default_factory=dict, description="time_spent_s by source, seconds: "
                                           "lesson (read in the app), quiz, build (estimated), lab (compute)")
    attempts: int = Field(0, description="lab attempts in the report's window")
    best_attempt: BestAttempt | None = None
    completed_at: datetime | None = None
    test_out: bool = Field(False, description="completed before all its prerequisites were (a test-out)")
    has_build: bool = Field(False, description="its lab has a build task: completion asks for a passing build")
    missing_work: list[str] = Field(default_factory=list, description="what completion still needs: build, quiz, "
                                                                      "experiment")
    build: BuildEvidence | None = Field(None, description="what the learner built: the first passing build "
                                                          "(whole history, whatever the filters)")


class TrackReport(_Strict):
    id: str = Field(description="foundations, models, careers: in the order a learner meets them")
    completed: int
    total: int
    nodes: list[NodeReport]


class QuizRow(_Strict):
    node_id: str
    title: str = Field(description="the node's title")
    score: float = Field(description="share (0..1) of the quiz's points earned")
    passed: bool
    started_at: datetime
    finished_at: datetime | None = None
    kind: str = Field(default="quiz", description="quiz, or review: a review draw of a completed node (its "
                                                  "'passed' is 'not a lapse')")


class DayActivity(_Strict):
    day: date
    attempts: int
    passed: int
    quizzes: int
    time_spent_s: float


class PlanStep(_Strict):
    node_id: str
    title: str
    state: NodeState
    hours: float


class Plan(_Strict):
    role_id: str
    role_title: str
    readiness: float = Field(description="share (0..1) of the role's required nodes completed")
    remaining_hours: float
    projected_finish: date | None = Field(None, description="None when no weekly hours are set")
    steps: list[PlanStep] = Field(description="the remaining nodes in study order")


class ReportData(_Strict):
    schema_version: int = SCHEMA_VERSION
    generated_on: date
    learner: LearnerInfo
    filters: Filters = Field(default_factory=Filters)
    overall: Overall
    tracks: list[TrackReport]
    attempts: list[ReportAttempt] = Field(description="every lab attempt in the window, newest first")
    quizzes: list[QuizRow] = Field(description="every quiz attempt in the window, newest first")
    activity: list[DayActivity] = Field(description="one row per day with activity, newest first")
    plan: Plan | None = Field(None, description="the path to the target role, when one is set")

    def nodes(self) -> list[NodeReport]:
        """Every node of every track, in report order."""
        return [node for track in self.tracks for node in track.nodes]
