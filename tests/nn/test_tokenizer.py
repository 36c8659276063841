"""labs.tokenizer: BPE training (incremental == recount twin, tie-breaks, specials), encode/decode round
trips on any Unicode, lazy encoding with bounded memory, GPT-2's file format and ids, save/load."""

from __future__ import annotations

import json
import random
import tracemalloc

import pytest
import regex

from labs.datasets import load_text
from labs.tokenizer import (
    GPT2_PATTERN, Tokenizer, TokenizerFileError, bytes_to_unicode, initial_vocab, pretokenize, train_bpe,
    train_bpe_plain,
)

EOT = "<|endoftext|>"
UNICODE_SAMPLES = [
    "", "a", " ", "\n\n", "日本語のテキスト、漢字と かな。", "中文 测试 😀👍🏽 👨‍👩‍👧‍👦",
    "e\u0301 n\u0303 a\u0308\u0304 Zalgo: Z\u0351\u036b\u0343a\u0310\u0352l\u0344", "Ω≈ç√∫ ß∂ƒ©˙∆ ﬁ ＡＢＣ",
    "tab\tand  double  spaces   \n end ", "it's we'll they're I'd 'quoted'", "123 4567 ٣٤٥ ⅷ", "\x00\x01\x7f\ufffd",
    EOT, EOT + EOT, "a" + EOT + "b", " " + EOT + " \n",
]


@pytest.fixture(scope="module")
def shakespeare() -> str:
    return load_text().text


@pytest.fixture(scope="module")
def tokenizer(shakespeare) -> Tokenizer:
    text = shakespeare[:40_000] + EOT + "".join(UNICODE_SAMPLES) * 3
    return Tokenizer.train(text, 600, [EOT])


# -- training -----------------------------------------------------------------------------------------
def test_merges_by_hand_with_ties_broken_by_the_greater_byte_pair():
    # pre-tokens "ab", " ab", " cd": (a, b) is counted twice, then three pairs tie at one each
    vocab, merges = train_bpe("ab ab cd", 256 + 4)
    assert merges == [(b"a", b"b"), (b"c", b"d"), (b" ", b"cd"), (b" ", b"ab")]
    assert [vocab[i] for i in range(256, 260)] == [b"ab", b"cd", b" cd", b" ab"]


def test_the_vocabulary_starts_with_the_bytes_then_the_specials():
    vocab = initial_vocab([EOT, "<pad>", EOT])
    assert len(vocab) == 258 and all(vocab[i] == bytes([i]) for i in range(256))
    assert vocab[256] == EOT.encode() and vocab[257] == b"<pad>"


def test_special_tokens_are_never_merged_across_and_keep_their_id():
    text = ("hello" + EOT) * 50 + " world" * 20
    vocab, merges = train_bpe(text, 300, [EOT])
    special_bytes = set(EOT.encode())
    assert vocab[256] == EOT.encode()
    # no merge contains a byte of the special token ('<', '|', ...) except letters that also occur in text
    for a, b in merges:
        assert not (set(a + b) & (special_bytes - set(b"hello world"))), (a, b)
    assert not any(b"o<" in a + b or b">h" in a + b for a, b in merges)


@pytest.mark.parametrize("seed", range(4))
def test_incremental_training_gives_the_recount_twins_merges(shakespeare, seed):
    rng = random.Random(seed)
    start = rng.randrange(0, len(shakespeare) - 20_000)
    text = shakespeare[start:start + 15_000] + EOT + rng.choice(UNICODE_SAMPLES[4:8]) * 5
    text += "".join(rng.choice("ab ") for _ in range(2000))  # many ties and overlapping pairs (aaa)
    fast = train_bpe(text, 256 + 1 + 250, [EOT])
    plain = train_bpe_plain(text, 256 + 1 + 250, [EOT])
    assert fast == plain


def test_training_stops_when_no_pair_is_left_and_rejects_a_tiny_vocabulary():
    vocab, merges = train_bpe("ab", 1000)
    assert merges == [(b"a", b"b")] and len(vocab) == 257
    with pytest.raises(ValueError, match="vocab_size 200"):
        train_bpe("ab", 200)


def test_pretokens_follow_gpt2_and_cover_the_text():
    assert pretokenize("Hello world's 123  end\n") == ["Hello", " world", "'s", " 123", " ", " end", "\n"]
    for text in UNICODE_SAMPLES:
        assert "".join(pretokenize(text)) == text


# -- encode / decode -------------------------------------------------------------------------------
@pytest.mark.parametrize("text", UNICODE_SAMPLES)
def test_round_trip_is_exact_on_any_unicode(tokenizer, text):
    ids = tokenizer.encode(text)
    assert tokenizer.decode(ids) == text
    assert all(isinstance(i, int) and i in tokenizer.vocab for i in ids)


def test_round_trip_on_random_code_points(tokenizer):
    rng = random.Random(7)
    for _ in range(50):
        text = "".join(chr(rng.choice([rng.randrange(32, 0x2FF), rng.randrange(0x3000, 0x9FFF),
                                       rng.randrange(0x1F300, 0x1FAFF), rng.randrange(0xE000, 0x10FFFF)]))
                       for _ in range(rng.randrange(0, 40)))
        assert tokenizer.decode(tokenizer.encode(text)) == text


def test_encode_uses_merges_and_special_ids(tokenizer, shakespeare):
    ids = tokenizer.encode(shakespeare[:5000])
    assert len(ids) < 0.6 * len(shakespeare[:5000].encode())  # the merges compress
    assert tokenizer.encode(EOT) == [256]
    assert tokenizer.encode("the" + EOT + "the") == tokenizer.encode("the") + [256] + tokenizer.encode("the")


def test_invalid_utf8_is_replaced_never_raised(tokenizer):
    assert tokenizer.decode([0xFF]) == "\ufffd"
    emoji = tokenizer.encode("😀")
    assert len(emoji) >= 1
    half = tokenizer.decode_bytes(emoji)[:2]
    assert Tokenizer(initial_vocab(), []).decode(list(half)) == "\ufffd"
    with pytest.raises(ValueError, match="token id 99999"):
        tokenizer.decode([99999])


def test_overlapping_specials_match_longest_first():
    specials = ["<|a|>", "<|a|><|b|>", "<|b|>"]
    tok = Tokenizer(initial_vocab(), [], specials)
    a, ab, b = (tok.encode(s) for s in specials)
    assert len(a) == len(ab) == len(b) == 1 and len({a[0], ab[0], b[0]}) == 3
    assert tok.encode("<|a|><|b|><|b|>") == ab + b
    assert tok.encode("x<|a|>y<|b|>") == [ord("x")] + a + [ord("y")] + b
    assert tok.encode("<|a|") == list(b"<|a|")  # a prefix of a special is plain text


def test_a_special_missing_from_the_vocabulary_gets_a_new_id_and_bad_vocabularies_are_named():
    tok = Tokenizer(initial_vocab(), [], [EOT])
    assert tok.encode(EOT) == [256]
    vocab = initial_vocab()
    del vocab[65]
    with pytest.raises(ValueError, match="single byte 65"):
        Tokenizer(vocab, [])
    with pytest.raises(ValueError, match="merge 0"):
        Tokenizer(initial_vocab(), [(b"a", b"b")])


# -- lazy encoding ----------------------------------------------------------------------------------
TRICKY = "it's  we'll\n\n \n  x<|endoftext|> <|endoftext|><|endoftext|>'ll 12 3日本 😀 \t\n"


@pytest.mark.parametrize("seed", range(6))
def test_encode_iterable_equals_encode_whatever_the_chunking(tokenizer, shakespeare, seed):
    rng = random.Random(seed)
    text = TRICKY * 3 + shakespeare[seed * 1000: seed * 1000 + 3000] + TRICKY
    cuts = sorted(rng.sample(range(1, len(text)), rng.randrange(1, 300)))
    chunks = [text[a:b] for a, b in zip([0] + cuts, cuts + [len(text)])]
    assert list(tokenizer.encode_iterable(chunks)) == tokenizer.encode(text)
    assert list(tokenizer.encode_iterable(list(text))) == tokenizer.encode(text)  # one character at a time


@pytest.mark.parametrize("seed", range(3))
def test_encode_iterable_without_specials_holds_back_unfinished_pretokens(tokenizer, seed):
    plain = Tokenizer(tokenizer.vocab, tokenizer.merges)  # nothing to hold back for a special
    rng = random.Random(seed)
    text = TRICKY.replace(EOT, "'ve ") * 20
    cuts = sorted(rng.sample(range(1, len(text)), 200))
    chunks = [text[a:b] for a, b in zip([0] + cuts, cuts + [len(text)])]
    assert list(plain.encode_iterable(chunks)) == plain.encode(text)
    assert list(plain.encode_iterable(list(text))) == plain.encode(text)


def test_encode_iterable_is_lazy_and_its_memory_does_not_grow_with_the_file(tokenizer, tmp_path, shakespeare):
    path = tmp_path / "big.txt"
    block = (shakespeare[:20_000] + EOT + "\n") * 5
    with open(path, "w", encoding="utf-8") as f:
        for _ in range(20):  # about 2 MB
            f.write(block)
    size = path.stat().st_size
    tokenizer.encode(block)  # warm the pre-token cache, so the peak below is the stream's own
    read = [0]

    def lines(f):
        for line in f:
            read[0] += 1
            yield line

    with open(path, encoding="utf-8") as f:
        stream = tokenizer.encode_iterable(lines(f))
        first = next(stream)  # lazy: ids come after a line or two, before the file is read through
        assert read[0] <= 2
        tracemalloc.start()
        count = 1 + sum(1 for _ in stream)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    assert first == tokenizer.encode(block[:50])[0]
    assert count == 100 * len(tokenizer.encode(shakespeare[:20_000] + EOT + "\n"))
    assert peak < size / 10, f"peak {peak} bytes while streaming a {size}-byte file"


# -- GPT-2's format ---------------------------------------------------------------------------------
class Gpt2Encoder:
    """GPT-2's published encoder (openai/gpt-2, src/encoder.py), the oracle for its ids."""

    def __init__(self, encoder: dict[str, int], bpe_merges: list[tuple[str, str]]):
        self.encoder = encoder
        self.byte_encoder = bytes_to_unicode()
        self.bpe_ranks = dict(zip(bpe_merges, range(len(bpe_merges))))
        self.pat = regex.compile(GPT2_PATTERN)

    def bpe(self, token: str) -> str:
        word = tuple(token)
        pairs = set(zip(word, word[1:]))
        if not pairs:
            return token
        while True:
            bigram = min(pairs, key=lambda pair: self.bpe_ranks.get(pair, float("inf")))
            if bigram not in self.bpe_ranks:
                break
            first, second = bigram
            new_word, i = [], 0
            while i < len(word):
                try:
                    j = word.index(first, i)
                    new_word.extend(word[i:j])
                    i = j
                except ValueError:
                    new_word.extend(word[i:])
                    break
                if word[i] == first and i < len(word) - 1 and word[i + 1] == second:
                    new_word.append(first + second)
                    i += 2
                else:
                    new_word.append(word[i])
                    i += 1
            word = tuple(new_word)
            if len(word) == 1:
                break
            pairs = set(zip(word, word[1:]))
        return " ".join(word)

    def encode(self, text: str) -> list[int]:
        ids = []
        for token in regex.findall(self.pat, text):
            token = "".join(self.byte_encoder[b] for b in token.encode("utf-8"))
            ids.extend(self.encoder[t] for t in self.bpe(token).split(" "))
        return ids


def write_gpt2_files(tmp_path, vocab: dict[int, bytes], merges: list[tuple[bytes, bytes]]):
    """A vocabulary in GPT-2's layout: the 256 bytes in the byte table's order, then the merges, then
    <|endoftext|> last, all written through the printable-byte table."""
    table = bytes_to_unicode()
    show = lambda b: "".join(table[x] for x in b)  # noqa: E731
    tokens = [bytes([b]) for b in table] + [a + b for a, b in merges] + [EOT.encode()]
    encoder = {show(t): i for i, t in enumerate(tokens)}
    (tmp_path / "encoder.json").write_text(json.dumps(encoder), encoding="utf-8")
    lines = ["#version: 0.2"] + [f"{show(a)} {show(b)}" for a, b in merges]
    (tmp_path / "vocab.bpe").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return encoder, [(show(a), show(b)) for a, b in merges]


def test_gpt2_files_load_and_give_gpt2s_ids(tokenizer, tmp_path, shakespeare):
    encoder, str_merges = write_gpt2_files(tmp_path, tokenizer.vocab, tokenizer.merges)
    assert encoder[show_first := bytes_to_unicode()[33]] == 0 and show_first == "!"  # not byte order
    gpt2 = Tokenizer.from_gpt2(tmp_path / "encoder.json", tmp_path / "vocab.bpe")
    oracle = Gpt2Encoder(encoder, str_merges)
    for text in [shakespeare[50_000:56_000], *UNICODE_SAMPLES[:12], TRICKY.replace(EOT, "")]:
        assert gpt2.encode(text) == oracle.encode(text)
        assert gpt2.decode(gpt2.encode(text)) == text
    assert gpt2.encode(EOT) == [len(encoder) - 1]
    assert gpt2.encode("a" + EOT) == oracle.encode("a") + [len(encoder) - 1]


def test_gpt2_files_with_a_bad_line_are_named(tmp_path, tokenizer):
    write_gpt2_files(tmp_path, tokenizer.vocab, tokenizer.merges[:3])
    with open(tmp_path / "vocab.bpe", "a", encoding="utf-8") as f:
        f.write("onlyone\n")
    with pytest.raises(TokenizerFileError, match=r"vocab\.bpe, line 5"):
        Tokenizer.from_gpt2(tmp_path / "encoder.json", tmp_path / "vocab.bpe")


# -- save / load ------------------------------------------------------------------------------------
def test_save_load_round_trip(tokenizer, tmp_path, shakespeare):
    path = tmp_path / "tok.bpe"
    tokenizer.save(path)
    loaded = Tokenizer.load(path)
    assert loaded.vocab == tokenizer.vocab and loaded.merges == tokenizer.merges
    assert loaded.special_tokens == tokenizer.special_tokens
    text = shakespeare[:3000] + EOT + UNICODE_SAMPLES[5]
    assert loaded.encode(text) == tokenizer.encode(text)


@pytest.mark.parametrize("content,where", [
    ("not-a-tokenizer\n", "line 1"),
    ("pathlab-bpe 1\ntoken 0 zz\n", "line 2"),
    ("pathlab-bpe 1\n# comment\n\ntoken 0 00\ntoken 0 01\n", "line 5"),
    ("pathlab-bpe 1\nmerge 61\n", "line 2"),
    ("pathlab-bpe 1\nspecial ff\n", "line 2"),
    ("pathlab-bpe 1\nbanana 1 2\n", "line 2"),
    ("pathlab-bpe 1\ntoken 0 00\n", "single byte 1"),
])
def test_a_bad_file_is_named_with_its_line(tmp_path, content, where):
    path = tmp_path / "bad.bpe"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(TokenizerFileError) as info:
        Tokenizer.load(path)
    assert str(path) in str(info.value) and where in str(info.value)
    assert "\n" not in str(info.value)


def test_a_missing_or_binary_file_is_named(tmp_path):
    with pytest.raises(TokenizerFileError, match="missing.bpe"):
        Tokenizer.load(tmp_path / "missing.bpe")
    (tmp_path / "bin.bpe").write_bytes(b"\xff\xfe\x00")
    with pytest.raises(TokenizerFileError, match="bin.bpe"):
        Tokenizer.load(tmp_path / "bin.bpe")
