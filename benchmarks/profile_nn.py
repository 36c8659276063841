"""Where one training step's time goes, layer by layer: the profiles at the end of RESULTS.md.

    python benchmarks/profile_nn.py cnn           # prints {"markdown": ..., "floor": ...} as JSON
    python benchmarks/profile_nn.py gpt '{"batch_size": 32}'

bench_nn.py runs this in a child for each profiled model (mlp, cnn, lstm, gpt) after the timings, so a
profile never shares an interpreter with a benchmark; the child inherits bench_nn's thread and malloc
settings (run by hand, set MALLOC_MMAP_THRESHOLD_ yourself to match). Each leaf layer's forward and
backward is wrapped with a timer; the loss, the optimiser step and the whole step are timed around
them, and "the rest" is what the step spends outside all of those. For the LSTM, `lstm_floor` also
measures where the floor is: every matrix product of its step alone (the same shapes and calls), and
the time loop's elementwise work alone (the layer with its per-step products stubbed out).
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
    for pass_name in ("forward", "forward_tokens", "backward"):  # forward_tokens: a token-fed recurrent layer
        if not hasattr(layer, pass_name):
            continue
        def timed(*args, _method=getattr(layer, pass_name), _times=log[pass_name.split("_")[0]], **kwargs):
            start = time.process_time()
            out = _method(*args, **kwargs)
            _times.append(time.process_time() - start)
            spent[0] += _times[-1]
            return out

        setattr(layer, pass_name, timed)


def profile_step(title: str, model, x: np.ndarray, y: np.ndarray, loss, repeats: int) -> tuple[str, float]:
    """Fastest microseconds per leaf layer (forward, backward), the loss, Adam and the whole step, in
    process CPU time (time.process_time, like bench_nn.py's protocol: waiting for a core does not
    count); the minimum is the figure least disturbed by other load on a shared machine."""
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
        start = time.process_time()
        opt.zero_grad()
        out = model.forward(x)
        mark = time.process_time()
        loss.forward(out, y)
        grad = loss.backward()
        parts["loss, forward and backward"].append(time.process_time() - mark)
        model.backward(grad)
        mark = time.process_time()
        opt.step()
        parts["Adam step"].append(time.process_time() - mark)
        parts["whole step"].append(time.process_time() - start)
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
    ]) + "\n", min(parts["whole step"])


def fastest(fn, repeats: int) -> float:
    """The fastest of `repeats` calls, in seconds of process CPU time (after one warm-up call)."""
    fn()
    best = float("inf")
    for _ in range(repeats):
        start = time.process_time()
        fn()
        best = min(best, time.process_time() - start)
    return best


def lstm_floor(batch: int, vocab: int, steps: int = SEQ_LEN, embed: int = 32, hidden: int = 128,
               repeats: int = 20) -> dict:
    """Where the char LSTM's step time goes, in seconds:
    - products_s: every matrix product of a training step alone, the same shapes and calls as the
      library (labs.nn.recurrent): the table E W_x, the gather of its rows, T blocked recurrent products
      forward and T backward, dW_h, the per-token scatter S and E^T S, S W_x^T, and the head's three;
    - loop_s: the LSTM layer's forward and backward with the per-step products stubbed out (their output
      zeroed instead), less the layer's products outside the time loop: the loops' elementwise work."""
    from labs.nn.embedding import scatter_rows
    from labs.nn.recurrent import LSTM, BlockedProduct

    rng = np.random.default_rng(0)
    f32 = np.float32
    ids = rng.integers(0, vocab, (batch, steps))
    ids_tm = np.ascontiguousarray(ids.T)
    table, w_x = rng.standard_normal((vocab, embed)).astype(f32), rng.random((embed, 4 * hidden), f32)
    w_h, w_head = rng.random((hidden, 4 * hidden), f32) * 0.1, rng.random((hidden, vocab), f32)
    h, d = rng.random((steps, batch, hidden), f32), rng.random((steps, batch, 4 * hidden), f32)
    dlogits = rng.random((steps * batch, vocab), f32)
    out_f, out_b = np.empty((batch, 4 * hidden), f32), np.empty((batch, hidden), f32)
    forward, backward = BlockedProduct(w_h, batch), BlockedProduct(np.ascontiguousarray(w_h.T), batch)

    def outside_loop():  # the products of the layer outside its time loop
        (table @ w_x)[ids_tm]
        flat = d.reshape(-1, 4 * hidden)
        h.reshape(-1, hidden).T @ flat
        per_token = scatter_rows(ids_tm, flat, vocab)
        table.T @ per_token, per_token @ w_x.T

    def products():
        outside_loop()
        for t in range(steps):
            forward(h[t], out=out_f)
        for t in range(steps):
            backward(d[t], out=out_b)
        flat_h = h.reshape(-1, hidden)
        flat_h @ w_head, flat_h.T @ dlogits, dlogits @ w_head.T

    layer = LSTM(embed, hidden, rng=rng)
    grad = rng.standard_normal((batch, steps, hidden)).astype(f32)

    def layer_step():
        layer.forward_tokens(ids, layer_table)
        layer.backward(grad)

    layer_table = table
    products_s = fastest(products, repeats)
    real_call = BlockedProduct.__call__
    try:
        BlockedProduct.__call__ = lambda self, a, out: out.fill(0.0)
        stubbed_s = fastest(layer_step, repeats)
    finally:
        BlockedProduct.__call__ = real_call
    loop_s = max(stubbed_s - fastest(outside_loop, repeats), 0.0)
    return {"products_s": products_s, "loop_s": loop_s, "repeats": repeats}


def run_profile(name: str, cfg: Config) -> dict:
    """In a worker: {"markdown": the profile table, "floor": lstm_floor()'s figures and the whole step, or None}."""
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
    markdown, step_s = profile_step(title, model, x, y, loss, PROFILE_REPEATS[name])
    floor = None
    if name == "lstm":
        floor = {**lstm_floor(cfg.batch_size, vocab), "step_s": step_s,
                 "torch_step_s": torch_lstm_step(x, y, vocab, PROFILE_REPEATS[name])}
    return {"markdown": markdown, "floor": floor}


def torch_lstm_step(x: np.ndarray, y: np.ndarray, vocab: int, repeats: int) -> float | None:
    """torch's char LSTM training step on the same batch, fastest of `repeats` in process CPU time, one
    thread (None without torch): imported only after our own figures are taken."""
    try:
        import torch
    except ImportError:
        return None
    from bench_nn import torch_char_model

    torch.set_num_threads(1)
    torch.manual_seed(0)
    model = torch_char_model("lstm", vocab)
    opt, loss_fn = torch.optim.Adam(model.parameters()), torch.nn.CrossEntropyLoss()
    xt, yt = torch.from_numpy(np.ascontiguousarray(x)), torch.from_numpy(np.ascontiguousarray(y)).reshape(-1)

    def step():
        opt.zero_grad()
        loss_fn(model(xt).reshape(-1, vocab), yt).backward()
        opt.step()

    return fastest(step, repeats)


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
