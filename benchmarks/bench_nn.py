"""Train the same networks on the digits in labs.nn and in PyTorch (CPU), side by side, and write RESULTS.md.

    python benchmarks/bench_nn.py                 # all benchmarks, writes benchmarks/RESULTS.md
    python benchmarks/bench_nn.py --only mlp      # one of them
    python benchmarks/bench_nn.py --epochs 3 --no-write

Protocol (issue 18: figures that hold on a busy, shared machine):
- every (round, benchmark, framework) run is a fresh child process, so peak memory (ru_maxrss) is that
  run's alone and torch's import never weighs on the NumPy figures;
- ROUNDS rounds (--rounds), alternating the order inside a round (ours then torch, then torch then
  ours, ...), so both sides see the same background load and neither always runs second;
- a child times every epoch with time.process_time() (the CPU time of the process: time spent waiting
  for a core while other people's work runs does not count) and time.perf_counter() (wall), drops the
  first epoch (warm-up: first-call allocations, torch's dispatcher caches) and reports the median of
  the rest; a round's ratio is ours / torch of that round's two children;
- the table gives the median and the range (min-max) over the rounds, and a ratio is met only when its
  MEDIAN is at or under the target; the machine's load average before and after is printed and written;
- both frameworks run on ONE thread (OMP/OpenBLAS/MKL threads = 1, forced, and torch.set_num_threads(1)):
  the comparison is about the code, not about who grabs more cores. Each child reports the BLAS kernel
  it runs (threadpoolctl, when installed) and whether OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE are set; this
  script never changes those two (to benchmark without them, unset both in that command alone).
After the timings, the layer-by-layer profiles at the end of RESULTS.md come from
benchmarks/profile_nn.py, run in a child per model.

To add a benchmark (e.g. an RNN or a tiny GPT), add an entry to BENCHMARKS: a `Benchmark` with two
functions `ours(cfg) -> Run` and `torch(cfg) -> Run`. Without torch installed (`pip install .[bench]`)
the torch side is skipped with a message and the script still reports our own figures.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"  # forced, not defaulted: a shell's OMP_NUM_THREADS=4 would skew one side
# As labs.runner does: keep glibc from handing big temporaries back to the OS after every step (measured
# on the tiny GPT: 50.6 -> 36.6 ms per step). Children inherit these; they act at interpreter start.
os.environ.setdefault("MALLOC_MMAP_THRESHOLD_", str(32 * 1024 * 1024))
os.environ.setdefault("MALLOC_TRIM_THRESHOLD_", str(512 * 1024 * 1024))

import argparse  # noqa: E402
import gzip  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import re  # noqa: E402
import resource  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from dataclasses import asdict, dataclass  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "RESULTS.md"
SHARED_DIGITS = Path("/work/shared/data/digits.csv.gz")


@dataclass
class Config:
    epochs: int = 20
    batch_size: int = 32
    lr: float = 1e-3
    seed: int = 0


@dataclass
class Run:
    cpu_s: float            # process CPU seconds per epoch: median over the epochs after the first
    wall_s: float           # wall seconds per epoch, the same epochs
    test_accuracy: float
    peak_rss_mb: float      # the child process's peak resident memory (imports included)
    note: str = ""
    last_loss: float = float("nan")  # mean training loss over the last epoch: both sides learn alike
    blas: str = ""          # the BLAS the child ran (kernel, threads), and the OPENBLAS_* overrides set


class EpochClock:
    """Per-epoch process CPU time and wall time; `per_epoch()` drops the first (warm-up) epoch."""

    def __init__(self):
        self.cpu: list[float] = []
        self.wall: list[float] = []

    def __enter__(self):
        self._cpu, self._wall = time.process_time(), time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.cpu.append(time.process_time() - self._cpu)
        self.wall.append(time.perf_counter() - self._wall)

    def per_epoch(self) -> tuple[float, float]:
        keep = slice(1, None) if len(self.cpu) > 1 else slice(None)
        return statistics.median(self.cpu[keep]), statistics.median(self.wall[keep])


def blas_note() -> str:
    """Which BLAS kernel this process runs and on how many threads, and the OPENBLAS_* overrides set."""
    overrides = [f"{v}={os.environ[v]}" for v in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE") if v in os.environ]
    try:
        from threadpoolctl import threadpool_info

        pools = [f"{i.get('internal_api')} {i.get('architecture', '?')} x{i.get('num_threads')}"
                 for i in threadpool_info() if i.get("user_api") == "blas"]
    except ImportError:
        pools = ["kernel unknown (pip install threadpoolctl to see it)"]
    return ", ".join(pools) + "; " + (" ".join(overrides) if overrides else "OPENBLAS_CORETYPE/L2_SIZE unset")


@dataclass
class Benchmark:
    description: str
    ours: Callable[[Config], Run]
    torch: Callable[[Config], Run]
    target_ratio: float | None = None   # ours / torch time per epoch should stay at or below this


# -- data ---------------------------------------------------------------------------------------
def load_digits() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(x_train, y_train, x_test, y_test), x flat float32 in [0, 1]: the bundled split when present."""
    try:
        sys.path.insert(0, str(ROOT))
        from labs.datasets import load_digits as bundled

        d = bundled()
        return d.train.x, d.train.y, d.test.x, d.test.y
    except (ImportError, FileNotFoundError):
        table = np.loadtxt(gzip.open(SHARED_DIGITS, "rt"), delimiter=",")
        x, y = (table[:, :-1] / 16.0).astype(np.float32), table[:, -1].astype(np.int64)
        order = np.random.default_rng(0).permutation(len(y))
        cut = int(0.8 * len(y))
        return x[order[:cut]], y[order[:cut]], x[order[cut:]], y[order[cut:]]


def batches(n: int, batch_size: int, rng: np.random.Generator):
    order = rng.permutation(n)
    for start in range(0, n, batch_size):
        yield order[start:start + batch_size]


def peak_rss_mb() -> float:
    kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return kb / (1024 * 1024) if sys.platform == "darwin" else kb / 1024


# -- our side --------------------------------------------------------------------------------------
def train_ours(model, cfg: Config, images: bool) -> Run:
    from labs.nn import Adam, SoftmaxCrossEntropy

    x_train, y_train, x_test, y_test = load_digits()
    if images:
        x_train, x_test = x_train.reshape(-1, 1, 8, 8), x_test.reshape(-1, 1, 8, 8)
    loss, opt = SoftmaxCrossEntropy(), Adam(model.parameters(), lr=cfg.lr)
    rng = np.random.default_rng(cfg.seed)
    clock = EpochClock()
    for _ in range(cfg.epochs):
        with clock:
            losses = []
            for idx in batches(len(y_train), cfg.batch_size, rng):
                opt.zero_grad()
                losses.append(loss.forward(model.forward(x_train[idx]), y_train[idx]))
                model.backward(loss.backward())
                opt.step()
    model.eval()
    accuracy = float((model.forward(x_test).argmax(axis=1) == y_test).mean())
    return Run(*clock.per_epoch(), accuracy, peak_rss_mb(), last_loss=float(np.mean(losses)), blas=blas_note())


def ours_mlp(cfg: Config) -> Run:
    from labs.nn import MLP

    return train_ours(MLP([64, 128, 10], rng=np.random.default_rng(cfg.seed)), cfg, images=False)


def ours_cnn(cfg: Config) -> Run:
    from labs.nn import ConvNet

    return train_ours(ConvNet(filters=(8, 16), hidden=64, rng=np.random.default_rng(cfg.seed)), cfg, images=True)


# -- torch side ------------------------------------------------------------------------------------
def torch_note(torch) -> str:
    return f"torch {torch.__version__}, {torch.get_num_threads()} thread(s)"


def train_torch(make_model: Callable, cfg: Config, images: bool) -> Run:
    import torch

    torch.set_num_threads(1)
    torch.manual_seed(cfg.seed)
    x_train, y_train, x_test, y_test = load_digits()
    if images:
        x_train, x_test = x_train.reshape(-1, 1, 8, 8), x_test.reshape(-1, 1, 8, 8)
    xt, yt = torch.from_numpy(np.ascontiguousarray(x_train)), torch.from_numpy(y_train)
    model = make_model(torch.nn)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    loss_fn = torch.nn.CrossEntropyLoss()
    rng = np.random.default_rng(cfg.seed)
    clock = EpochClock()
    for _ in range(cfg.epochs):
        with clock:
            losses = []
            for idx in batches(len(y_train), cfg.batch_size, rng):
                index = torch.from_numpy(idx)
                opt.zero_grad()
                value = loss_fn(model(xt[index]), yt[index])
                value.backward()
                losses.append(value.item())
                opt.step()
    model.eval()
    with torch.no_grad():
        predicted = model(torch.from_numpy(np.ascontiguousarray(x_test))).argmax(dim=1).numpy()
    return Run(*clock.per_epoch(), float((predicted == y_test).mean()), peak_rss_mb(),
               note=torch_note(torch), last_loss=float(np.mean(losses)), blas=blas_note())


def torch_mlp(cfg: Config) -> Run:
    return train_torch(lambda nn: nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 10)), cfg, False)


def torch_cnn(cfg: Config) -> Run:
    def make(nn):
        return nn.Sequential(
            nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10),
        )

    return train_torch(make, cfg, True)


# -- language models on tiny Shakespeare: an "epoch" is TEXT_STEPS steps on random windows, and the
# accuracy is next-character accuracy on the validation text ------------------------------------------
TEXT_STEPS = 20
TEXT_EPOCHS = 5  # at most: a text step costs tens of milliseconds, not microseconds
SEQ_LEN = 64


def load_chars() -> tuple[np.ndarray, np.ndarray, int]:
    sys.path.insert(0, str(ROOT))
    from labs.datasets import load_text

    corpus = load_text(50_000)
    return corpus.train, corpus.val, corpus.vocab_size


def text_batches(ids: np.ndarray, cfg: Config, rng: np.random.Generator):
    """TEXT_STEPS batches of windows at random offsets: (inputs, next characters), each (B, SEQ_LEN)."""
    for _ in range(TEXT_STEPS):
        starts = rng.integers(0, len(ids) - SEQ_LEN, size=cfg.batch_size)
        windows = ids[starts[:, None] + np.arange(SEQ_LEN + 1)]
        yield windows[:, :-1], windows[:, 1:]


def val_windows(ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    n = (len(ids) - 1) // SEQ_LEN
    return ids[: n * SEQ_LEN].reshape(n, SEQ_LEN), ids[1 : n * SEQ_LEN + 1].reshape(n, SEQ_LEN)


def train_text_ours(model, cfg: Config) -> Run:
    from labs.nn import Adam, SequenceCrossEntropy

    train, val, _ = load_chars()
    loss, opt = SequenceCrossEntropy(), Adam(model.parameters(), lr=cfg.lr)
    rng = np.random.default_rng(cfg.seed)
    clock = EpochClock()
    for _ in range(min(cfg.epochs, TEXT_EPOCHS)):
        with clock:
            losses = []
            for x, y in text_batches(train, cfg, rng):
                opt.zero_grad()
                losses.append(loss.forward(model.forward(x), y))
                model.backward(loss.backward())
                opt.step()
    x, y = val_windows(val)
    return Run(*clock.per_epoch(), float((model.forward(x).argmax(axis=-1) == y).mean()), peak_rss_mb(),
               last_loss=float(np.mean(losses)), blas=blas_note())


def ours_charrnn(cfg: Config, cell: str) -> Run:
    from labs.nn import CharRNN

    vocab = load_chars()[2]
    return train_text_ours(CharRNN(vocab, 128, cell=cell, embedding_dim=32, rng=np.random.default_rng(cfg.seed)),
                           cfg)


def ours_rnn(cfg: Config) -> Run:
    return ours_charrnn(cfg, "rnn")


def ours_lstm(cfg: Config) -> Run:
    return ours_charrnn(cfg, "lstm")


def ours_gpt(cfg: Config) -> Run:
    from labs.nn import TinyGPT

    vocab = load_chars()[2]
    return train_text_ours(TinyGPT(vocab, SEQ_LEN, n_layer=2, n_head=4, dim=64, rng=np.random.default_rng(cfg.seed)),
                           cfg)


def ours_modern(cfg: Config) -> Run:
    from labs.nn.modern import ModernLM

    vocab = load_chars()[2]
    return train_text_ours(ModernLM(vocab, SEQ_LEN, n_layer=2, n_head=4, dim=64, rng=np.random.default_rng(cfg.seed)),
                           cfg)


def train_text_torch(model, cfg: Config) -> Run:
    import torch

    train, val, vocab = load_chars()
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    loss_fn = torch.nn.CrossEntropyLoss()
    rng = np.random.default_rng(cfg.seed)
    clock = EpochClock()
    for _ in range(min(cfg.epochs, TEXT_EPOCHS)):
        with clock:
            losses = []
            for x, y in text_batches(train, cfg, rng):
                opt.zero_grad()
                logits = model(torch.from_numpy(x))
                value = loss_fn(logits.reshape(-1, vocab), torch.from_numpy(y).reshape(-1))
                value.backward()
                losses.append(value.item())
                opt.step()
    x, y = val_windows(val)
    with torch.no_grad():
        predicted = model(torch.from_numpy(x)).argmax(dim=-1).numpy()
    return Run(*clock.per_epoch(), float((predicted == y).mean()), peak_rss_mb(), note=torch_note(torch),
               last_loss=float(np.mean(losses)), blas=blas_note())


def torch_char_model(cell: str, vocab: int):
    """torch's char RNN/LSTM, the same shapes as ours: embedding 32, hidden 128, linear head."""
    from torch import nn

    recurrent = {"rnn": nn.RNN, "lstm": nn.LSTM}[cell]  # nn.RNN is the tanh (Elman) cell, like ours

    class CharModel(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed, self.rnn = nn.Embedding(vocab, 32), recurrent(32, 128, batch_first=True)
            self.head = nn.Linear(128, vocab)

        def forward(self, idx):
            return self.head(self.rnn(self.embed(idx))[0])

    return CharModel()


def torch_charrnn(cfg: Config, cell: str) -> Run:
    import torch

    torch.set_num_threads(1)
    torch.manual_seed(cfg.seed)
    return train_text_torch(torch_char_model(cell, load_chars()[2]), cfg)


def torch_rnn(cfg: Config) -> Run:
    return torch_charrnn(cfg, "rnn")


def torch_lstm(cfg: Config) -> Run:
    return torch_charrnn(cfg, "lstm")


def torch_gpt(cfg: Config) -> Run:
    import torch
    from torch import nn
    from torch.nn import functional as F

    torch.set_num_threads(1)
    torch.manual_seed(cfg.seed)
    vocab, dim, heads = load_chars()[2], 64, 4

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.ln1, self.qkv, self.proj = nn.LayerNorm(dim), nn.Linear(dim, 3 * dim), nn.Linear(dim, dim)
            self.ln2, self.fc, self.out = nn.LayerNorm(dim), nn.Linear(dim, 4 * dim), nn.Linear(4 * dim, dim)

        def forward(self, x):
            b, t, c = x.shape
            q, k, v = (z.view(b, t, heads, c // heads).transpose(1, 2) for z in self.qkv(self.ln1(x)).split(c, dim=2))
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True).transpose(1, 2).reshape(b, t, c)
            x = x + self.proj(y)
            return x + self.out(F.gelu(self.fc(self.ln2(x)), approximate="tanh"))

    class GPT(nn.Module):
        def __init__(self):
            super().__init__()
            self.tok, self.pos = nn.Embedding(vocab, dim), nn.Embedding(SEQ_LEN, dim)
            self.blocks = nn.Sequential(Block(), Block())
            self.ln_f, self.head = nn.LayerNorm(dim), nn.Linear(dim, vocab)

        def forward(self, idx):
            x = self.tok(idx) + self.pos(torch.arange(idx.shape[1]))
            return self.head(self.ln_f(self.blocks(x)))

    return train_text_torch(GPT(), cfg)


def torch_modern(cfg: Config) -> Run:
    """The same ModernLM in torch: RMSNorm, RoPE on q and k per head, SwiGLU, no biases, untied head."""
    import torch
    from torch import nn
    from torch.nn import functional as F

    from labs.nn.modern import default_ffn_dim

    torch.set_num_threads(1)
    torch.manual_seed(cfg.seed)
    vocab, dim, heads = load_chars()[2], 64, 4
    hidden, head_dim = default_ffn_dim(dim), dim // heads
    angles = torch.arange(SEQ_LEN)[:, None] * 10000.0 ** (-torch.arange(0, head_dim, 2) / head_dim)
    cos, sin = torch.cos(angles), torch.sin(angles)

    def rope(x):
        even, odd = x[..., 0::2], x[..., 1::2]
        t = x.shape[-2]
        c, s = cos[:t], sin[:t]
        return torch.stack([even * c - odd * s, even * s + odd * c], dim=-1).flatten(-2)

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.norm1, self.qkv, self.o = nn.RMSNorm(dim, eps=1e-5), nn.Linear(dim, 3 * dim, bias=False), nn.Linear(dim, dim, bias=False)
            self.norm2 = nn.RMSNorm(dim, eps=1e-5)
            self.w1, self.w3 = nn.Linear(dim, hidden, bias=False), nn.Linear(dim, hidden, bias=False)
            self.w2 = nn.Linear(hidden, dim, bias=False)

        def forward(self, x):
            b, t, c = x.shape
            q, k, v = (z.view(b, t, heads, head_dim).transpose(1, 2) for z in self.qkv(self.norm1(x)).split(c, dim=2))
            y = F.scaled_dot_product_attention(rope(q), rope(k), v, is_causal=True).transpose(1, 2).reshape(b, t, c)
            x = x + self.o(y)
            h = self.norm2(x)
            return x + self.w2(F.silu(self.w1(h)) * self.w3(h))

    class Modern(nn.Module):
        def __init__(self):
            super().__init__()
            self.tok = nn.Embedding(vocab, dim)
            self.blocks = nn.Sequential(Block(), Block())
            self.norm, self.head = nn.RMSNorm(dim, eps=1e-5), nn.Linear(dim, vocab, bias=False)

        def forward(self, idx):
            return self.head(self.norm(self.blocks(self.tok(idx))))

    return train_text_torch(Modern(), cfg)


BENCHMARKS: dict[str, Benchmark] = {
    "mlp": Benchmark("MLP 64-128-10, ReLU, Adam", ours_mlp, torch_mlp, target_ratio=0.3),
    "cnn": Benchmark("ConvNet conv3(8)-pool-conv3(16)-pool-64-10, ReLU, max pool, Adam", ours_cnn, torch_cnn,
                     target_ratio=0.5),
    "rnn": Benchmark(f"char RNN (tanh), embedding 32, hidden 128, window {SEQ_LEN}, Adam (epoch = {TEXT_STEPS} steps)",
                     ours_rnn, torch_rnn, target_ratio=0.6),
    "lstm": Benchmark(f"char LSTM, embedding 32, hidden 128, window {SEQ_LEN}, Adam (epoch = {TEXT_STEPS} steps)",
                      ours_lstm, torch_lstm, target_ratio=1.0),  # issue 18
    "gpt": Benchmark(f"tiny GPT, 2 blocks, width 64, 4 heads, context {SEQ_LEN}, Adam (epoch = {TEXT_STEPS} steps)",
                     ours_gpt, torch_gpt, target_ratio=1.0),
    "modern": Benchmark(f"modern LM (RMSNorm, RoPE, SwiGLU 176), 2 blocks, width 64, 4 heads, context {SEQ_LEN}, "
                        f"Adam (epoch = {TEXT_STEPS} steps)", ours_modern, torch_modern, target_ratio=1.0),
}


# -- driver ----------------------------------------------------------------------------------------
ROUNDS = 7  # alternating rounds per benchmark; the table gives their median and range


def torch_available() -> bool:
    """Look for torch WITHOUT importing it: Linux keeps a parent's peak RSS across fork+exec, so a
    torch import here would inflate every child's memory figure."""
    import importlib.util

    return importlib.util.find_spec("torch") is not None


def run_in_child(name: str, side: str, cfg: Config) -> Run | None:
    """Run one side of one benchmark in a fresh interpreter; None (with a message) if it failed."""
    cmd = [sys.executable, __file__, "--worker", name, side, json.dumps(asdict(cfg))]
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    if done.returncode != 0:
        print(f"  {name}/{side} failed:\n{done.stderr.strip()}", file=sys.stderr)
        return None
    return Run(**json.loads(done.stdout.strip().splitlines()[-1]))


@dataclass
class Rounds:
    """One benchmark's rounds: each side's runs, and the paired ratios ours/torch of the same round."""
    ours: list[Run]
    torch: list[Run]

    def pairs(self) -> list[tuple[Run, Run]]:
        return list(zip(self.ours, self.torch))

    def ratios(self, field: str) -> list[float]:
        return [getattr(o, field) / getattr(t, field) for o, t in self.pairs()]


def spread(values: list[float], fmt: str) -> str:
    """'median (min-max)' of the values, or 'n/a'."""
    if not values:
        return "n/a"
    return f"{statistics.median(values):{fmt}} ({min(values):{fmt}}-{max(values):{fmt}})"


def verdict(ratios: list[float], target: float | None) -> str:
    """Met only when the median is at or under the target; say so when the range straddles it."""
    if not ratios or target is None:
        return "n/a"
    met = statistics.median(ratios) <= target
    text = "met" if met else "MISSED"
    if min(ratios) <= target < max(ratios):
        text += ", on the median; some rounds " + ("over" if met else "under")
    return text


def render(results: dict[str, Rounds], cfg: Config, command: str, torch_note: str, blas: str, rounds: int,
           load: tuple[tuple[float, ...], tuple[float, ...]]) -> str:
    before, after = load
    lines = [
        "# labs.nn vs PyTorch (CPU): digits and tiny Shakespeare",
        "",
        f"Made by `{command}` on {time.strftime('%Y-%m-%d %H:%M %Z')}, {platform.machine()} / Python "
        f"{platform.python_version()} / NumPy {np.__version__}, {torch_note}; BLAS: {blas}. "
        f"Protocol (issue 18): {rounds} rounds per benchmark, each side a fresh child process, the order "
        "alternating between rounds (ours first, then torch first, ...); a child reports the median epoch "
        "after a warm-up epoch, as process CPU time (time.process_time: waiting for a core does not count) "
        "and wall time; a round's ratio is ours/torch of that round. Cells are the median over the rounds "
        "and the range (min-max); a ratio is met only when its CPU median is at or under the target. "
        f"{cfg.epochs} epochs for the digits (at most {TEXT_EPOCHS} of {TEXT_STEPS} steps for the text models), "
        f"batch {cfg.batch_size}, Adam lr {cfg.lr}, seed {cfg.seed}. Load average (1, 5, 15 min) on "
        f"{os.cpu_count()} cores: {', '.join(f'{v:.2f}' for v in before)} before, "
        f"{', '.join(f'{v:.2f}' for v in after)} after; the machine is shared, so wall times carry other "
        "people's work and CPU times their cache traffic. Memory is each run's peak RSS in its own process "
        "(interpreter and imports included). Accuracy is on the digits test split, or next-character accuracy on "
        "the validation text; last loss is the mean training loss over the final epoch (the two sides start "
        "from different random weights, so it agrees within noise, not exactly); both from the first round.",
        "",
        "| benchmark | ours CPU s/epoch | torch CPU s/epoch | CPU ratio ours/torch | wall ratio | target | ours acc "
        "| torch acc | ours last loss | torch last loss | ours peak MB | torch peak MB |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, r in results.items():
        target = BENCHMARKS[name].target_ratio
        cpu_ratios = r.ratios("cpu_s") if r.torch else []
        first_ours, first_torch = (r.ours or [None])[0], (r.torch or [None])[0]

        def cell(run, field, fmt):
            return format(getattr(run, field), fmt) if run else "n/a"

        lines.append(
            f"| {name}: {BENCHMARKS[name].description} | {spread([x.cpu_s for x in r.ours], '.4f')} | "
            f"{spread([x.cpu_s for x in r.torch], '.4f')} | {spread(cpu_ratios, '.2f')} | "
            f"{spread(r.ratios('wall_s') if r.torch else [], '.2f')} | <= {target} ({verdict(cpu_ratios, target)}) | "
            f"{cell(first_ours, 'test_accuracy', '.3f')} | {cell(first_torch, 'test_accuracy', '.3f')} | "
            f"{cell(first_ours, 'last_loss', '.3f')} | {cell(first_torch, 'last_loss', '.3f')} | "
            f"{cell(first_ours, 'peak_rss_mb', '.0f')} | {cell(first_torch, 'peak_rss_mb', '.0f')} |"
        )
    return "\n".join(lines) + "\n"


# -- where our time goes: benchmarks/profile_nn.py, run in a child like the benchmarks --------------
PROFILED = ("mlp", "cnn", "lstm", "gpt")  # the models whose step profile_nn.py breaks down layer by layer


def profile_in_child(name: str, cfg: Config) -> dict | None:
    """profile_nn.py's {"markdown", "floor"} for one model, from a fresh interpreter (None if it failed)."""
    cmd = [sys.executable, str(Path(__file__).with_name("profile_nn.py")), name, json.dumps(asdict(cfg))]
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    if done.returncode != 0:
        print(f"  profile {name} failed:\n{done.stderr.strip()}", file=sys.stderr)
        return None
    return json.loads(done.stdout.strip().splitlines()[-1])


def lstm_note(rounds: Rounds | None, floor: dict) -> str:
    """Where the char LSTM's floor is, from this run's own figures and profile_nn.py's floor measurements."""
    products, loop = floor["products_s"] * 1e3, floor["loop_s"] * 1e3
    text = ("### Where the LSTM's floor is\n\n"
            f"In one process (profile_nn.py), fastest of {floor['repeats']} in process CPU time: the char LSTM's matrix "
            f"products alone (the same shapes and calls as the library's step, through NumPy's OpenBLAS, nothing "
            f"else) take {products:.1f} ms a step; the time loop's elementwise work alone (the layer with its per-step "
            f"products stubbed out, less its other products) {loop:.1f} ms; both together, the smallest step the "
            f"library's algorithm can make in NumPy, {products + loop:.1f} ms; the library's whole step (the profile "
            f"below) {floor['step_s'] * 1e3:.1f} ms")
    if floor.get("torch_step_s"):
        torch_ms = floor["torch_step_s"] * 1e3
        text += (f"; torch's whole step, timed the same way in the same process, {torch_ms:.1f} ms. So the products "
                 f"alone are a ratio of {products / torch_ms:.2f}, products plus loop {(products + loop) / torch_ms:.2f}, "
                 f"and our whole step {floor['step_s'] * 1e3 / torch_ms:.2f}")
    if rounds and rounds.torch:
        text += f" (the rounds above, under their load: {statistics.median(rounds.ratios('cpu_s')):.2f})"
    return text + (". The products are about 1.0 GFLOP a step: 2 x 64 recurrent products of 32x128 by 128x512 "
                   "(each made as four column blocks, small enough for OpenBLAS's small-matrix kernel), dW_h over "
                   "all 2048 positions, the per-token scatter of the gate gradients (the embedding is folded into "
                   "the input projection, so the embedding row of the profile is empty and its lookup is a gather "
                   "inside the LSTM row) and the head's three. At batch 32 the recurrent products are too small "
                   "for the BLAS to reach its large-matrix speed, and each of the 128 sequential steps also pays "
                   "NumPy's per-call cost for the dozen elementwise calls of a step, which torch's fused LSTM "
                   "cell (one C++ kernel a step) does not; no Python above the BLAS removes either, so the "
                   "floor of this algorithm in NumPy is their sum.\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", choices=sorted(BENCHMARKS), action="append")
    parser.add_argument("--epochs", type=int, default=Config.epochs)
    parser.add_argument("--batch-size", type=int, default=Config.batch_size)
    parser.add_argument("--rounds", type=int, default=ROUNDS, help="alternating rounds (a child per side each)")
    parser.add_argument("--no-profile", action="store_true", help="skip the layer profiles")
    parser.add_argument("--no-write", action="store_true", help="print the table, do not write RESULTS.md")
    parser.add_argument("--worker", nargs=3, metavar=("NAME", "SIDE", "CONFIG"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.worker:
        name, side, cfg_json = args.worker
        bench = BENCHMARKS[name]
        run = (bench.ours if side == "ours" else bench.torch)(Config(**json.loads(cfg_json)))
        print(json.dumps(asdict(run)))
        return 0

    cfg = Config(epochs=args.epochs, batch_size=args.batch_size)
    has_torch = torch_available()
    if not has_torch:
        print("torch is not installed: skipping the PyTorch side (pip install '.[bench]' to compare)")
    load_before = os.getloadavg()
    print(f"load average before: {load_before}")
    results: dict[str, Rounds] = {}
    for name in args.only or list(BENCHMARKS):
        print(f"{name}: {BENCHMARKS[name].description}")
        runs: dict[str, list[Run]] = {"ours": [], "torch": []}
        for round_no in range(args.rounds):
            sides = ["ours", "torch"] if has_torch else ["ours"]
            for side in sides if round_no % 2 == 0 else sides[::-1]:
                run = run_in_child(name, side, cfg)
                if run:
                    runs[side].append(run)
            print(f"  round {round_no + 1}: " + ", ".join(
                f"{side} {rs[-1].cpu_s:.4f} s CPU / {rs[-1].wall_s:.4f} s wall" for side, rs in runs.items() if rs)
                + f"; load {os.getloadavg()[0]:.2f}")
        if has_torch and len(runs["ours"]) != len(runs["torch"]):  # a failed child: keep complete pairs only
            n = min(len(runs["ours"]), len(runs["torch"]))
            runs = {side: rs[:n] for side, rs in runs.items()}
        results[name] = Rounds(runs["ours"], runs["torch"])
    load_after = os.getloadavg()
    print(f"load average after: {load_after}")
    every = [run for r in results.values() for run in (*r.ours, *r.torch)]
    torch_note = "torch absent" if not has_torch else next((r.note for r in every if r.note), "torch")
    blas = next((r.blas for r in every if r.blas), "unknown")
    command = "python benchmarks/bench_nn.py" + ("" if argv is None else " " + " ".join(argv))
    if argv is None and len(sys.argv) > 1:
        command = "python benchmarks/bench_nn.py " + " ".join(sys.argv[1:])
    table = render(results, cfg, command, torch_note, blas, args.rounds, (load_before, load_after))
    for name in [n for n in PROFILED if n in results and not args.no_profile]:
        profile = profile_in_child(name, cfg)
        if profile and profile.get("floor"):
            table += "\n" + lstm_note(results.get("lstm"), profile["floor"])
        table += "\n" + profile["markdown"] if profile else ""
    print(table)
    if not args.no_write:
        RESULTS.write_text(with_history(table))
        print(f"wrote {RESULTS}")
    return 0


HISTORY_HEADING = "## Historical figures"


def with_history(table: str) -> str:
    """The new tables, then RESULTS.md's hand-kept historical section (its heading to the end of the
    file, which holds the `<!-- begin/end NAME -->` sections other benchmarks keep there), which no run
    re-measures and a rewrite must not lose. Sections placed before the heading are kept too."""
    old = RESULTS.read_text() if RESULTS.exists() else ""
    start = old.find(HISTORY_HEADING)
    kept = old[start:] if start >= 0 else ""
    head = old[:start] if start >= 0 else old
    for begin in re.finditer(r"<!-- begin (\S+) -->", head):  # a section before the heading: keep it
        end = head.find(f"<!-- end {begin.group(1)} -->", begin.end())
        if end >= 0:
            table += "\n" + head[begin.start():end + len(f"<!-- end {begin.group(1)} -->")] + "\n"
    return table if not kept else table + "\n" + kept


if __name__ == "__main__":
    raise SystemExit(main())
