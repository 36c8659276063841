"""Byte-level byte-pair encoding (BPE), the tokenizer of GPT-2 and its successors.

Text is UTF-8 bytes; the vocabulary starts as the 256 single bytes plus the special tokens, and each
merge adds one token: the concatenation of the most frequent adjacent pair.

Training (`train_bpe`):
1. special tokens (e.g. "<|endoftext|>") split the text first; they are never part of a pre-token, so
   no merge crosses them, and each gets an id of its own right after the 256 bytes;
2. each piece is pre-tokenised with GPT-2's pattern (`GPT2_PATTERN`: contractions, optional space +
   letters, optional space + digits, optional space + other symbols, whitespace), so no merge crosses
   a word boundary; only the count of each distinct pre-token matters;
3. repeat: count the adjacent pairs inside every pre-token (weighted by its count), merge the most
   frequent pair everywhere, ties broken by the lexicographically GREATER pair of byte strings
   (vocab[a], vocab[b]).

`train_bpe` keeps the pair counts up to date incrementally: after merging (a, b) only the pre-tokens
that held (a, b) change, so their old pairs are subtracted and their new pairs added; a heap ordered by
(count, pair bytes) with stale entries skipped on pop finds the next pair. `train_bpe_plain` is its
twin, recounting every pair of the corpus before each merge, straight from step 3; the tests hold the
two to identical merges.

Encoding applies the merges in the order they were learned: within a pre-token, repeatedly merge the
adjacent pair of lowest merge rank until no pair has a rank (exactly GPT-2's `bpe()`), so any vocabulary
made this way, GPT-2's own included (`Tokenizer.from_gpt2`), encodes as its authors' code does.

The `regex` package is a dependency for the `\\p{L}` / `\\p{N}` Unicode classes of the pattern, which the
standard `re` module lacks.

File format (`Tokenizer.save` / `Tokenizer.load`), UTF-8 text, one record per line:

    pathlab-bpe 1                   the first line, exactly
    special <hex>                   a special token's UTF-8 bytes, in hex (zero or more lines)
    token <id> <hex>                a vocabulary entry: its id and its bytes in hex (every id once)
    merge <hex> <hex>               a merge, in merge order: the two byte strings in hex

Blank lines and lines starting with '#' are ignored. A bad file raises `TokenizerFileError` naming the
file and line.
"""

from __future__ import annotations

import heapq
import json
from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path

import regex

# GPT-2's pre-tokenisation pattern, as published (openai/gpt-2, src/encoder.py).
GPT2_PATTERN = r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""
_PRETOKEN = regex.compile(GPT2_PATTERN)
FILE_HEADER = "pathlab-bpe 1"
Merges = list[tuple[bytes, bytes]]  # in merge order

# A pre-token match ending this many characters before the end of the text read so far is final: the
# pattern looks at most one character past a match (the (?!\S) after a backtracked whitespace run) and
# a contraction at most three characters from its start; the margin is generous.
_LOOKAHEAD_MARGIN = 4
# Distinct pre-tokens remembered by an encoder; cleared when full, so memory stays bounded.
_CACHE_LIMIT = 50_000


class TokenizerFileError(ValueError):
    """A vocabulary/merges file that cannot be read; the message names the file and line."""


# -- GPT-2's byte <-> printable character table ----------------------------------------------------
def bytes_to_unicode() -> dict[int, str]:
    """GPT-2's table: each byte 0..255 as a printable character. Printable Latin-1 bytes map to
    themselves; the other 68 bytes (controls, space, ...) to 256, 257, ... in byte order."""
    bs = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    cs = bs[:]
    extra = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + extra)
            extra += 1
    return {b: chr(c) for b, c in zip(bs, cs)}


# -- pre-tokenisation -------------------------------------------------------------------------------
def _special_pattern(special_tokens: Iterable[str]) -> regex.Pattern | None:
    """One alternation of the special tokens, longest first, so of two overlapping specials starting at
    the same place the longer wins; matches never overlap (leftmost first)."""
    specials = sorted(set(special_tokens), key=lambda s: (-len(s), s))
    if not specials:
        return None
    return regex.compile("|".join(regex.escape(s) for s in specials))


def split_on_specials(text: str, special_tokens: Iterable[str]) -> list[tuple[str, bool]]:
    """The text as (piece, is_special) in order; empty ordinary pieces are left out."""
    return _split(text, _special_pattern(special_tokens))


def _split(text: str, pattern: regex.Pattern | None) -> list[tuple[str, bool]]:
    if pattern is None:
        return [(text, False)] if text else []
    pieces, start = [], 0
    for m in pattern.finditer(text):
        if m.start() > start:
            pieces.append((text[start:m.start()], False))
        pieces.append((m.group(), True))
        start = m.end()
    if start < len(text):
        pieces.append((text[start:], False))
    return pieces


def pretokenize(text: str) -> list[str]:
    """GPT-2's pre-tokens of `text` (no special-token handling): they concatenate back to `text`."""
    return _PRETOKEN.findall(text)


def pretoken_counts(text: str, special_tokens: Iterable[str] = ()) -> Counter[bytes]:
    """How often each pre-token occurs (as UTF-8 bytes), the special tokens cut out first."""
    counts: Counter[str] = Counter()
    for piece, special in split_on_specials(text, special_tokens):
        if not special:
            counts.update(_PRETOKEN.findall(piece))
    return Counter({word.encode("utf-8"): n for word, n in counts.items()})


# -- training ---------------------------------------------------------------------------------------
def initial_vocab(special_tokens: Iterable[str] = ()) -> dict[int, bytes]:
    """Ids 0..255 are the single bytes, then the special tokens in the order given (duplicates once)."""
    vocab = {i: bytes([i]) for i in range(256)}
    for s in dict.fromkeys(special_tokens):
        vocab[len(vocab)] = s.encode("utf-8")
    return vocab


def _merge_word(word: list[int], a: int, b: int, new: int) -> list[int]:
    """Every non-overlapping occurrence of (a, b), left to right, replaced by `new`."""
    out, i, n = [], 0, len(word)
    while i < n:
        if i + 1 < n and word[i] == a and word[i + 1] == b:
            out.append(new)
            i += 2
        else:
            out.append(word[i])
            i += 1
    return out


def _check_training_args(vocab_size: int, special_tokens: Iterable[str]) -> dict[int, bytes]:
    vocab = initial_vocab(special_tokens)
    if vocab_size < len(vocab):
        raise ValueError(f"vocab_size {vocab_size} is below the {len(vocab)} initial tokens (256 bytes + specials)")
    return vocab


class _Greater:
    """Heap key for a pair's bytes, ordered in REVERSE, so the min-heap pops the greater pair on a tie."""

    __slots__ = ("key",)

    def __init__(self, key: tuple[bytes, bytes]):
        self.key = key

    def __lt__(self, other: "_Greater") -> bool:
        return self.key > other.key

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Greater) and self.key == other.key


def train_bpe(text: str, vocab_size: int, special_tokens: Iterable[str] = ()) -> tuple[dict[int, bytes], Merges]:
    """(vocab, merges) of a byte-level BPE with `vocab_size` entries (fewer if the text runs out of
    pairs), trained on `text` with incremental pair counts (see the module docstring)."""
    special_tokens = list(special_tokens)
    vocab = _check_training_args(vocab_size, special_tokens)
    counts = pretoken_counts(text, special_tokens)
    words = [list(w) for w in counts]  # byte b is token id b
    freqs = list(counts.values())

    pair_counts: dict[tuple[int, int], int] = {}
    where: dict[tuple[int, int], set[int]] = {}  # pair -> the words holding it (may hold stale words)
    for i, word in enumerate(words):
        f = freqs[i]
        for pair in zip(word, word[1:]):
            pair_counts[pair] = pair_counts.get(pair, 0) + f
            where.setdefault(pair, set()).add(i)
    heap = [(-c, _Greater((vocab[a], vocab[b])), a, b) for (a, b), c in pair_counts.items()]
    heapq.heapify(heap)

    merges: list[tuple[bytes, bytes]] = []
    while len(vocab) < vocab_size:
        # the top entry is valid only if it still holds the pair's current count; others are stale
        while heap and pair_counts.get((heap[0][2], heap[0][3])) != -heap[0][0]:
            heapq.heappop(heap)
        if not heap:
            break
        _, _, a, b = heapq.heappop(heap)
        new = len(vocab)
        vocab[new] = vocab[a] + vocab[b]
        merges.append((vocab[a], vocab[b]))
        delta: dict[tuple[int, int], int] = {}
        for i in where.pop((a, b)):
            word = words[i]
            merged = _merge_word(word, a, b, new)
            if len(merged) == len(word):  # a stale entry: this word no longer holds (a, b)
                continue
            f = freqs[i]
            for pair in zip(word, word[1:]):
                delta[pair] = delta.get(pair, 0) - f
            for pair in zip(merged, merged[1:]):
                delta[pair] = delta.get(pair, 0) + f
                where.setdefault(pair, set()).add(i)
            words[i] = merged
        for pair, d in delta.items():
            if d == 0:
                continue
            count = pair_counts.get(pair, 0) + d
            if count > 0:
                pair_counts[pair] = count
                heapq.heappush(heap, (-count, _Greater((vocab[pair[0]], vocab[pair[1]])), pair[0], pair[1]))
            else:
                pair_counts.pop(pair, None)
                where.pop(pair, None)
    return vocab, merges


def train_bpe_plain(text: str, vocab_size: int, special_tokens: Iterable[str] = ()) -> tuple[dict[int, bytes], Merges]:
    """The twin of `train_bpe`: the same pre-tokens, but every pair recounted before each merge."""
    special_tokens = list(special_tokens)
    vocab = _check_training_args(vocab_size, special_tokens)
    words = {tuple(w): f for w, f in pretoken_counts(text, special_tokens).items()}
    merges: list[tuple[bytes, bytes]] = []
    while len(vocab) < vocab_size:
        pairs: Counter[tuple[int, int]] = Counter()
        for word, f in words.items():
            for pair in zip(word, word[1:]):
                pairs[pair] += f
        if not pairs:
            break
        a, b = max(pairs, key=lambda p: (pairs[p], (vocab[p[0]], vocab[p[1]])))
        new = len(vocab)
        vocab[new] = vocab[a] + vocab[b]
        merges.append((vocab[a], vocab[b]))
        words = {tuple(_merge_word(list(w), a, b, new)): f for w, f in words.items()}
    return vocab, merges


# -- the tokenizer ----------------------------------------------------------------------------------
class Tokenizer:
    """Encode text to ids and back with a byte-level BPE vocabulary.

    `vocab` maps id -> bytes (every one of the 256 single bytes must be present, so any text encodes);
    `merges` are the learned pairs in order, each of whose concatenation is in the vocabulary;
    `special_tokens` are kept whole and get their vocabulary id (one is added if missing)."""

    def __init__(self, vocab: dict[int, bytes], merges: list[tuple[bytes, bytes]],
                 special_tokens: Iterable[str] | None = None):
        self.vocab = {int(i): bytes(b) for i, b in vocab.items()}
        self.merges = [(bytes(a), bytes(b)) for a, b in merges]
        self.special_tokens = list(dict.fromkeys(special_tokens or ()))
        ids = {b: i for i, b in self.vocab.items()}
        if len(ids) != len(self.vocab):
            raise ValueError("the vocabulary maps two ids to the same bytes")
        for s in self.special_tokens:
            if s.encode("utf-8") not in ids:
                new = max(self.vocab, default=-1) + 1
                self.vocab[new] = s.encode("utf-8")
                ids[s.encode("utf-8")] = new
        missing = [b for b in range(256) if bytes([b]) not in ids]
        if missing:
            raise ValueError(f"the vocabulary lacks the single byte {missing[0]} (every byte needs an id)")
        self._ids = ids
        self._byte_ids = [ids[bytes([b])] for b in range(256)]
        # (id_a, id_b) -> (rank, id of a + b): the lower rank merges first
        self._ranks: dict[tuple[int, int], tuple[int, int]] = {}
        for rank, (a, b) in enumerate(self.merges):
            if a not in ids or b not in ids or a + b not in ids:
                raise ValueError(f"merge {rank} ({a!r}, {b!r}) uses bytes that are not in the vocabulary")
            self._ranks.setdefault((ids[a], ids[b]), (rank, ids[a + b]))
        self._special_ids = {s: ids[s.encode("utf-8")] for s in self.special_tokens}
        self._special_re = _special_pattern(self.special_tokens)
        self._max_special = max((len(s) for s in self.special_tokens), default=0)
        self._cache: dict[str, list[int]] = {}

    def __len__(self) -> int:
        return len(self.vocab)

    @classmethod
    def train(cls, text: str, vocab_size: int, special_tokens: Iterable[str] = ()) -> "Tokenizer":
        special_tokens = list(special_tokens)
        vocab, merges = train_bpe(text, vocab_size, special_tokens)
        return cls(vocab, merges, special_tokens)

    # -- encoding ---------------------------------------------------------------------------------
    def _bpe(self, pretoken: str) -> list[int]:
        """GPT-2's bpe(): merge the lowest-ranked adjacent pair (all its occurrences) until none is ranked."""
        cached = self._cache.get(pretoken)
        if cached is not None:
            return cached
        word = [self._byte_ids[b] for b in pretoken.encode("utf-8")]
        ranks = self._ranks
        while len(word) > 1:
            best = min((ranks[p] for p in zip(word, word[1:]) if p in ranks), default=None)
            if best is None:
                break
            rank, new = best
            a, b = self.merges[rank]
            word = _merge_word(word, self._ids[a], self._ids[b], new)
        if len(self._cache) >= _CACHE_LIMIT:
            self._cache.clear()
        self._cache[pretoken] = word
        return word

    def _encode_ordinary(self, text: str) -> list[int]:
        ids: list[int] = []
        for pretoken in _PRETOKEN.findall(text):
            ids.extend(self._bpe(pretoken))
        return ids

    def encode(self, text: str) -> list[int]:
        """Token ids of `text`: special tokens whole (longest first), the rest BPE'd per pre-token."""
        if self._special_re is None:
            return self._encode_ordinary(text)
        ids: list[int] = []
        for piece, special in _split(text, self._special_re):
            if special:
                ids.append(self._special_ids[piece])
            else:
                ids.extend(self._encode_ordinary(piece))
        return ids

    def encode_iterable(self, chunks: Iterable[str]) -> Iterator[int]:
        """The ids of "".join(chunks), exactly as `encode` would give them, yielded lazily (e.g. from an
        open text file, line by line). Memory holds one chunk plus the unfinished tail: the last
        pre-tokens (whose end may still change) and as many characters as the longest special token."""
        buffer = ""
        for chunk in chunks:
            buffer += chunk
            consumed, ids = self._encode_final_prefix(buffer)
            yield from ids
            buffer = buffer[consumed:]
        yield from self.encode(buffer)

    def _encode_final_prefix(self, text: str) -> tuple[int, list[int]]:
        """(n, ids): the ids of text[:n], the longest prefix whose tokens no later text can change.

        A special token starting before `safe` = len - longest special lies wholly inside the text, so
        it is final; ordinary text before `safe` is final up to its last pre-token that ends at least
        `_LOOKAHEAD_MARGIN` characters before `safe` (a later character may still extend the others)."""
        safe = len(text) - self._max_special
        ids: list[int] = []
        start = 0  # everything before it is encoded
        if self._special_re is not None:
            for m in self._special_re.finditer(text):
                if m.start() >= safe:
                    break
                ids.extend(self._encode_ordinary(text[start:m.start()]))
                ids.append(self._special_ids[m.group()])
                start = m.end()
        limit = safe - _LOOKAHEAD_MARGIN
        end = start
        for m in _PRETOKEN.finditer(text, start):
            if m.end() > limit:
                break
            ids.extend(self._bpe(m.group()))
            end = m.end()
        return end, ids

    # -- decoding ---------------------------------------------------------------------------------
    def decode_bytes(self, ids: Iterable[int]) -> bytes:
        vocab = self.vocab
        try:
            return b"".join(vocab[int(i)] for i in ids)
        except KeyError as exc:
            raise ValueError(f"token id {exc.args[0]} is not in the vocabulary of {len(vocab)} tokens") from None

    def decode(self, ids: Iterable[int]) -> str:
        """The text of `ids`; bytes that are not valid UTF-8 (a split character) become U+FFFD."""
        return self.decode_bytes(ids).decode("utf-8", errors="replace")

    # -- files ------------------------------------------------------------------------------------
    def save(self, path: str | Path) -> None:
        """Write the documented text format (module docstring)."""
        lines = [FILE_HEADER]
        lines += [f"special {s.encode('utf-8').hex()}" for s in self.special_tokens]
        lines += [f"token {i} {b.hex()}" for i, b in sorted(self.vocab.items())]
        lines += [f"merge {a.hex()} {b.hex()}" for a, b in self.merges]
        Path(path).write_text("\n".join(lines) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path) -> "Tokenizer":
        """Read a file written by `save`; a bad file raises TokenizerFileError naming file and line."""
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise TokenizerFileError(f"{path}: cannot read the tokenizer file ({exc})") from None
        vocab: dict[int, bytes] = {}
        merges: list[tuple[bytes, bytes]] = []
        specials: list[str] = []
        lines = text.splitlines()
        if not lines or lines[0].strip() != FILE_HEADER:
            raise TokenizerFileError(f"{path}, line 1: expected the header {FILE_HEADER!r}")
        for number, line in enumerate(lines[1:], start=2):
            fields = line.split()
            if not fields or fields[0].startswith("#"):
                continue
            where = f"{path}, line {number}"
            try:
                kind, values = fields[0], fields[1:]
                if kind == "special" and len(values) == 1:
                    specials.append(bytes.fromhex(values[0]).decode("utf-8"))
                elif kind == "token" and len(values) == 2:
                    token_id, token = int(values[0]), bytes.fromhex(values[1])
                    if token_id < 0 or token_id in vocab or not token:
                        raise ValueError(f"token id {token_id} is negative, repeated or has no bytes")
                    vocab[token_id] = token
                elif kind == "merge" and len(values) == 2:
                    first, second = bytes.fromhex(values[0]), bytes.fromhex(values[1])
                    if not first or not second:
                        raise ValueError("a merge of an empty byte string")
                    merges.append((first, second))
                else:
                    raise ValueError(f"not a 'special', 'token' or 'merge' record: {line.strip()[:60]!r}")
            except ValueError as exc:
                raise TokenizerFileError(f"{where}: {exc}") from None
        try:
            return cls(vocab, merges, specials)
        except ValueError as exc:
            raise TokenizerFileError(f"{path}: {exc}") from None

    @classmethod
    def from_gpt2(cls, encoder_json: str | Path, vocab_bpe: str | Path,
                  special_tokens: Iterable[str] = ("<|endoftext|>",)) -> "Tokenizer":
        """GPT-2's published files: `encoder.json` ({token: id}, each token's bytes written through
        `bytes_to_unicode`) and `vocab.bpe` (a '#version' line, then one merge "a b" per line in the
        same characters). The ids are the file's, so every token, `<|endoftext|>` included, keeps its id."""
        decoder = {c: b for b, c in bytes_to_unicode().items()}

        def to_bytes(token: str, where: str) -> bytes:
            try:
                return bytes(decoder[c] for c in token)
            except KeyError as exc:
                raise TokenizerFileError(f"{where}: character {exc.args[0]!r} is not in GPT-2's byte table") from None

        encoder_json, vocab_bpe = Path(encoder_json), Path(vocab_bpe)
        try:
            encoder = json.loads(encoder_json.read_text(encoding="utf-8"))
            merge_lines = vocab_bpe.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise TokenizerFileError(f"cannot read GPT-2 files {encoder_json} / {vocab_bpe}: {exc}") from None
        if not isinstance(encoder, dict):
            raise TokenizerFileError(f"{encoder_json}: expected a JSON object of token -> id")
        vocab = {}
        for token, token_id in encoder.items():
            if not isinstance(token_id, int):
                raise TokenizerFileError(f"{encoder_json}: token {token!r} has the id {token_id!r}, not an integer")
            vocab[token_id] = to_bytes(token, f"{encoder_json}, token {token!r}")
        merges = []
        for number, line in enumerate(merge_lines, start=1):
            if not line.strip() or (number == 1 and line.startswith("#version")):
                continue
            fields = line.split()
            if len(fields) != 2:
                raise TokenizerFileError(f"{vocab_bpe}, line {number}: expected two tokens, got {line[:60]!r}")
            where = f"{vocab_bpe}, line {number}"
            merges.append((to_bytes(fields[0], where), to_bytes(fields[1], where)))
        try:
            return cls(vocab, merges, special_tokens)
        except ValueError as exc:
            raise TokenizerFileError(f"{encoder_json} / {vocab_bpe}: {exc}") from None
