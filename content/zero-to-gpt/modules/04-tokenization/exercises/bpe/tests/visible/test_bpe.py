"""Visible tests for the byte-level BPE tokenizer. Run them with the Run button."""

from minbpe import BasicTokenizer
from minbpe.base import get_stats, merge

SMALL_TEXT = (
    "the cat sat on the mat. the cat ate the rat. "
    "then the rat sat on the cat, and that was that."
)


def test_get_stats(check):
    ids = [1, 2, 3, 1, 2]
    stats = get_stats(ids)
    check("sorted(get_stats([1, 2, 3, 1, 2]).items())", sorted(stats.items()),
          msg="count each pair of NEIGHBOURS (ids[i], ids[i+1]) once, for every i from 0 to len(ids) - 2")
    check("get_stats([7, 7, 7])", sorted(get_stats([7, 7, 7]).items()),
          msg="three equal ids contain the pair (7, 7) twice: positions 0-1 and 1-2 both count")
    check("get_stats([5]) (a single id has no pairs)", sorted(get_stats([5]).items()),
          msg="a list with fewer than two ids has no pairs: return an empty dict")
    counts = {(1, 2): 10}
    result = get_stats([1, 2, 9], counts)
    check("get_stats([1, 2, 9], counts={(1, 2): 10})", sorted(result.items()),
          msg="when `counts` is passed in, add to it (and return it) instead of starting a new dict")
    # Being the very same dict is a property, not a value: the reference reports True too.
    check.true("get_stats returns the dict it was given", result is counts,
               msg="when `counts` is passed in, update that same dict in place and return it")


def test_merge(check):
    check("merge([1, 2, 3, 1, 2], (1, 2), 4)", merge([1, 2, 3, 1, 2], (1, 2), 4),
          msg="every occurrence of the pair (1, 2) becomes the single id 4")
    check("merge([5, 5, 5], (5, 5), 9)", merge([5, 5, 5], (5, 5), 9),
          msg="overlapping pairs: after replacing a pair, skip BOTH of its ids (i += 2); the leftover 5 stays")
    check("merge([5, 5, 5, 5], (5, 5), 9)", merge([5, 5, 5, 5], (5, 5), 9),
          msg="four equal ids hold two non-overlapping pairs: [9, 9]")
    check("merge([3, 1, 2], (1, 2), 7) (pair at the end)", merge([3, 1, 2], (1, 2), 7),
          msg="a pair in the last two positions must be merged too (don't stop the scan one early)")
    check("merge([1, 2, 3], (2, 1), 7) (no match)", merge([1, 2, 3], (2, 1), 7),
          msg="a pair is ordered: (2, 1) does not match the neighbours 1, 2")
    check("merge([], (1, 2), 4)", merge([], (1, 2), 4), msg="merging an empty list gives an empty list")


def test_aaabdaaabac(check):
    tok = BasicTokenizer()
    tok.train("aaabdaaabac", 256 + 3)
    ids = tok.encode("aaabdaaabac")
    check("encode('aaabdaaabac') after 3 merges", ids,
          msg="the three merges should be (97, 97) -> 256, (256, 97) -> 257, (257, 98) -> 258")
    check("the merges, as (pair, new id)", sorted(tok.merges.items(), key=lambda kv: kv[1]),
          msg="on a tie (two pairs with the same count), pick the pair that appears first in the text")
    check("vocab[256], vocab[257], vocab[258]", [tok.vocab.get(i, b"").decode("utf-8", "replace") for i in (256, 257, 258)],
          msg="every merge (a, b) -> idx must also add vocab[idx] = vocab[a] + vocab[b]")
    if all(i in tok.vocab for i in ids):
        check("decode(encode('aaabdaaabac'))", tok.decode(ids), msg="decode must undo encode")


def test_train_small(check):
    tok = BasicTokenizer()
    tok.train(SMALL_TEXT, 256 + 12)
    merges = sorted(tok.merges.items(), key=lambda kv: kv[1])
    check("the 12 merges, as (pair, new id)", merges,
          msg="train: count pairs, merge the most frequent one (first in the text on a tie) into 256, 257, ...")
    check("vocab size", len(tok.vocab), msg="vocab needs the 256 bytes plus one entry per merge")
    check("vocab[0..255] (as hex)", [tok.vocab.get(i, b"").hex() for i in range(256)], exact=True,
          msg="vocab[i] for i < 256 must be bytes([i])")
    check("vocab entries of the new ids (as text)", [tok.vocab.get(idx, b"").decode("utf-8", "replace") for _, idx in merges],
          msg="vocab[new id] must be vocab[a] + vocab[b] for the merged pair (a, b): update vocab at every merge")
    ids = tok.encode(SMALL_TEXT)
    check("len(encode(training text))", len(ids), msg="encode should apply the learned merges, earliest first")
    check("encode('the cat sat')", tok.encode("the cat sat"),
          msg="encode: repeatedly merge the pair with the LOWEST merge id among those present")
    draw_merges(check, tok)


def draw_merges(check, tok):
    """Your merges as a tree on the results page: every new token points back at the two it was
    made of. Drawing is never graded."""
    try:
        def label(i):
            return f"{i}: {tok.vocab[i].decode('utf-8', 'replace')!r}"

        nodes, edges, seen = [], [], set()
        for (a, b), idx in sorted(tok.merges.items(), key=lambda kv: kv[1])[:40]:
            for i in (a, b, idx):
                if i not in seen:
                    seen.add(i)
                    nodes.append((i, label(i)))
            edges += [(a, idx), (b, idx)]
        check.graph("your merges: each new token and the two it joins", nodes, edges)
    except Exception:
        pass


def test_roundtrip(check):
    tok = BasicTokenizer()
    tok.train(SMALL_TEXT + " naïve café — 東京 🙂🙂", 256 + 30)
    for i, s in enumerate(["", "a", "the cat", "naïve café", "東京タワー", "🙂 and 🐍", "mixed: ß∂ƒ©˙∆ 中文 ✓"]):
        check(f"decode(encode({s!r}))", tok.decode(tok.encode(s)),
              msg="decode must give back the original string: join all the tokens' bytes first, then decode "
                  "the whole byte string as UTF-8 (one character can span several tokens)")


def test_decode_invalid_bytes(check):
    tok = BasicTokenizer()
    tok.train(SMALL_TEXT, 256 + 5)
    check("decode([128])", tok.decode([128]),
          msg="the byte 0x80 alone is not valid UTF-8: decode with errors='replace' so it becomes '\\ufffd'")
    check("decode([104, 105, 255, 33])", tok.decode([104, 105, 255, 33]),
          msg="invalid bytes must not crash decode: use bytes.decode('utf-8', errors='replace')")
    check("decode([226, 130, 172]) (the three bytes of '€')", tok.decode([226, 130, 172]),
          msg="join the bytes of all ids first, then decode once: '€' is three bytes")
