"""Models that last (issue 15): where an attempt's trained model is kept, how it is recorded, offered to
later labs as "your model", listed, pruned and carried in an export.

Files: one folder per database, `<db>.models/` beside it (`models_dir`), holding `<sha256>.npz`, each a
labs.nn.checkpoint archive named by the sha256 of its bytes (equal weights are one file). The worker
writes it through `RunContext.save_model` (a temporary `.incoming-*` file, hashed, renamed: a killed
run leaves no half file under a real name) and reports it in `Finished.model`.

Rows: `checkpoints` (store migration 8) links an attempt to its file. `record` writes the row only
AFTER the attempt's result is recorded and after the file was checked (present, its hash its name),
with the store's busy retries (service.RETRY_DELAYS_S): so no row ever names a missing file; a process
killed in between leaves an unreferenced file, which `prune` deletes (with stray `.incoming-*` files).

"Your model": a lab with `uses_models` is offered the learner's checkpoints of those labs; `resolve`
turns the lab form's or `--model`'s choice (`best`, `none`, a sha256 or its prefix of at least 6) into
the worker job's `your_model`, checking the file first: a missing or corrupt one is a `ModelChoiceError`
with one line naming it and the command that trains it again.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from planner.store import Store, StoreBusy

MIN_PREFIX = 6
INCOMING = ".incoming-"


class ModelChoiceError(ValueError):
    """The chosen "your model" cannot be used (unknown, missing, corrupt); the message is one line."""


class CheckpointRow(BaseModel):
    """A stored model as the front doors show it."""

    id: int
    attempt_id: int
    learner_id: int
    lab_id: str
    sha256: str
    bytes: int
    architecture: dict[str, Any] = Field(default_factory=dict)
    tokenizer: str | None = None
    created_at: str
    status: str | None = None
    score: float | None = None
    best: bool = Field(False, description="the learner's best stored model of this lab (kept by prune)")

    @property
    def label(self) -> str:
        score = "-" if self.score is None else f"{self.score:.0f}"
        kind = self.architecture.get("kind", "?")
        return f"{self.lab_id} #{self.attempt_id} score {score} {kind} {self.sha256[:10]} ({human_bytes(self.bytes)})"


class LabUse(BaseModel):
    lab_id: str
    checkpoints: int
    files: int
    bytes: int = Field(description="bytes of this lab's distinct files")


class Listing(BaseModel):
    folder: str
    checkpoints: list[CheckpointRow]
    labs: list[LabUse]
    total_bytes: int = Field(description="every file in the folder, referenced or not")
    unreferenced_bytes: int = Field(description="files no row names (a killed run, a pruned row): prune frees them")


class PruneResult(BaseModel):
    rows_deleted: int
    files_deleted: int
    bytes_freed: int
    kept: int = Field(description="checkpoint rows kept: every learner's best per lab")


def models_dir(db_path: Path | str) -> Path:
    """`<db>.models`, beside the database (as the build workspaces are `<db>.workspaces`)."""
    db_path = Path(db_path)
    return db_path.with_name(db_path.name + ".models")


def model_file(db_path: Path | str, sha256: str) -> Path:
    return models_dir(db_path) / f"{sha256}.npz"


def human_bytes(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GB"


def _sha256(path: Path) -> str:
    from labs.catalog._models import file_sha256

    return file_sha256(path)


def check_file(db_path: Path | str, sha256: str, lab_id: str) -> Path:
    """The model file, present and whole (its sha256 is its name), else ModelChoiceError in one line."""
    path = model_file(db_path, sha256)
    retrain = f"train it again with `pathlab lab run {lab_id}`, or run without it (--model none)"
    if not path.is_file():
        raise ModelChoiceError(f"your model from {lab_id} ({sha256[:12]}) is missing from {path.parent}; {retrain}")
    try:
        actual = _sha256(path)
    except OSError as exc:
        raise ModelChoiceError(f"your model from {lab_id} ({sha256[:12]}) cannot be read ({exc}); {retrain}") from None
    if actual != sha256:
        raise ModelChoiceError(f"your model from {lab_id} ({sha256[:12]}) is corrupt (its contents changed: "
                               f"sha256 {actual[:12]}); {retrain}")
    return path


# -- recording ----------------------------------------------------------------------------------
def record(store: Store, attempt_id: int, lab_id: str, saved: Any,
           delays: Iterable[float] = (), sleep: Callable[[float], None] = time.sleep) -> int | None:
    """Link `saved` (labs.events.SavedModel) to the attempt once its file is checked; None when the file
    is not in this database's folder or not whole (the run's model is then not kept). A busy database is
    tried again after each of `delays`."""
    sha = str(saved.sha256)
    path = model_file(store.path, sha)
    try:
        if Path(saved.file).resolve() != path.resolve() or _sha256(path) != sha:
            return None
    except OSError:
        return None
    from labs.catalog._models import tokenizer_label

    for delay in (0.0, *delays):
        sleep(delay)
        try:
            return store.add_checkpoint(attempt_id, lab_id=lab_id, sha256=sha, bytes=path.stat().st_size,
                                        architecture=dict(saved.architecture),
                                        tokenizer=tokenizer_label(saved.tokenizer))
        except StoreBusy:
            continue
    return None


# -- reading ------------------------------------------------------------------------------------
def rows(store: Store, learner_id: int | None = None, lab_id: str | None = None) -> list[CheckpointRow]:
    """Checkpoints, best first per lab; `best` marks each learner's best of each lab."""
    seen: set[tuple[int, str]] = set()
    out = []
    for r in store.checkpoints(learner_id, lab_id=lab_id):
        key = (r["learner_id"], r["lab_id"])
        out.append(CheckpointRow(**{k: r[k] for k in CheckpointRow.model_fields if k in r and k != "best"},
                                 best=key not in seen))
        seen.add(key)
    return out


def offered(store: Store, learner_id: int, lab: Any) -> list[CheckpointRow]:
    """The learner's checkpoints `lab` can take (its `uses_models`, in their order of preference), each
    lab's best first: the lab form's choices, the first being what `best` means."""
    out: list[CheckpointRow] = []
    for source in getattr(lab, "uses_models", ()):
        out.extend(rows(store, learner_id, source))
    return out


def resolve(store: Store, learner_id: int, lab: Any, choice: str | None) -> dict[str, Any] | None:
    """The worker job's `your_model` for `choice`: None or "best" (the best offered, none when there is
    none), "none", or a sha256 (prefix of at least MIN_PREFIX); the file is checked before anything runs."""
    choice = (choice or "best").strip().lower()
    if choice == "none" or not getattr(lab, "uses_models", ()):
        if choice not in ("none", "best"):
            raise ModelChoiceError(f"lab {lab.id} takes no stored model (--model is for labs that build on one)")
        return None
    choices = offered(store, learner_id, lab)
    if choice == "best":
        if not choices:
            return None
        row = choices[0]
    else:
        if len(choice) < MIN_PREFIX or any(c not in "0123456789abcdef" for c in choice):
            raise ModelChoiceError(f"--model {choice!r}: use best, none or a checkpoint's sha256 (at least "
                                   f"{MIN_PREFIX} hex digits; `pathlab checkpoints list` shows them)")
        matches = [r for r in choices if r.sha256.startswith(choice)]
        if not matches:
            labs = ", ".join(lab.uses_models)
            raise ModelChoiceError(f"--model {choice}: no checkpoint of yours from {labs} starts with it "
                                   f"(`pathlab checkpoints list` shows them)")
        row = matches[0]
    path = check_file(store.path, row.sha256, row.lab_id)
    from labs.nn.checkpoint import CheckpointError, read_checkpoint_info

    try:
        info = read_checkpoint_info(path)
    except CheckpointError as exc:
        raise ModelChoiceError(f"your model from {row.lab_id} ({row.sha256[:12]}) cannot be read ({exc}); "
                               f"train it again with `pathlab lab run {row.lab_id}`") from None
    config = info.config or {}
    return {"path": str(path), "sha256": row.sha256, "lab_id": row.lab_id, "attempt_id": row.attempt_id,
            "architecture": config.get("architecture") or row.architecture, "tokenizer": config.get("tokenizer")}


def listing(store: Store, learner_id: int | None = None) -> Listing:
    """Disk use: per lab (its distinct files), the folder's total and what no row names."""
    folder = models_dir(store.path)
    all_rows = rows(store, learner_id)
    per_lab: dict[str, dict[str, int]] = {}
    for r in all_rows:
        per_lab.setdefault(r.lab_id, {})[r.sha256] = r.bytes
    labs = [LabUse(lab_id=lab_id, checkpoints=sum(1 for r in all_rows if r.lab_id == lab_id), files=len(files),
                   bytes=sum(files.values())) for lab_id, files in sorted(per_lab.items())]
    named = store.checkpoint_hashes()
    total = unreferenced = 0
    for f in _files(folder):
        size = f.stat().st_size
        total += size
        if f.name.startswith(INCOMING) or f.stem not in named:
            unreferenced += size
    return Listing(folder=str(folder), checkpoints=all_rows, labs=labs, total_bytes=total,
                   unreferenced_bytes=unreferenced)


def _files(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return [f for f in folder.iterdir() if f.is_file() and f.suffix == ".npz"]


# -- pruning ------------------------------------------------------------------------------------
def prune(store: Store, *, keep_best: bool = True, dry_run: bool = False,
          incoming_grace_s: float = 3600.0) -> PruneResult:
    """Delete every checkpoint row but each learner's best per lab (all of them with keep_best=False),
    then every file no row names: the pruned ones, a killed run's, and `.incoming-*` files older than
    `incoming_grace_s` (a run still writing one is left alone)."""
    all_rows = rows(store)
    doomed = [r for r in all_rows if not (keep_best and r.best)]
    deleted = 0 if dry_run else store.delete_checkpoints(r.id for r in doomed)
    named = store.checkpoint_hashes() if not dry_run else {r.sha256 for r in all_rows if r not in doomed}
    files = freed = 0
    for f in _files(models_dir(store.path)):
        if f.name.startswith(INCOMING):
            if time.time() - f.stat().st_mtime < incoming_grace_s:
                continue
        elif f.stem in named:
            continue
        size = f.stat().st_size
        if not dry_run:
            try:
                f.unlink()
            except FileNotFoundError:
                continue
        files, freed = files + 1, freed + size
    return PruneResult(rows_deleted=deleted if not dry_run else len(doomed), files_deleted=files,
                       bytes_freed=freed, kept=len(all_rows) - len(doomed))


# -- carrying in an export ----------------------------------------------------------------------
def export_files(store: Store, learner_id: int) -> dict[str, Path]:
    """sha256 -> file for the learner's checkpoints whose file is present and whole (a damaged one is
    left out: the import would refuse it)."""
    out: dict[str, Path] = {}
    for r in rows(store, learner_id):
        path = model_file(store.path, r.sha256)
        try:
            if r.sha256 not in out and path.is_file() and _sha256(path) == r.sha256:
                out[r.sha256] = path
        except OSError:
            continue
    return out


def import_file(db_path: Path | str, sha256: str, data: bytes) -> Path:
    """Put an exported model file in place, its hash verified first (ValueError naming it otherwise);
    written to a temporary file and renamed, so a stopped import leaves no half file."""
    import hashlib
    import tempfile

    actual = hashlib.sha256(data).hexdigest()
    if actual != sha256:
        raise ValueError(f"model {sha256[:12]} in the file is corrupt (its bytes hash to {actual[:12]})")
    folder = models_dir(db_path)
    folder.mkdir(parents=True, exist_ok=True)
    dest = folder / f"{sha256}.npz"
    if dest.is_file() and _sha256(dest) == sha256:
        return dest
    fd, tmp = tempfile.mkstemp(prefix=INCOMING, suffix=".npz", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, dest)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return dest
