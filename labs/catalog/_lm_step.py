"""One optimiser step of a language model, as the BPE-token labs train theirs (bpe-tokens, modern-lm,
decoding-sweep, the LLM capstone):

    loss = CE(model(x), y);  guard(loss);  backprop;  clip the global gradient norm to 1;  AdamW update at `lr`

`guard` sees the loss before the backward pass (a lab's `ctx.guard`, which stops a diverging run with
its curve drawn to the stop).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from labs.nn import clip_grad_norm


def lm_step(model: Any, loss_fn: Any, opt: Any, weights: Sequence[Any], x: np.ndarray, y: np.ndarray, *,
            lr: float, guard: Callable[[float], None]) -> float:
    """The step above on the batch (x, y); returns its loss."""
    opt.lr = lr
    opt.zero_grad()
    loss = loss_fn.forward(model.forward(x), y)
    guard(loss)
    model.backward(loss_fn.backward())
    clip_grad_norm(weights, 1.0)
    opt.step()
    return loss
