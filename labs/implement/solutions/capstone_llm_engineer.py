"""capstone-llm-engineer: the training and evaluation pipeline around a modern language model on BPE tokens,
written by you: the data windows, the warm-up-and-cosine schedule, the loss in bits per character and
perplexity, and sampling.

The network is the library's ModernLM (the RMSNorm, SwiGLU and rotary attention you built in The modern
transformer) on the 512-token BPE of Tokenization; the grader trains it with AdamW, but every step's batch
is cut by YOUR windows and runs at YOUR lr_at's rate, the validation loss is reported through YOUR
loss_report, and the sample at the end is drawn by YOUR sample_next from logits the model computes
through its KV cache (Decoding). The model must reach the capstone's validation target in bits per
character, and your report must agree with the grader's. Each function is first checked on fixed inputs,
with the classic mistakes named.

Conventions. ids is a 1-D int64 array of token ids; a window of seq_len inputs is predicted one token
ahead. Steps count from 0. Losses are in nats (natural log), as the library's cross-entropy gives them
(lessons "Tokenization": bits per character, and "NLP / LLM engineer": perplexity). NumPy and the standard
library only.
Grade with `pathlab lab grade capstone-llm-engineer`; stuck? `pathlab lab hint capstone-llm-engineer`.
"""

import math

import numpy as np


def windows(ids, starts, seq_len):
    """The batch of training windows starting at `starts` (B,) int64: inputs x (B, seq_len) and targets
    y (B, seq_len), where y[b, t] is the token that follows x[b, t] in the text. Both int64.
    Every start leaves room for its window and its last target (start + seq_len < len(ids)).
    """
    offsets = starts[:, None] + np.arange(seq_len)
    return ids[offsets], ids[offsets + 1]


def lr_at(step, total_steps, base_lr, warmup_steps, final_lr):
    """The learning rate of step `step` (0 .. total_steps - 1): a linear warm-up over the first
    warmup_steps steps, then half a cosine from base_lr down towards final_lr over the remaining steps.

    The warm-up's first step already moves (base_lr / warmup_steps, not 0) and its last reaches base_lr;
    the cosine starts at base_lr on the first step after the warm-up and would reach final_lr one step
    after the last. warmup_steps may be 0. Returns a Python float.
    """
    if step < warmup_steps:
        return base_lr * (step + 1) / warmup_steps
    progress = (step - warmup_steps) / (total_steps - warmup_steps)
    return float(final_lr + 0.5 * (1.0 + math.cos(math.pi * progress)) * (base_lr - final_lr))


def loss_report(token_nats, n_chars):
    """The two figures people quote for a language model, from the losses of every predicted token:
    token_nats (N,) float, each -ln p(the right token), and n_chars, the number of characters those N
    tokens decode to. Returns (bits_per_char, perplexity) as Python floats: bits per CHARACTER (the unit
    that compares tokenizers; lesson: bits per character) and the perplexity per TOKEN (lesson: perplexity).
    """
    total = float(np.sum(token_nats))
    return total / (n_chars * math.log(2)), math.exp(total / len(token_nats))


def sample_next(logits, temperature, top_k, u):
    """Draw the next token id from logits (V,) float.

    Keep exactly the top_k largest logits (all when top_k is 0; of equal logits, the lower id first),
    divide them by `temperature`, turn them into a probability distribution over the kept ids, and
    return the first id whose cumulative probability exceeds u (a uniform draw in [0, 1), given so the
    draw is reproducible), counting ids in order 0 .. V-1. Returns a Python int.
    """
    z = logits.astype(np.float64) / temperature
    if top_k:
        keep = np.argsort(-z, kind="stable")[:top_k]
        z = np.where(np.isin(np.arange(len(z)), keep), z, -np.inf)
    p = np.exp(z - z.max())
    p /= p.sum()
    return int(min(np.searchsorted(np.cumsum(p), u, side="right"), len(p) - 1))
