"""bpe-tokens build (issue 15): pair counting, the tie-break, the merge, encoding and decoding through the
real grader. Several classic mistakes are edited into ONE copy of the reference, each in a different
function, so one grading shows each costing exactly its own check with a message in the learner's terms
(and the training stage, which waits for every earlier check); more are judged by the same checks on the
file run in-process (tests/implement/inprocess.py), each failing only its own. The reference's 100 and the scaffold's 0
are test_implement_grading.py's (every task); the reference's training is read from graded_reference."""

from __future__ import annotations

import numpy as np
import pytest

from labs.implement.checks import bpe_tokens as checks
from labs.implement.checks.common import CheckFailed
from labs.implement.solutions import bpe_tokens as ref
from labs.implement.tasks import TRAIN
from labs.tokenizer import Tokenizer, pretokenize, train_bpe
from tests.implement.helpers import assert_costs_exactly, by_id, grade_source, graded_reference, solution_source
from tests.implement.inprocess import InProcess

LAB = "bpe-tokens"


def edited(*edits: tuple[str, str]) -> str:
    source = solution_source(LAB)
    for line, wrong in edits:
        assert source.count(line) == 1, line
        source = source.replace(line, wrong)
    return source


def test_the_reference_trains_the_librarys_merges_and_reports_bits_per_character():
    result = graded_reference(LAB)
    assert result.status == "passed" and result.grade.score == 100
    assert "merges are the library's" in by_id(result)[TRAIN].message
    # more than one character per token: fewer bits per character than the token's own nats / ln 2
    assert result.metrics["bytes_per_token"] > 1.2
    assert 0 < result.metrics["bits_per_char"] < result.metrics["val_loss"] / np.log(2)


def test_five_classic_mistakes_each_cost_their_own_check(tmp_path):
    source = edited(
        ("inside = word_ids[:-1] == word_ids[1:]", "inside = np.ones(len(ids) - 1, dtype=bool)"),
        ("_, i = max(keyed)", "_, i = min(keyed)"),
        (" and word_ids[i] == word_ids[i + 1]:", ":"),
        ("merged.append(256 + r)", "merged.append(255 + r)"),
        ('return b"".join(_token_bytes(int(t), flat, offsets) for t in ids).decode("utf-8", errors="replace")',
         'return "".join(_token_bytes(int(t), flat, offsets).decode("utf-8", errors="replace") for t in ids)'),
    )
    assert_costs_exactly(grade_source(tmp_path, LAB, source), LAB, {
        "forward:pair_counts": ["ACROSS pre-tokens", "word_ids[j] == word_ids[j + 1]"],
        "forward:best_pair": ["SMALLER pair", "lexicographically greater"],
        "forward:merge_pair": ["merged across pre-tokens"],
        "forward:encode_word": ["255 + r", "256 + r"],
        "forward:decode": ["decoded on its own", "join all the bytes, then decode once"],
    })


OVERLAPPING = """

def merge_pair(ids, word_ids, a, b, new_id):
    hits = [j for j in range(len(ids) - 1) if ids[j] == a and ids[j + 1] == b and word_ids[j] == word_ids[j + 1]]
    gone = {j + 1 for j in hits} | set(hits)
    out = [new_id if j in hits else int(ids[j]) for j in range(len(ids)) if j in hits or j not in gone]
    return np.array(out, dtype=np.int64), np.zeros(len(out), dtype=np.int64)
"""
FROM_THE_RIGHT = """

def merge_pair(ids, word_ids, a, b, new_id):
    out, words, i = [], [], len(ids) - 1
    while i >= 0:
        if i >= 1 and ids[i - 1] == a and ids[i] == b and word_ids[i - 1] == word_ids[i]:
            out.append(new_id); words.append(int(word_ids[i])); i -= 2
        else:
            out.append(int(ids[i])); words.append(int(word_ids[i])); i -= 1
    return np.array(out[::-1], dtype=np.int64), np.array(words[::-1], dtype=np.int64)
"""
BY_FREQUENCY = """

def encode_word(byte_ids, merges):
    rank = {(int(a), int(b)): r for r, (a, b) in enumerate(np.asarray(merges).reshape(-1, 2))}
    word = [int(x) for x in byte_ids]
    while True:
        pairs = [p for p in zip(word, word[1:]) if p in rank]
        if not pairs:
            return np.array(word, dtype=np.int64)
        a, b = max(set(pairs), key=lambda p: (pairs.count(p), -rank[p]))
        word = list(merge_pair(np.array(word), np.zeros(len(word), np.int64), a, b, 256 + rank[(a, b)])[0])
"""
IN_PROCESS = [
    # (what, (line, replacement) or an appended redefinition, the check, words its message must contain)
    ("ties broken by the ids", ("keyed = [((_token_bytes(pairs[i, 0], flat, offsets), _token_bytes(pairs[i, 1], "
                                "flat, offsets)), i) for i in top]",
                                "keyed = [((int(pairs[i, 0]), int(pairs[i, 1])), i) for i in top]"),
     "best_pair", ["broken by the ids", "(bytes of a, bytes of b)"]),
    ("ties to the first listed", ("_, i = max(keyed)", "_, i = keyed[0]"), "best_pair", ["the first pair listed"]),
    ("the joined bytes compared", ("_, i = max(keyed)", "_, i = max((k[0] + k[1], i) for k, i in keyed)"),
     "best_pair", ["joined before comparing"]),
    ("a strict decoder", ('decode("utf-8", errors="replace")', 'decode("utf-8")'), "decode",
     ["invalid UTF-8", 'errors="replace"']),
    ("overlapping occurrences both merged", OVERLAPPING, "merge_pair", ["both merged", "moves past"]),
    ("merged from the right", FROM_THE_RIGHT, "merge_pair", ["from the right end"]),
    ("encoded by frequency, not rank", BY_FREQUENCY, "encode_word", ["how often a pair occurs", "LOWEST merge rank"]),
    ("pairs unsorted", ("return pairs.astype(np.int64), counts.astype(np.int64)",
                        "return pairs[::-1].astype(np.int64), counts[::-1].astype(np.int64)"),
     "pair_counts", ["not sorted"]),
]


@pytest.mark.parametrize("what, edit, function, words", IN_PROCESS, ids=[m[0] for m in IN_PROCESS])
def test_more_classic_mistakes_are_named_by_their_check(what, edit, function, words):
    source = edited(edit) if isinstance(edit, tuple) else solution_source(LAB) + edit
    with pytest.raises(CheckFailed) as failed:
        checks.CHECKS[f"forward:{function}"](InProcess(source))
    assert all(word in failed.value.message for word in words), failed.value.message
    others = [fn for fn in checks.CHECKS if fn != f"forward:{function}"]
    for other in others:  # the rest of the file still passes: the mistake costs its own check only
        checks.CHECKS[other](InProcess(source))


def test_the_checkers_fixtures_are_the_librarys_rules():
    """The checker's corpus arrays and tie cases agree with labs.tokenizer, so the reference is the library."""
    text = "low low lower; the cat"
    ids, word_ids = checks.corpus_arrays(text)
    assert bytes(ids.astype(np.uint8)) == text.encode() and word_ids[-1] == len(pretokenize(text)) - 1
    vocab, merges = train_bpe(text, 256 + 6)
    table, got = list(checks.BYTES), []
    for r in range(6):
        pairs, counts = ref.pair_counts(ids, word_ids)
        a, b = ref.best_pair(pairs, counts, *checks.vocab_arrays(table))
        got.append((table[a], table[b]))
        ids, word_ids = ref.merge_pair(ids, word_ids, a, b, 256 + r)
        table.append(table[a] + table[b])
    assert got == merges and got[:2] == [(b"o", b"w"), (b"l", b"ow")]  # the lesson's worked example
    tok = Tokenizer(vocab, merges)
    pair_ids = np.array([[table.index(a), table.index(b)] for a, b in merges], dtype=np.int64)
    for word in pretokenize("slower lowest"):
        assert ref.encode_word(np.frombuffer(word.encode(), np.uint8).astype(np.int64), pair_ids).tolist() \
            == tok.encode(word)
