"""Where one training step's time goes, layer by layer: the profiles at the end of RESULTS.md.

    python benchmarks/profile_nn.py cnn           # prints {"markdown": ..., "floor_s": ...} as JSON
    python benchmarks/profile_nn.py gpt '{"batch_size": 32}'

bench_nn.py runs this in a child for each profiled model (mlp, cnn, lstm, gpt) after the timings, so a
profile never shares an interpreter with a benchmark; the child inherits bench_nn's thread and malloc
settings (run by hand, set MALLOC_MMAP_THRESHOLD_ yourself to match). Each leaf layer's forward and
backward is wrapped with a timer; the loss, the optimiser step and the whole step are timed around
them, and "the rest" is what the step spends outside all of those.
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import fields

import numpy as np

from bench_nn import SEQ_LEN, Config, load_chars, text_batches

PROFILE_REPEATS = {"mlp": 200, "cnn": 200, "lstm": 20, "gpt": 20}


def leaf_layers(layer, prefix: str = ""):
    """(dotted name, layer) for every layer without children: the ones that do the arithmetic."""
    for name, child in layer.children.items():
        if child.children:
            yield from leaf_layers(child, f"{prefix}{name}.")
        else:
            yield f"{prefix}{name}", child


def time_calls(layer, log: dict[str, list[float]], spent: list[float]) -> None:
    """Make this layer object's forward and backward append their durations to log["forward"/"backward"]
    and add them to spent[0], the time inside leaf layers during the current step."""
    for pass_name in ("forward", "backward"):
        def timed(*args, _method=getattr(layer, pass_name), _times=log[pass_name], **kwargs):
            start = time.perf_counter()
            out = _method(*args, **kwargs)
            _times.append(time.perf_counter() - start)
            spent[0] += _times[-1]
            return out

        setattr(layer, pass_name, timed)


def profile_step(title: str, model, x: np.ndarray, y: np.ndarray, loss, repeats: int) -> str:
    """Fastest microseconds per leaf layer (forward, backward), the loss, Adam and the whole step: the
    minimum, like the epoch times, is the figure least disturbed by other load on a shared machine."""
    from labs.nn import Adam

    opt = Adam(model.parameters())
    leaves = list(leaf_layers(model))
    logs = {name: {"forward": [], "backward": []} for name, _ in leaves}
    spent = [0.0]
    for name, layer in leaves:
        time_calls(layer, logs[name], spent)
    parts: dict[str, list[float]] = {"loss, forward and backward": [], "Adam step": [], "whole step": []}
    rest = []  # per step: the whole step minus the time inside layers, the loss and Adam
    for _ in range(repeats):
        spent[0] = 0.0
        start = time.perf_counter()
        opt.zero_grad()
        out = model.forward(x)
        mark = time.perf_counter()
        loss.forward(out, y)
        grad = loss.backward()
        parts["loss, forward and backward"].append(time.perf_counter() - mark)
        model.backward(grad)
        mark = time.perf_counter()
        opt.step()
        parts["Adam step"].append(time.perf_counter() - mark)
        parts["whole step"].append(time.perf_counter() - start)
        rest.append(parts["whole step"][-1] - spent[0] - parts["loss, forward and backward"][-1]
                    - parts["Adam step"][-1])

    def us(values: list[float]) -> float:
        return min(values) * 1e6 if values else 0.0

    rows = [f"| {name} {type(layer).__name__} | {us(logs[name]['forward']):.0f} | {us(logs[name]['backward']):.0f} |"
            for name, layer in leaves]
    rows += [f"| {name} | {us(v):.0f} | |" for name, v in parts.items()]
    rows.append(f"| rest of the step (glue between layers: residual adds, reshapes, zero_grad) | {us(rest):.0f} | |")
    return "\n".join([
        f"## Profile: {title} (microseconds, fastest of {repeats})", "",
        "| layer | forward | backward |", "|---|---|---|", *rows,
    ]) + "\n"


def lstm_matmul_floor(batch: int, steps: int = SEQ_LEN, embed: int = 32, hidden: int = 128,
                      repeats: int = 10) -> float:
    """Seconds the char LSTM's matrix products alone take, same shapes and BLAS, nothing else: the input
    projection, T recurrent products forward and T backward, and the three gradient products."""
    rng = np.random.default_rng(0)
    x, d = rng.random((steps * batch, embed), np.float32), rng.random((steps, batch, 4 * hidden), np.float32)
    h, w_x = rng.random((steps, batch, hidden), np.float32), rng.random((embed, 4 * hidden), np.float32)
    w_h, w_h_t = rng.random((hidden, 4 * hidden), np.float32), rng.random((4 * hidden, hidden), np.float32)
    out_f, out_b = np.empty((batch, 4 * hidden), np.float32), np.empty((batch, hidden), np.float32)
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        x @ w_x
        for t in range(steps):
            np.matmul(h[t], w_h, out=out_f)
        for t in range(steps):
            np.matmul(d[t], w_h_t, out=out_b)
        flat = d.reshape(-1, 4 * hidden)
        x.T @ flat, h.reshape(-1, hidden).T @ flat, flat @ w_x.T
        best = min(best, time.perf_counter() - start)
    return best


def run_profile(name: str, cfg: Config) -> dict:
    """In a worker: {"markdown": the profile table, "floor_s": the LSTM's matmul floor or None}."""
    from labs.nn import MLP, CharRNN, ConvNet, SequenceCrossEntropy, SoftmaxCrossEntropy, TinyGPT

    rng = np.random.default_rng(cfg.seed)
    if name in ("mlp", "cnn"):  # random digits-shaped inputs: the timings do not depend on the values
        if name == "mlp":
            model, shape, title = MLP([64, 128, 10], rng=rng), (cfg.batch_size, 64), "our MLP 64-128-10"
        else:
            model, shape, title = ConvNet(filters=(8, 16), hidden=64, rng=rng), (cfg.batch_size, 1, 8, 8), "our ConvNet"
        x, y = rng.random(shape, dtype=np.float32), np.arange(cfg.batch_size) % 10
        title, loss = f"{title}, one step of batch {cfg.batch_size}", SoftmaxCrossEntropy()
    else:
        train, _, vocab = load_chars()
        x, y = next(text_batches(train, cfg, rng))
        loss = SequenceCrossEntropy()
        if name == "lstm":
            model, title = CharRNN(vocab, 128, cell="lstm", embedding_dim=32, rng=rng), "our char LSTM"
        else:
            model, title = TinyGPT(vocab, SEQ_LEN, n_layer=2, n_head=4, dim=64, rng=rng), "our tiny GPT"
        title += f", one step of batch {cfg.batch_size} x {SEQ_LEN} characters"
    markdown = profile_step(title, model, x, y, loss, PROFILE_REPEATS[name])
    return {"markdown": markdown, "floor_s": lstm_matmul_floor(cfg.batch_size) if name == "lstm" else None}


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in PROFILE_REPEATS:
        print(f"usage: profile_nn.py {{{'|'.join(PROFILE_REPEATS)}}} [CONFIG as JSON]", file=sys.stderr)
        return 2
    overrides = json.loads(argv[1]) if len(argv) > 1 else {}
    known = {f.name for f in fields(Config)}
    if set(overrides) - known:
        print(f"unknown config fields {sorted(set(overrides) - known)}; known: {sorted(known)}", file=sys.stderr)
        return 2
    print(json.dumps(run_profile(argv[0], Config(**overrides))))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
