"""How long a large `import-progress` holds the database's write lock, in one transaction vs in batches.

    .venv/bin/python benchmarks/bench_import_lock.py [ATTEMPTS]      (default 4000, 25 metric points each)

A run finishing beside an import waits for the lock up to the busy timeout (5 s): the longest single
transaction is what matters, not the total. Prints one line per batch size.
"""

from __future__ import annotations

import contextlib
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from planner import portable
from planner.records import MetricPoint
from planner.store import Store


def history(store: Store, attempts: int) -> str:
    ada = store.add_learner("Ada")
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    with store.transaction():
        for i in range(attempts):
            a = store.start_attempt(ada.id, "gd-linear", "gradient-descent", mode="explore", params={"lr": 0.1},
                                    seed=i, pid=None, app_version="bench", started_at=t0 + timedelta(seconds=i))
            store.add_metrics(a, [MetricPoint(step=s, name="train_loss", value=1.0 / (s + 1)) for s in range(25)])
            store.finish_attempt(a, status="passed", score=90.0, passed=True, metrics={"train_loss": 0.04},
                                 feedback="", checks=[], duration_s=1.0)
    return portable.export_progress(store, ada)


def main(attempts: int) -> None:
    tmp = Path(tempfile.mkdtemp())
    with Store.open(tmp / "source.sqlite") as source:
        text = history(source, attempts)
    real = Store.transaction
    default = portable.BATCH_ROWS
    for rows in (10**12, default):
        holds: list[float] = []

        @contextlib.contextmanager
        def timed(self: Store):
            outer, start = not self.db.conn.in_transaction, time.perf_counter()
            with real(self):
                yield self
            if outer:
                holds.append(time.perf_counter() - start)

        with Store.open(tmp / f"target-{rows}.sqlite") as target:  # migrated before timing starts
            portable.BATCH_ROWS, Store.transaction = rows, timed  # type: ignore[method-assign]
            try:
                start = time.perf_counter()
                portable.import_progress(target, text)
                total = time.perf_counter() - start
            finally:
                portable.BATCH_ROWS, Store.transaction = default, real  # type: ignore[method-assign]
        label = "one transaction" if rows == 10**12 else f"batches of {rows} rows"
        print(f"{attempts} attempts, {label}: {len(holds)} transaction(s), longest lock {max(holds):.2f} s, "
              f"total {total:.2f} s")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 4000)
