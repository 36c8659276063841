"""bpe-tokens: train a byte-pair encoding and encode and decode with it, written by you in NumPy.

The lesson "Tokenization" gives the algorithm. The corpus arrives already split into pre-tokens (GPT-2's
pattern) and turned into UTF-8 bytes, as two int64 arrays of the same length:

    ids[j]        the token id at position j (at first a byte, 0 .. 255)
    word_ids[j]   which pre-token position j belongs to (non-decreasing: 0 0 0 1 1 2 2 2 ...)

Each merge adds one token: merge r makes the id 256 + r. The vocabulary's bytes travel as two arrays
too: token t is the bytes flat[offsets[t]:offsets[t + 1]] (flat uint8, offsets int64 of length V + 1).

The grader checks each function on small fixed inputs (ties, overlaps and pre-token boundaries
included), then trains a tokenizer on Shakespeare with your pair_counts, best_pair and merge_pair: its
merges must be the library's, your encode_word must give the library's ids on unseen text, and your
decode must give the text back.

NumPy only. Grade with `pathlab lab grade bpe-tokens`; stuck? `pathlab lab hint bpe-tokens`.
"""

import numpy as np


def pair_counts(ids, word_ids):
    """Every distinct adjacent pair (ids[j], ids[j+1]) INSIDE a pre-token (word_ids[j] == word_ids[j+1])
    and how often it occurs.

    Returns (pairs, counts): pairs (P, 2) int64, sorted by first id then second id; counts (P,) int64,
    all >= 1. With no pair at all, pairs has shape (0, 2) and counts (0,).
    """
    ids, word_ids = np.asarray(ids, dtype=np.int64), np.asarray(word_ids, dtype=np.int64)
    inside = word_ids[:-1] == word_ids[1:]
    both = np.stack([ids[:-1][inside], ids[1:][inside]], axis=1)
    if len(both) == 0:
        return np.zeros((0, 2), dtype=np.int64), np.zeros(0, dtype=np.int64)
    pairs, counts = np.unique(both, axis=0, return_counts=True)
    return pairs.astype(np.int64), counts.astype(np.int64)


def _token_bytes(token, flat, offsets):
    """The bytes of one token id, as a Python bytes object."""
    return bytes(np.asarray(flat[offsets[token]:offsets[token + 1]], dtype=np.uint8))


def best_pair(pairs, counts, flat, offsets):
    """The pair to merge next: the highest count; on a tie, the pair whose byte strings
    (bytes of the first, bytes of the second) are lexicographically GREATER, compared as Python
    compares tuples of bytes. Returns (a, b) as two Python ints.
    """
    top = np.flatnonzero(counts == counts.max())
    keyed = [((_token_bytes(pairs[i, 0], flat, offsets), _token_bytes(pairs[i, 1], flat, offsets)), i) for i in top]
    _, i = max(keyed)
    return int(pairs[i, 0]), int(pairs[i, 1])


def merge_pair(ids, word_ids, a, b, new_id):
    """Replace every occurrence of the pair (a, b) inside a pre-token by new_id: left to right, without
    overlap (a a a with the pair (a, a) becomes new_id a). Never merge across pre-tokens.

    Returns (ids, word_ids), the new, shorter arrays (int64); the inputs are left as they were.
    """
    out_ids, out_words = [], []
    i, n = 0, len(ids)
    while i < n:
        if i + 1 < n and ids[i] == a and ids[i + 1] == b and word_ids[i] == word_ids[i + 1]:
            out_ids.append(new_id)
            i += 2
        else:
            out_ids.append(int(ids[i]))
            i += 1
        out_words.append(int(word_ids[i - 1]))
    return np.array(out_ids, dtype=np.int64), np.array(out_words, dtype=np.int64)


def encode_word(byte_ids, merges):
    """The tokens of one pre-token, from its bytes (n,) int64, with the learned merges (M, 2) int64 in
    the order they were learned (merge r made id 256 + r).

    Repeatedly merge the adjacent pair with the LOWEST merge rank (every occurrence of it, left to right),
    until no adjacent pair is a learned merge. Returns the ids as an int64 array.
    """
    rank = {(int(a), int(b)): r for r, (a, b) in enumerate(np.asarray(merges).reshape(-1, 2))}
    word = [int(x) for x in byte_ids]
    while len(word) > 1:
        ranked = [rank[p] for p in zip(word, word[1:]) if p in rank]
        if not ranked:
            break
        r = min(ranked)
        a, b = (int(x) for x in np.asarray(merges)[r])
        merged, i = [], 0
        while i < len(word):
            if i + 1 < len(word) and word[i] == a and word[i + 1] == b:
                merged.append(256 + r)
                i += 2
            else:
                merged.append(word[i])
                i += 1
        word = merged
    return np.array(word, dtype=np.int64)


def decode(ids, flat, offsets):
    """The text of a sequence of token ids: join every token's bytes, THEN decode them as UTF-8 once,
    invalid bytes replaced (errors="replace"), never an exception. Returns a str."""
    return b"".join(_token_bytes(int(t), flat, offsets) for t in ids).decode("utf-8", errors="replace")
