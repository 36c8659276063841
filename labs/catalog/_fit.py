"""The scaling-laws lab's power-law fit and the picture it records: pure functions, no training.

The law is L(N) = E + A * N^-alpha (E >= 0 the irreducible floor). The fit is judged in LOG space on the
loss itself: it minimises the sum of (log L - log(E + A N^-alpha))^2, so every model counts alike and the
floor is not rewarded for bending the line (maximising the R^2 of log(L - E) instead favours a large E:
as E nears min(L) the smallest model's log(L - E) runs off to -inf and drags the line wherever it likes).
For each candidate floor, A and alpha are the straight line through log(L - E) against log N; the floor
is searched on a grid in [0, min L) that is refined around its best point.

`ScalingPicture` is what the lab records for the log-log plot (the attempt view, the live lab, the HTML
report): the (N, final loss) points and the fitted law, stored in the run's final metrics under the names
`n_params_width_<w>` and `val_loss_width_<w>` (one pair per width) and `a`, `alpha`, `c` (A, alpha, E) and
`r2`; `ScalingPicture.from_metrics` reads them back from a recorded attempt.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from pydantic import BaseModel

GRID, ZOOM_POINTS, ZOOM_ROUNDS = 400, 41, 10


@dataclass(frozen=True)
class PowerFit:
    a: float
    alpha: float
    c: float  # the floor E (0 for the fit without one)
    r2: float  # 1 - SS_res / SS_tot of log L against log of the law's prediction

    def predict(self, n: np.ndarray) -> np.ndarray:
        return self.a * np.asarray(n, dtype=np.float64) ** -self.alpha + self.c


def _lines(x: np.ndarray, loss: np.ndarray, floors: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For each floor E: (log A, alpha) of the least-squares line log(L - E) = log A - alpha log N, and the
    log-space sum of squares of log L against log(E + A N^-alpha). Shapes (floors,)."""
    y = np.log(loss[None, :] - floors[:, None])  # (floors, points)
    xc = x - x.mean()
    slope = (y - y.mean(axis=1, keepdims=True)) @ xc / (xc @ xc)
    intercept = y.mean(axis=1) - slope * x.mean()
    predicted = floors[:, None] + np.exp(intercept[:, None] + slope[:, None] * x[None, :])
    sse = ((np.log(loss)[None, :] - np.log(predicted)) ** 2).sum(axis=1)
    return intercept, -slope, sse


def fit_power_law(n: np.ndarray, loss: np.ndarray, offset: bool = False) -> PowerFit:
    """Fit loss = A N^-alpha (+ E with `offset`, E in [0, min loss)) by least squares in log space."""
    x = np.log(np.asarray(n, dtype=np.float64))
    loss = np.asarray(loss, dtype=np.float64)
    floors = np.linspace(0.0, loss.min() * (1 - 1e-9), GRID) if offset else np.zeros(1)
    log_a, alpha, sse = _lines(x, loss, floors)
    best = int(np.argmin(sse))
    for _ in range(ZOOM_ROUNDS if offset else 0):  # 20x narrower each round, around the best floor so far
        low, high = floors[max(best - 1, 0)], floors[min(best + 1, len(floors) - 1)]
        floors = np.linspace(low, high, ZOOM_POINTS)
        log_a, alpha, sse = _lines(x, loss, floors)
        best = int(np.argmin(sse))
    log_loss = np.log(loss)
    total = float(((log_loss - log_loss.mean()) ** 2).sum())
    r2 = 1.0 - float(sse[best]) / max(total, 1e-300)
    return PowerFit(float(np.exp(log_a[best])), float(alpha[best]), float(floors[best]), r2)


class ScalingPicture(BaseModel):
    """Final loss against parameter count for a scaling-laws run, with the law fitted to it."""

    n_params: list[float]  # increasing
    losses: list[float]
    E: float
    A: float
    alpha: float
    r2: float | None = None

    def to_metrics(self, widths: list[int]) -> dict[str, float]:
        out = {f"n_params_width_{w}": float(n) for w, n in zip(widths, self.n_params)}
        out.update({f"val_loss_width_{w}": float(v) for w, v in zip(widths, self.losses)})
        out.update({"a": self.A, "alpha": self.alpha, "c": self.E})
        if self.r2 is not None:
            out["r2"] = self.r2
        return out

    @classmethod
    def from_metrics(cls, metrics: Mapping[str, float | None]) -> ScalingPicture | None:
        """The picture recorded in a run's final metrics, or None (another lab, an older or failed run)."""
        widths = sorted(int(m.group(1)) for key in metrics if (m := re.fullmatch(r"n_params_width_(\d+)", key)))
        n_params = [metrics.get(f"n_params_width_{w}") for w in widths]
        losses = [metrics.get(f"val_loss_width_{w}") for w in widths]
        E, A, alpha = (metrics.get(k) for k in ("c", "a", "alpha"))
        if len(widths) < 2 or E is None or A is None or alpha is None:
            return None
        if any(n is None for n in n_params) or any(v is None or v <= 0 for v in losses):
            return None  # a non-finite loss was recorded as null: no logarithm to draw
        return cls.model_validate({"n_params": n_params, "losses": losses, "E": E, "A": A, "alpha": alpha,
                                   "r2": metrics.get("r2")})

    def predict(self, n: np.ndarray) -> np.ndarray:
        return self.E + self.A * np.asarray(n, dtype=np.float64) ** -self.alpha

    def curve(self, points: int = 60) -> tuple[np.ndarray, np.ndarray]:
        """The fitted law sampled evenly in log N over the measured sizes and a little beyond."""
        n = np.geomspace(min(self.n_params) / 1.25, max(self.n_params) * 1.25, points)
        return n, self.predict(n)

    def caption(self) -> str:
        """'L(N) = E + A·N^-alpha, alpha = 0.05, E = 1.20' (with the fitted A too)."""
        return (f"L(N) = E + A·N^-alpha, alpha = {self.alpha:.2f}, E = {self.E:.2f}"
                f" (A = {self.A:.3g})")
