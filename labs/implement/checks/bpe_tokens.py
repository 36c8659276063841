"""bpe-tokens in the checker: the learner's pair counting, tie-break, merge, encoder and decoder on small
fixed inputs, then a tokenizer trained on Shakespeare with the learner's pieces against the library's.

A wrong answer is matched against the classic mistakes first: pairs counted across pre-tokens, ties broken
by the smaller pair or by the ids instead of the bytes, overlapping occurrences merged twice or from the
right, merges applied in the wrong order when encoding, tokens decoded one at a time.

The final stage pre-tokenises TRAIN_CHARS characters of tiny Shakespeare with GPT-2's pattern (the
library's), runs MERGES merges through the learner's pair_counts, best_pair and merge_pair (three round
trips per merge), and holds the merges to labs.tokenizer.train_bpe's; then encodes the following
VAL_CHARS characters with the learner's encode_word (the library's ids exactly) and decodes them with the
learner's decode (the text back). A smoothed bigram model over the learner's tokens then gives the
validation loss per token and per character that the lesson compares.
"""

from __future__ import annotations

import math
import time

import numpy as np

from labs.datasets import load_text
from labs.implement.checks.charlm import N_CHARS
from labs.implement.checks.common import CheckFailed, call, expect_array, unpack
from labs.implement.remote import Learner
from labs.implement.solutions import bpe_tokens as ref
from labs.tokenizer import Tokenizer, pretokenize, train_bpe

TRAIN_CHARS, VAL_CHARS, MERGES, CHUNK = 12_000, 3_000, 48, 40
"""characters trained on and encoded, merges learned, pre-tokens encoded per round trip"""


def corpus_arrays(text: str) -> tuple[np.ndarray, np.ndarray]:
    """ids (the UTF-8 bytes of every pre-token, concatenated) and word_ids (each byte's pre-token)."""
    words = [w.encode("utf-8") for w in pretokenize(text)]
    ids = np.frombuffer(b"".join(words), dtype=np.uint8).astype(np.int64)
    word_ids = np.repeat(np.arange(len(words), dtype=np.int64), [len(w) for w in words])
    return ids, word_ids


def vocab_arrays(vocab: list[bytes]) -> tuple[np.ndarray, np.ndarray]:
    """flat uint8 and offsets int64 (V + 1) of a vocabulary listed by id."""
    flat = np.frombuffer(b"".join(vocab), dtype=np.uint8).copy() if vocab else np.zeros(0, np.uint8)
    offsets = np.concatenate([[0], np.cumsum([len(b) for b in vocab])]).astype(np.int64)
    return flat, offsets


BYTES = [bytes([i]) for i in range(256)]


def _ids(text: bytes) -> np.ndarray:
    return np.frombuffer(text, dtype=np.uint8).astype(np.int64)


# -- pair counting ------------------------------------------------------------------------------------
def _counts_across(ids: np.ndarray, word_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return ref.pair_counts(ids, np.zeros_like(word_ids))


def check_pair_counts(m: Learner) -> str:
    cases = [(b"aaab", [0, 0, 0, 0]), (b"the cat the", [0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2]),
             (b"abab ab", [0, 0, 0, 0, 1, 1, 1]), (b"x", [0]), (b"ab", [0, 1])]
    for text, words in cases:
        ids, word_ids = _ids(text), np.array(words, dtype=np.int64)
        pairs, counts = unpack("pair_counts", call(m, "pair_counts", ids, word_ids), ("pairs", "counts"))
        want_pairs, want_counts = ref.pair_counts(ids, word_ids)
        case = f"on {text.decode()!r} with word_ids {words}"
        across = _counts_across(ids, word_ids)
        if isinstance(pairs, np.ndarray) and pairs.shape == across[0].shape and np.array_equal(pairs, across[0]) \
                and not np.array_equal(across[0], want_pairs):
            raise CheckFailed(f"pair_counts {case}: it counts pairs ACROSS pre-tokens (the last byte of one word "
                              "and the first of the next); count only where word_ids[j] == word_ids[j + 1]")
        expect_array(f"pair_counts pairs {case}", pairs, want_pairs, mistakes={
            "the pairs are not sorted by first id, then second id": want_pairs[::-1].copy()} if len(want_pairs) > 1
            else None)
        expect_array(f"pair_counts counts {case}", counts, want_counts)
    return "counts adjacent pairs inside pre-tokens only, sorted, overlaps (a a a: two (a, a)) counted"


# -- the tie-break ------------------------------------------------------------------------------------
TIE_VOCAB = BYTES + [b"th", b"e ", b"he", b"zz", b"az"]  # ids 256 .. 260


def _best(pairs, counts, vocab, key) -> tuple[int, int]:
    top = [i for i in range(len(counts)) if counts[i] == counts.max()]
    i = key(top, pairs, vocab)
    return int(pairs[i, 0]), int(pairs[i, 1])


def check_best_pair(m: Learner) -> str:
    flat, offsets = vocab_arrays(TIE_VOCAB)
    cases = [  # pairs (as ids), counts
        ([[97, 98], [104, 101], [116, 104]], [5, 9, 7]),           # a clear winner: (h, e)
        ([[98, 99], [120, 121], [97, 98]], [4, 4, 4]),             # a three-way tie: (x, y) is greatest
        ([[116, 97], [257, 97], [104, 104], [97, 257]], [3, 3, 3, 3]),  # bytes, not ids: (t, a) > ("e ", a)
        ([[32, 32], [97, 259], [260, 97]], [2, 2, 2]),             # tuples, not joined: (az, a) > (a, zz)
        ([[104, 257], [104, 101]], [2, 2]),                        # same first bytes: (h, "e ") > (h, e)
    ]
    results = []
    for pairs, counts in cases:
        p, c = np.array(pairs, dtype=np.int64), np.array(counts, dtype=np.int64)
        got = unpack("best_pair", call(m, "best_pair", p, c, flat, offsets), ("a", "b"))
        for v in got:
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
                raise CheckFailed(f"best_pair should return two Python ints (token ids), got {type(v).__name__}")
        results.append(((int(got[0]), int(got[1])), p, c))
    for (got, p, c) in results:
        want = ref.best_pair(p, c, flat, offsets)
        if got == want:
            continue
        vocab = TIE_VOCAB
        said = f"best_pair on pairs {p.tolist()} with counts {c.tolist()} gave {got}, expected {want}"
        mistakes = {
            "a tie went to the SMALLER pair of byte strings; the rule is the lexicographically greater one":
                _best(p, c, vocab, lambda top, pr, v: min(top, key=lambda i: (v[pr[i, 0]], v[pr[i, 1]]))),
            "a tie was broken by the ids, not by the tokens' bytes: compare (bytes of a, bytes of b)":
                _best(p, c, vocab, lambda top, pr, v: max(top, key=lambda i: (pr[i, 0], pr[i, 1]))),
            "a tie went to the first pair listed; ties go to the lexicographically greater pair of byte strings":
                _best(p, c, vocab, lambda top, pr, v: top[0]),
            "the bytes of the two tokens were joined before comparing; compare the tuple (bytes of a, bytes of b)":
                _best(p, c, vocab, lambda top, pr, v: max(top, key=lambda i: v[pr[i, 0]] + v[pr[i, 1]])),
            "the LEAST frequent pair was chosen; merge the most frequent": (int(p[np.argmin(c), 0]),
                                                                            int(p[np.argmin(c), 1])),
        }
        for words, wrong in mistakes.items():
            if got == wrong:
                raise CheckFailed(f"{said}: {words}")
        raise CheckFailed(f"{said}: the highest count wins; on a tie, the greater (bytes of a, bytes of b)")
    return "the most frequent pair, ties to the lexicographically greater pair of byte strings"


# -- merging ------------------------------------------------------------------------------------------
def _merge_right(ids, word_ids, a, b, new):
    out_ids, out_words = ref.merge_pair(ids[::-1], word_ids[::-1], b, a, new)
    return out_ids[::-1].copy(), out_words[::-1].copy()


def _merge_across(ids, word_ids, a, b, new):
    return ref.merge_pair(ids, np.zeros_like(word_ids), a, b, new)[0]


def _merge_overlapping(ids, word_ids, a, b, new):
    out = []
    hits = [j for j in range(len(ids) - 1) if ids[j] == a and ids[j + 1] == b and word_ids[j] == word_ids[j + 1]]
    skip = set()
    for j in hits:
        skip.update((j, j + 1))
    for j in range(len(ids)):
        if j in hits:
            out.append(new)
        elif j not in skip:
            out.append(int(ids[j]))
    return np.array(out, dtype=np.int64)


def check_merge_pair(m: Learner) -> str:
    cases = [(b"aaa", [0, 0, 0], 97, 97), (b"aaaa a", [0, 0, 0, 0, 1, 1], 97, 97),
             (b"ab ab", [0, 0, 1, 1, 1], 97, 98), (b"ba ab", [0, 0, 1, 1, 1], 97, 32),
             (b"xyz", [0, 1, 2], 120, 121)]
    for text, words, a, b in cases:
        ids, word_ids = _ids(text), np.array(words, dtype=np.int64)
        before = ids.copy(), word_ids.copy()
        got_ids, got_words = unpack("merge_pair", call(m, "merge_pair", ids, word_ids, a, b, 300),
                                    ("ids", "word_ids"))
        want_ids, want_words = ref.merge_pair(ids, word_ids, a, b, 300)
        case = f"merging ({a}, {b}) -> 300 in {text.decode()!r} with word_ids {words}"
        mistakes = {
            "it merged from the right end; scan left to right (a a a -> new a)":
                _merge_right(ids, word_ids, a, b, 300)[0],
            "it merged across pre-tokens: a pair whose two halves are in different words is not merged":
                _merge_across(ids, word_ids, a, b, 300),
            "overlapping occurrences were both merged (a a a gave new new); after a merge the scan moves past "
            "both of its halves": _merge_overlapping(ids, word_ids, a, b, 300),
        }
        for words, wrong in mistakes.items():  # a mistake may change the length: name it before the shape
            if isinstance(got_ids, np.ndarray) and got_ids.shape == wrong.shape \
                    and not np.array_equal(wrong, want_ids) and np.array_equal(got_ids, wrong):
                raise CheckFailed(f"merge_pair ids, {case}: {words}")
        expect_array(f"merge_pair ids, {case}", got_ids, want_ids)
        expect_array(f"merge_pair word_ids, {case}", got_words, want_words)
        if not (np.array_equal(ids, before[0]) and np.array_equal(word_ids, before[1])):
            raise CheckFailed("merge_pair changed its input arrays; return new ones")
    return "merges left to right without overlap (a a a -> new a), never across pre-tokens, word_ids kept"


# -- encoding and decoding ----------------------------------------------------------------------------
ENCODE_VOCAB_TEXT = "the cat sat on the mat; the hat; that that theme " * 3


def _small_tokenizer() -> tuple[np.ndarray, list[bytes]]:
    vocab, merges = train_bpe(ENCODE_VOCAB_TEXT, 256 + 14)
    table = [vocab[i] for i in range(len(vocab))]
    index = {b: i for i, b in enumerate(table)}
    pairs = np.array([[index[a], index[b]] for a, b in merges], dtype=np.int64)
    return pairs, table


def _encode_in_order(byte_ids: np.ndarray, merges: np.ndarray) -> np.ndarray:
    """Every merge applied once, in list order, to the whole word (the same result) would be right;
    this is the wrong one: the most FREQUENT pair in the word first."""
    word = [int(x) for x in byte_ids]
    rank = {(int(a), int(b)): r for r, (a, b) in enumerate(merges)}
    while True:
        pairs = [p for p in zip(word, word[1:]) if p in rank]
        if not pairs:
            return np.array(word, dtype=np.int64)
        best = max(set(pairs), key=lambda p: (pairs.count(p), -rank[p]))
        r = rank[best]
        word = list(ref.merge_pair(np.array(word), np.zeros(len(word), np.int64), best[0], best[1], 256 + r)[0])


def _encode_from(byte_ids: np.ndarray, merges: np.ndarray, base: int) -> np.ndarray:
    """The reference's encoding, with merge r making the id base + r (the right base is 256)."""
    word = [int(x) for x in byte_ids]
    rank = {(int(a), int(b)): r for r, (a, b) in enumerate(merges)}
    while len(word) > 1:
        ranked = [rank[p] for p in zip(word, word[1:]) if p in rank]
        if not ranked:
            break
        r = min(ranked)
        a, b = (int(x) for x in merges[r])
        word = [int(x) for x in ref.merge_pair(np.array(word), np.zeros(len(word), np.int64), a, b, base + r)[0]]
    return np.array(word, dtype=np.int64)


def check_encode_word(m: Learner) -> str:
    merges, table = _small_tokenizer()
    tok = Tokenizer({i: b for i, b in enumerate(table)}, [(table[a], table[b]) for a, b in merges])
    words = [" the", " that", " theme", " mat", " hat;", "thethe", " cathat", "x", " "]
    s = m.batch()
    got = s.run(*[s.encode_word(_ids(w.encode()), merges) for w in words])
    for w, g in zip(words, got):
        want = np.array(tok.encode(w), dtype=np.int64)
        mistakes = {
            "the merges were chosen by how often a pair occurs in the word; use the LOWEST merge rank first":
                _encode_in_order(_ids(w.encode()), merges),
            "no merge was applied: repeat until no adjacent pair is a learned merge": _ids(w.encode()),
            "merge r gave id 255 + r; it makes 256 + r (ids 0..255 are the bytes)":
                _encode_from(_ids(w.encode()), merges, 255),
        }
        for words_, wrong in mistakes.items():  # a mistake may change the length: name it before the shape
            if isinstance(g, np.ndarray) and g.shape == wrong.shape and not np.array_equal(wrong, want) \
                    and np.array_equal(g, wrong):
                raise CheckFailed(f"encode_word({w!r}) gave {g.tolist()}, expected {want.tolist()}: {words_}")
        expect_array(f"encode_word({w!r})", g, want)
    return f"encodes {len(words)} pre-tokens exactly as the library does, lowest merge rank first"


def check_decode(m: Learner) -> str:
    text = "naïve café: ½ 日本 🙂"
    tok = Tokenizer.train(text * 4, 256 + 12)
    table = [tok.vocab[i] for i in range(len(tok.vocab))]
    flat, offsets = vocab_arrays(table)
    ids = np.array(tok.encode(text), dtype=np.int64)
    got = call(m, "decode", ids, flat, offsets)
    one_by_one = "".join(table[i].decode("utf-8", errors="replace") for i in ids)
    if not isinstance(got, str):
        raise CheckFailed(f"decode should return a str, got {type(got).__name__}")
    if got != text:
        if got == one_by_one:
            raise CheckFailed(f"decode({text!r}'s ids) gave {got!r}: each token was decoded on its own, which "
                              "breaks characters split across tokens; join all the bytes, then decode once")
        raise CheckFailed(f"decode gave {got!r}, expected {text!r}")
    broken = np.array([0xE6, 0x97, 104, 105], dtype=np.int64)  # half of 日, then "hi"
    try:
        got = call(m, "decode", broken, *vocab_arrays(BYTES))
    except CheckFailed as failed:
        raise CheckFailed(f"decode of invalid UTF-8 (half a character, then 'hi') failed: {failed.message}; "
                          'decode with errors="replace", never raise') from None
    if got != "\ufffdhi":
        raise CheckFailed(f"decode of half a character then 'hi' gave {got!r}, expected '\\ufffdhi' "
                          '(invalid bytes replaced by U+FFFD, errors="replace")')
    return "joins the bytes then decodes once (multi-byte characters across tokens), invalid bytes replaced"


CHECKS = {
    "forward:pair_counts": check_pair_counts,
    "forward:best_pair": check_best_pair,
    "forward:merge_pair": check_merge_pair,
    "forward:encode_word": check_encode_word,
    "forward:decode": check_decode,
}


# -- training -------------------------------------------------------------------------------------------
def _bigram_nats(train: np.ndarray, val: np.ndarray, vocab_size: int, k: float = 0.1) -> float:
    """Mean -ln p(next token | token) over val of an add-k bigram counted on train, in nats per token."""
    counts = np.zeros((vocab_size, vocab_size))
    np.add.at(counts, (train[:-1], train[1:]), 1.0)
    probs = (counts + k) / (counts.sum(axis=1, keepdims=True) + k * vocab_size)
    return float(-np.mean(np.log(probs[val[:-1], val[1:]])))


def train(m: Learner, budget_s: float, report=None) -> tuple[float, str, dict[str, float]]:
    """Train MERGES merges with the learner's pieces, check them, then encode and decode unseen text."""
    text = load_text(N_CHARS).text
    train_text, val_text = text[:TRAIN_CHARS], text[TRAIN_CHARS:TRAIN_CHARS + VAL_CHARS]
    ids, word_ids = corpus_arrays(train_text)
    n_bytes = len(ids)
    lib_vocab, lib_merges = train_bpe(train_text, 256 + MERGES)
    vocab, merges, start = list(BYTES), [], time.perf_counter()
    for r in range(MERGES):
        pairs, counts = unpack("pair_counts", call(m, "pair_counts", ids, word_ids), ("pairs", "counts"))
        flat, offsets = vocab_arrays(vocab)
        a, b = (int(v) for v in unpack("best_pair", call(m, "best_pair", pairs, counts, flat, offsets), ("a", "b")))
        if (vocab[a], vocab[b]) != lib_merges[r]:
            raise CheckFailed(f"merge {r} on the Shakespeare text was ({vocab[a]!r}, {vocab[b]!r}); the library's is "
                              f"{lib_merges[r]!r}: the counts, the tie-break or an earlier merge differ")
        ids, word_ids = unpack("merge_pair", call(m, "merge_pair", ids, word_ids, a, b, 256 + r), ("ids", "word_ids"))
        if not (isinstance(ids, np.ndarray) and isinstance(word_ids, np.ndarray) and ids.shape == word_ids.shape):
            raise CheckFailed(f"merge_pair returned arrays of shapes {np.shape(ids)} and {np.shape(word_ids)} at "
                              f"merge {r}; they must have the same length")
        vocab.append(vocab[a] + vocab[b])
        merges.append((a, b))
        if report is not None and (r + 1) % 4 == 0:
            report(r + 1, MERGES + 1, {"bytes_per_token": n_bytes / len(ids)})
        if time.perf_counter() - start > budget_s:
            raise CheckFailed(f"training took longer than {budget_s:.0f} s ({r + 1} of {MERGES} merges)")
    tok = Tokenizer(lib_vocab, lib_merges)
    merge_array = np.array(merges, dtype=np.int64)
    words = pretokenize(val_text)
    encoded: list[int] = []
    for i in range(0, len(words), CHUNK):
        s = m.batch()
        for w, got in zip(words[i:i + CHUNK], s.run(*[s.encode_word(_ids(w.encode()), merge_array)
                                                       for w in words[i:i + CHUNK]])):
            if not (isinstance(got, np.ndarray) and got.ndim == 1):
                raise CheckFailed(f"encode_word({w!r}) returned {type(got).__name__}, expected a 1-D int64 array")
            encoded.extend(int(t) for t in got)
    want = tok.encode(val_text)
    if encoded != want:
        first = next((i for i, (g, w) in enumerate(zip(encoded, want)) if g != w), min(len(encoded), len(want)))
        raise CheckFailed(f"encoding unseen text with your merges differs from the library's at token {first}")
    flat, offsets = vocab_arrays(vocab)
    piece = encoded[:200]
    back = call(m, "decode", np.array(piece, dtype=np.int64), flat, offsets)
    if back != tok.decode(piece):
        raise CheckFailed(f"decode of the first 200 encoded tokens gave {str(back)[:40]!r}..., not the text back")
    train_tokens = np.asarray(tok.encode(train_text), dtype=np.int64)
    val_tokens = np.asarray(encoded, dtype=np.int64)
    nats = _bigram_nats(train_tokens, val_tokens, len(vocab))
    chars_per_token = len(val_text) / len(val_tokens)
    bpc = nats / (math.log(2) * chars_per_token)
    metrics = {"val_loss": nats, "bits_per_char": bpc, "bytes_per_token": n_bytes / len(ids),
               "merges": float(MERGES)}
    if report is not None:
        report(MERGES + 1, MERGES + 1, {"bytes_per_token": n_bytes / len(ids), "val_loss": nats})
    return 1.0, (f"your {MERGES} merges are the library's; unseen text encodes to its ids and decodes back; "
                 f"{n_bytes / len(ids):.2f} bytes per token on the training text, and an add-0.1 bigram over "
                 f"your tokens scores {nats:.3f} nats per token = {bpc:.3f} bits per character"), metrics
