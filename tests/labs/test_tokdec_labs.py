"""bpe-tokens and decoding-sweep beyond their calibration (benchmarks/CALIBRATION.md): bpe-tokens hands its
model over with its BPE tokenizer, and decoding-sweep decodes "your model" (a stored BPE model whose context
is shorter than the text, so the sliding window and the windowed scoring are used) without training one."""

from __future__ import annotations

import math

import numpy as np

from labs.catalog import get_lab
from labs.catalog._models import YourModel, read_model, write_model
from labs.catalog.bpe_tokens import bpe_tokenizer
from labs.catalog.decoding_sweep import GRID, token_logprobs
from labs.datasets import load_text
from labs.events import Progress, Sample, Started
from labs.nn.modern import ModernLM
from labs.tokenizer import Tokenizer


def test_bpe_tokens_hands_over_its_model_and_tokenizer(tmp_path):
    lab = get_lab("bpe-tokens")
    finished = lab.train(lab.validate_params({"vocab_size": 300, "steps": 10}), 0, lambda e: None,
                         models_dir=str(tmp_path))
    saved = finished.model
    assert saved is not None and saved.tokenizer["kind"] == "bpe" and saved.tokenizer["vocab_size"] == 300
    assert saved.architecture["kind"] == "modern-lm" and saved.architecture["vocab_size"] == 300
    model = read_model(YourModel(path=saved.file, sha256=saved.sha256, lab_id=lab.id,
                                 architecture=saved.architecture, tokenizer=saved.tokenizer))
    assert model.forward(np.zeros((1, 4), dtype=np.int64)).shape == (1, 4, 300)
    assert math.isfinite(finished.metrics["bits_per_char"])


def test_decoding_sweep_decodes_your_bpe_model_without_training_one(tmp_path):
    text = load_text(50_000).text[:20_000]
    tok = Tokenizer.train(text, 300)
    model = ModernLM(300, 16, n_layer=1, n_head=2, dim=16, rng=np.random.default_rng(0))
    saved = write_model(tmp_path, model, architecture={"kind": "modern-lm", "vocab_size": 300, "context": 16,
                                                       "n_layer": 1, "n_head": 2, "dim": 16},
                        tokenizer=bpe_tokenizer(tok), lab_id="bpe-tokens")
    yours = {"path": saved.file, "sha256": saved.sha256, "lab_id": "bpe-tokens",
             "architecture": saved.architecture, "tokenizer": saved.tokenizer}
    lab, events = get_lab("decoding-sweep"), []
    finished = lab.train(lab.validate_params({"temperature": 0.8, "top_p": 0.9, "tokens": 20}), 0, events.append,
                         your_model=yours)
    started = next(e for e in events if isinstance(e, Started))
    assert started.total_steps == len(GRID) + 1  # nothing trained: the sweep and your setting
    assert any(isinstance(e, Sample) and "decoding your model from bpe-tokens" in e.text for e in events)
    assert not any(isinstance(e, Progress) and "train_loss" in e.metrics for e in events)
    assert math.isfinite(finished.metrics["mean_loglik"]) and 0 < finished.metrics["distinct_4"] <= 1
    assert {c.id for c in finished.grade.checks} == {c.id for c in lab.checks}


def test_scoring_beyond_the_context_reads_every_token_with_at_least_half_a_context():
    model = ModernLM(20, 8, n_layer=1, n_head=2, dim=8, rng=np.random.default_rng(1))
    model.eval()
    out = np.random.default_rng(2).integers(0, 20, size=(2, 30))
    scored = token_logprobs(model, out, 5)
    assert scored.shape == (2, 25) and np.all(scored < 0)
    # the last token is scored from the 8 tokens before it, as one forward pass over them says
    logits = model.forward(out[:, -9:-1])[:, -1].astype(np.float64)
    shifted = logits - logits.max(-1, keepdims=True)
    logp = shifted - np.log(np.exp(shifted).sum(-1, keepdims=True))
    assert np.allclose(scored[:, -1], logp[np.arange(2), out[:, -1]], atol=1e-6)


def _failed(**metrics):
    from types import SimpleNamespace

    return SimpleNamespace(status="failed", metrics=metrics)


def test_each_failure_names_its_mode_from_the_evidence():
    """The calibrated failures (benchmarks/CALIBRATION.md: raw bytes -> loss-per-token, greedy -> repetition)
    and the other modes, read from the metrics a failed run records."""
    bpe, dec = get_lab("bpe-tokens"), get_lab("decoding-sweep")
    p = bpe.validate_params
    assert bpe.diagnose(p({}), _failed(bytes_per_token=1.0, common_token_share=1.0)) == "loss-per-token"
    assert bpe.diagnose(p({"vocab_size": 4096}), _failed(bytes_per_token=3.2, common_token_share=0.3)) \
        == "vocab-too-large"
    assert bpe.diagnose(p({"steps": 10}), _failed(bytes_per_token=2.6, common_token_share=0.8)) == "undertrained"
    assert bpe.diagnose(p({"lr": 1.0}), _failed(diverged_at_step=3)) == "lr-too-large"
    d = dec.validate_params
    assert dec.diagnose(d({}), _failed(distinct_4=0.05, mean_loglik=-1.0)) == "repetition"
    assert dec.diagnose(d({"temperature": 0.8, "top_p": 0.2}), _failed(distinct_4=0.1, mean_loglik=-1.0)) \
        == "nucleus-too-small"
    assert dec.diagnose(d({"temperature": 0.8, "top_k": 1}), _failed(distinct_4=0.1, mean_loglik=-1.0)) \
        == "top-k-too-small"
    assert dec.diagnose(d({"temperature": 1.5}), _failed(distinct_4=0.99, mean_loglik=-2.9)) == "too-hot"
    for lab in (bpe, dec):
        assert {lab.diagnose(lab.default_params(), _failed(bytes_per_token=1.0, distinct_4=0.0))} <= \
            {m.id for m in lab.failure_modes}
