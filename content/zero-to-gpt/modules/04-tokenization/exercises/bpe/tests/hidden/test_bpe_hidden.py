"""Hidden tests for the byte-level BPE tokenizer: random cases, other scripts, a real text."""

import random

from minbpe import BasicTokenizer
from minbpe.base import get_stats, merge

MULTILINGUAL = (
    "Tokenizers work on bytes, so every language is welcome. "
    "Le tokeniseur découpe le texte en octets; très pratique, n'est-ce pas? "
    "Der Zug fährt über die Brücke, und die Straße ist nass. "
    "Η γλώσσα είναι ελληνική και τα γράμματα είναι δύο byte. "
    "Русский текст тоже кодируется двумя байтами на букву. "
    "日本語の文章は一文字が三バイトです。東京と京都。 "
    "हिन्दी भी तीन बाइट प्रति अक्षर लेती है। "
    "Emoji take four bytes: 🙂🙂🙂 🐍🐍 🚀 ✨✨ 👍🏽. "
) * 3

# Unicode blocks the random strings draw from (no surrogates: they are not valid in UTF-8).
RANGES = [
    (0x20, 0x7E),      # printable ASCII
    (0xA0, 0x17F),     # Latin-1 and Latin Extended-A
    (0x370, 0x3FF),    # Greek
    (0x400, 0x4FF),    # Cyrillic
    (0x900, 0x97F),    # Devanagari
    (0x3040, 0x30FF),  # Hiragana and Katakana
    (0x4E00, 0x4FFF),  # CJK ideographs
    (0x1F300, 0x1F64F),  # emoji and pictographs
    (0x1F680, 0x1F6FF),  # transport symbols
]


def random_text(rng, n):
    out = []
    for _ in range(n):
        if rng.random() < 0.4:
            out.append(rng.choice(MULTILINGUAL))  # characters the tokenizer has merges for
        else:
            lo, hi = rng.choice(RANGES)
            out.append(chr(rng.randint(lo, hi)))
    return "".join(out)


def test_get_stats_and_merge_random(check):
    rng = random.Random(check.seed)
    for i in range(6):
        ids = [rng.randint(0, 4) for _ in range(rng.randint(0, 40))]
        check(f"get_stats(random ids #{i})", sorted(get_stats(ids).items()),
              msg="get_stats must count every adjacent pair (ids[i], ids[i+1]), including the last one")
        pair = (rng.randint(0, 4), rng.randint(0, 4))
        check(f"merge(random ids #{i}, {pair}, 99)", merge(ids, pair, 99),
              msg="merge scans left to right and skips both ids of a replaced pair (non-overlapping matches)")


def test_roundtrip_random_unicode(check):
    tok = BasicTokenizer()
    tok.train(MULTILINGUAL, 256 + 80)
    rng = random.Random(check.seed)
    for i in range(40):
        s = random_text(rng, rng.randint(0, 30))
        check(f"decode(encode(random string #{i}))", tok.decode(tok.encode(s)), exact=True,
              msg="decode(encode(s)) must give s back for any string: decode the joined bytes of all ids at once")


def test_encode_matches_reference(check):
    tok = BasicTokenizer()
    tok.train(MULTILINGUAL, 256 + 80)
    check("the 80 merges, as (pair, new id)", sorted(tok.merges.items(), key=lambda kv: kv[1]),
          msg="train: most frequent adjacent pair each round; on a tie, the pair that appears first in the text")
    check("vocab entries of the new ids (as bytes)", [list(tok.vocab.get(idx, b"")) for idx in range(256, 336)],
          msg="vocab[new id] must be vocab[a] + vocab[b], the bytes of both halves of the merged pair")
    rng = random.Random(check.seed)
    for i in range(8):
        start = rng.randint(0, len(MULTILINGUAL) - 40)
        s = MULTILINGUAL[start:start + rng.randint(5, 40)]
        check(f"encode(slice #{i} of the training text)", tok.encode(s),
              msg="encode must apply merges in the order they were learned: always the pair with the LOWEST "
                  "merge id first, not the pair that is most frequent in the string being encoded")
    # a small alphabet makes merges compete for the same letters, so the order of merging matters
    small = BasicTokenizer()
    small.train("".join(rng.choice("aab c") for _ in range(400)), 256 + 20)
    for i in range(10):
        s = "".join(rng.choice("aab c") for _ in range(rng.randint(10, 40)))
        check(f"encode(random string #{i} over 'abc ')", small.encode(s),
              msg="encode must apply merges in the order they were learned: the pair with the LOWEST merge id "
                  "first, not the pair that is most frequent in the string being encoded")


def test_decode_split_characters(check):
    tok = BasicTokenizer()
    tok.train(MULTILINGUAL, 256 + 40)
    rng = random.Random(check.seed)
    for i in range(5):
        s = random_text(rng, 12)
        ids = list(s.encode("utf-8"))  # raw byte ids: every multi-byte character spans several ids
        check(f"decode(raw byte ids of random string #{i})", tok.decode(ids),
              msg="join the bytes of ALL ids, then decode once; decoding id by id breaks multi-byte characters")
        cut = ids[: max(1, len(ids) - 1)]  # chop the last byte: possibly an incomplete character
        check(f"decode(the same ids minus the last byte) #{i}", tok.decode(cut),
              msg="an incomplete UTF-8 sequence must become '\\ufffd' (errors='replace'), not an exception")


def test_compression_ratio(check):
    with open(check.data("tinyshakespeare.txt"), encoding="utf-8") as fh:
        text = fh.read()
    tok = BasicTokenizer()
    tok.train(text[:30000], 256 + 150)
    held_out = text[700000:710000]
    ids = tok.encode(held_out)
    ratio = len(held_out.encode("utf-8")) / len(ids)
    print(f"compression ratio on held-out Shakespeare: {ratio:.4f} bytes per token")
    check("compression ratio (bytes per token) on held-out text", ratio, rtol=0.01, tol=0.0,
          msg="with 150 merges learned from Shakespeare, new Shakespeare should shrink about as much as the "
              "reference's; a much lower ratio means merges are missing or applied in the wrong order")
    check("decode(encode(held-out text))", tok.decode(ids), exact=True,
          msg="decode(encode(text)) must return the text unchanged")
