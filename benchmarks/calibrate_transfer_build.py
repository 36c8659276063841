"""Calibrate the transfer-digits build's training check over seeds: the checker's recipe, with the
reference solution's pieces called directly (no learner process), on the seed's pretraining and its 50
labels.

    python benchmarks/calibrate_transfer_build.py --seeds 10
    python benchmarks/calibrate_transfer_build.py --cv --seeds 10     # the capstone-cv-engineer build's network

Per seed: the whole network fine-tuned from the pretrained weights vs the same ConvNet from scratch on the
same augmented batches (the margin the check asks for), the lift of the learner's augmentation on digits
moved by one pixel, and head-only fine-tuning. The checker grades seed 0; the other seeds show how far
that one draw can be trusted. With --cv: the capstone-cv-engineer build's residual ConvNet and recipe
(20 epochs, Adam 0.003 on a cosine, batches shifted by one pixel) through the digit labs' own training loop,
whose random shifts draw the same five choices as the reference augment_batch. Prints one Markdown row per
seed and a summary line.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from labs.catalog._training import accuracy  # noqa: E402
from labs.catalog.transfer_digits import (make_task, new_convnet, pretrain, shifted_accuracy,  # noqa: E402
                                          with_new_head)
from labs.datasets import load_digits  # noqa: E402
from labs.implement.checks import transfer_digits as C  # noqa: E402
from labs.implement.solutions import transfer_digits as ref  # noqa: E402


def one_seed(seed: int) -> dict[str, float]:
    task = make_task(load_digits(), seed)
    pre = pretrain(task, seed)
    rng = np.random.default_rng([seed, 21])
    n = len(task.labelled_y)
    perm, dx, dy, deg, z = C._amounts_for(rng, n, C.STEPS)
    ax, ay = ref.augment_batch(np.tile(task.labelled_x, (C.STEPS, 1, 1, 1)), np.tile(task.labelled_y, C.STEPS),
                               perm, dx, dy, deg, z, C.SIGMA)
    augmented = [(ax[s * n:(s + 1) * n].astype(np.float32), ay[s * n:(s + 1) * n]) for s in range(C.STEPS)]
    plain = [(task.labelled_x, task.labelled_y)] * C.STEPS
    mask = ref.freeze_mask([name for name, _ in pre.named_parameters()], C.HEAD + ".", "head")
    models = {}
    for name, start, batches, trainable in (("head", with_new_head, augmented, mask),
                                            ("whole", with_new_head, augmented, [True] * len(mask)),
                                            ("plain", with_new_head, plain, [True] * len(mask)),
                                            ("scratch", None, augmented, [True] * len(mask))):
        r = np.random.default_rng([seed, 11])
        model = new_convnet(r) if start is None else start(pre, r)
        C._finetune(model, batches, trainable, C._reference_step_fn)
        models[name] = model
    acc = {k: accuracy(m, task.test_x, task.test_y) for k, m in models.items()}
    return {"whole": acc["whole"], "scratch": acc["scratch"], "head": acc["head"],
            "margin": acc["whole"] - acc["scratch"],
            "lift": shifted_accuracy(models["whole"], task.test_x, task.test_y)
            - shifted_accuracy(models["plain"], task.test_x, task.test_y)}


def cv_seed(seed: int) -> tuple[float, float]:
    from labs.catalog._digits import train_on_digits
    from labs.implement.checks import capstone_cv_engineer as cv

    rng = np.random.default_rng(seed)
    r = train_on_digits(cv.residual_convnet(rng), load_digits(), optimizer="adam", lr=cv.LR, weight_decay=0.0,
                        batch_size=cv.BATCH, epochs=cv.EPOCHS, rng=rng, images=True, ctx=None, augment=True,
                        cosine=True)
    return r.test_accuracy, r.shifted_accuracy


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--cv", action="store_true", help="the capstone-cv-engineer build's network instead")
    args = parser.parse_args(argv)
    if args.cv:
        print("| seed | test accuracy | shifted digits | seconds |\n|---|---|---|---|")
        for seed in range(args.seeds):
            t0 = time.perf_counter()
            test, shifted = cv_seed(seed)
            print(f"| {seed} | {test:.4f} | {shifted:.4f} | {time.perf_counter() - t0:.1f} |", flush=True)
        return 0
    rows = []
    print("| seed | whole | scratch | margin | head only | shift lift | seconds |")
    print("|---|---|---|---|---|---|---|")
    for seed in range(args.seeds):
        t0 = time.perf_counter()
        r = one_seed(seed)
        rows.append(r)
        print(f"| {seed} | {r['whole']:.4f} | {r['scratch']:.4f} | {r['margin']:+.4f} | {r['head']:.4f} | "
              f"{r['lift']:+.4f} | {time.perf_counter() - t0:.1f} |", flush=True)
    ok = sum(r["margin"] >= C.MARGIN and r["lift"] >= C.LIFT for r in rows)
    margins = [r["margin"] for r in rows]
    print(f"\nmargin {statistics.mean(margins):+.4f} (min {min(margins):+.4f}); "
          f"{ok}/{len(rows)} seeds meet margin {C.MARGIN} and lift {C.LIFT}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
