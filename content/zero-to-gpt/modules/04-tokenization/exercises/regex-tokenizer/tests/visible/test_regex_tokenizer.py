"""Visible tests for the regex tokenizer and GPT-4's tokenizer. Run them with the Run button.

The GPT-4 ids below were computed once, outside this course, with OpenAI's tiktoken 0.14.0
(cl100k_base built offline from the same ranks file); SOURCES.md says how.
"""

import os

import regex

from minbpe import GPT4Tokenizer, RegexTokenizer
from minbpe.regex import GPT2_SPLIT_PATTERN, GPT4_SPLIT_PATTERN

RANKS = "cl100k_base.tiktoken"

SMALL_TEXT = (
    "the cat sat on the mat. the cat ate the rat. then the rat sat on the cat, and that was that. "
    "In 2024 the cats were 12345 strong!!! Wasn't that GREAT? Isn't it?   The end.\n"
)
CODE_TEXT = (
    "def area(r):\n    return 3.14159 * r * r\n\n\ndef total(xs):\n    s = 0\n    for x in xs:\n"
    "        s += x\n    return s\n\n\nprint(area(10), total([100, 200, 300, 1000000]))\n"
)
SPECIALS = {"<|endoftext|>": 300, "<|pad|>": 301}

# (text, what a wrong split usually means)
SPLIT_EXAMPLES = [
    ("Hello world", "a word takes the space in front of it: 'Hello', ' world'"),
    ("hello world!!!?  (안녕하세요!) lol123 😉",
     "letters are \\p{L} (any script), digits \\p{N}, and a run of punctuation keeps one leading space"),
    ("I'm sure you've seen it's", "contractions ('m 've 's ...) are chunks of their own"),
    ("YOU'RE O'DONNELL'S", "contractions match in ANY case: '(?i:[sdmt]|ll|ve|re)"),
    ("1234567 and 3.14159", "numbers are cut into chunks of at most three digits: \\p{N}{1,3}"),
    ("word   next", "a run of spaces leaves its LAST space to the next word: \\s+(?!\\S) before \\s+"),
    ("    indented = True\n\n\tx", "whitespace ending in a newline is one chunk (\\s*[\\r\\n]); indentation "
                                  "gives its last space or tab to the word after it"),
    ("trailing   ", "spaces at the very end stay together: nothing follows them"),
]


def error_of(fn):
    """The name of the exception fn() raises, or "no exception"."""
    try:
        fn()
    except Exception as exc:  # noqa: BLE001 - the type is what the test reports
        return type(exc).__name__
    return "no exception"


def test_split_pattern(check):
    for text, msg in SPLIT_EXAMPLES:
        check(f"regex.findall(GPT4_SPLIT_PATTERN, {text!r})", regex.findall(GPT4_SPLIT_PATTERN, text), msg=msg)


def test_train(check):
    tok = RegexTokenizer()
    tok.train(SMALL_TEXT, 256 + 20)
    merges = sorted(tok.merges.items(), key=lambda kv: kv[1])
    check("the 20 merges, as (pair, new id)", merges,
          msg="count pairs inside each chunk of the regex split only (get_stats(chunk_ids, stats) for every "
              "chunk), merge the most frequent (first seen on a tie) in EVERY chunk")
    tokens = [tok.vocab.get(idx, b"").decode("utf-8", "replace") for _, idx in merges]
    check("vocab entries of the new ids (as text)", tokens,
          msg="every merge (a, b) -> idx adds vocab[idx] = vocab[a] + vocab[b]")
    check("merged tokens that span two chunks of the split",
          [t for t in tokens if len(regex.findall(GPT4_SPLIT_PATTERN, t)) != 1],
          msg="no token may cross a chunk boundary: train on the chunks, never on the whole byte string")
    ids = tok.encode("the cat sat, and that was that!")
    check("encode('the cat sat, and that was that!')", ids,
          msg="encode_ordinary: split with the regex, then in each chunk merge the lowest-id known pair until none is left")
    check("decode(encode('the cat sat, and that was that!'))", tok.decode(ids), msg="decode must undo encode")
    # GPT-2's and GPT-4's patterns treat newlines, indentation and numbers differently
    code4 = RegexTokenizer()
    code4.train(CODE_TEXT, 256 + 20)
    check("the 20 merges learned from CODE_TEXT", sorted(code4.merges.items(), key=lambda kv: kv[1]),
          msg="whitespace ending in a newline is its own chunk, and a number never shares a chunk with a space")
    code2 = RegexTokenizer(GPT2_SPLIT_PATTERN)
    code2.train(CODE_TEXT, 256 + 20)
    check("the 20 merges learned from CODE_TEXT with GPT-2's pattern", sorted(code2.merges.items(), key=lambda kv: kv[1]),
          msg="RegexTokenizer(pattern) must split with the pattern it was given (self.pattern), not always GPT-4's")


def test_special_tokens(check):
    tok = RegexTokenizer()
    tok.train(SMALL_TEXT, 256 + 20)
    tok.register_special_tokens(SPECIALS)
    text = "<|endoftext|>the cat<|pad|><|pad|>sat<|endoftext|>"
    ids = tok.encode(text, allowed_special="all")
    check("encode(text, allowed_special='all')", ids,
          msg="with 'all', each special token becomes its one id: cut the specials out of the text "
              "BEFORE the regex split, and encode only the pieces between them")
    check("decode(encode(text, allowed_special='all'))", tok.decode(ids),
          msg="decode must turn special ids back into their text (inverse_special_tokens)")
    check("encode(text, allowed_special='none')", tok.encode(text, allowed_special="none"),
          msg="with 'none', special-token text is ordinary text: the result is encode_ordinary(text)")
    check("encode(text, allowed_special={'<|pad|>'})", tok.encode(text, allowed_special={"<|pad|>"}),
          msg="with a set, only the special tokens in the set are special; the others are ordinary text")
    check("decode([300, 116, 104, 101, 301])", tok.decode([300, 116, 104, 101, 301]),
          msg="decode looks up ordinary ids in vocab and special ids in inverse_special_tokens")


def test_allowed_special_default(check):
    tok = RegexTokenizer()
    tok.train(SMALL_TEXT, 256 + 5)
    tok.register_special_tokens(SPECIALS)
    check("encode('hi <|endoftext|>') with the default allowed_special",
          error_of(lambda: tok.encode("hi <|endoftext|>")),
          msg="by default (allowed_special='none_raise') text that contains a special token must raise ValueError: "
              "the caller has to say whether it is a real special token or just text")
    check("encode('the cat sat') with the default allowed_special", tok.encode("the cat sat"),
          msg="text without special tokens encodes normally with the default")
    check("encode('the cat', allowed_special='some')", error_of(lambda: tok.encode("the cat", allowed_special="some")),
          msg="an allowed_special that is none of 'all', 'none', 'none_raise' or a set must raise ValueError")


def test_save_load(check):
    tok = RegexTokenizer(GPT2_SPLIT_PATTERN)
    tok.train(SMALL_TEXT + CODE_TEXT, 256 + 30)
    tok.register_special_tokens(SPECIALS)
    prefix = os.path.join(os.getcwd(), "small")
    tok.save(prefix)
    with open(prefix + ".model", encoding="utf-8") as fh:
        lines = fh.read().split("\n")
    check("the first 5 lines of small.model", lines[:5],
          msg="the file starts: 'minbpe v1', the pattern, the number of special tokens, one '<token> <id>' line each")
    check("the merge lines of small.model", lines[5:],
          msg="after the special tokens: one 'a b' line per merge, in the order learned (id 256 first), "
              "and the file ends with a newline")
    loaded = RegexTokenizer()  # GPT-4's pattern until load() reads the saved one
    loaded.load(prefix + ".model")
    check("loaded.pattern", loaded.pattern, msg="load() must read the pattern back AND compile it (compiled_pattern)")
    check("loaded merges", sorted(loaded.merges.items(), key=lambda kv: kv[1]),
          msg="line k of the merges makes id 256 + k: keep the order of the file")
    check("loaded special tokens", sorted(loaded.special_tokens.items()), msg="load() must restore the special tokens")
    text = "<|endoftext|>then the rat's 12345 cats sat  on   it\n\n\ndef f(x):\n    return x * 1000000\n<|pad|>"
    ids = loaded.encode(text, allowed_special="all")
    check("loaded.encode(text, allowed_special='all')", ids,
          msg="the loaded tokenizer must encode exactly like the saved one: same pattern, merges and specials")
    check("loaded.decode(those ids)", loaded.decode(ids), msg="load() must rebuild vocab from the merges")


HELLO = "hello world!!!?  (안녕하세요!) lol123 😉"  # minbpe's test string
HELLO_IDS = [15339, 1917, 12340, 30, 220, 320, 31495, 230, 75265, 243, 92245, 16715, 28509, 4513, 57037]


def test_gpt4_encode(check):
    tok = GPT4Tokenizer(check.data(RANKS))
    check("len(tok.vocab)", len(tok.vocab),
          msg="vocab maps each of the 100,256 ranks in the file to its bytes (special tokens are kept apart)")
    ids = tok.encode(HELLO)
    check(f"encode({HELLO!r})", ids,
          msg="split with GPT-4's pattern, then in each chunk merge the adjacent pair whose joined bytes has "
              "the LOWEST rank, until no adjacent pair joins into a token")
    check("the tokens, one by one", [tok.decode([i]) for i in ids], msg="each id decodes to its bytes from the ranks file")
    check("decode(encode(text))", tok.decode(ids), msg="decode must undo encode")
    assert ids == HELLO_IDS, "these ids are not tiktoken's cl100k_base ids"


def test_gpt4_special_tokens(check):
    tok = GPT4Tokenizer(check.data(RANKS))
    check("tok.special_tokens", sorted(tok.special_tokens.items()),
          msg="register GPT-4's five special tokens (GPT4_SPECIAL_TOKENS) in __init__")
    text = "<|endoftext|>hello world<|fim_prefix|>"
    ids = tok.encode(text, allowed_special="all")
    check("encode('<|endoftext|>hello world<|fim_prefix|>', allowed_special='all')", ids,
          msg="special tokens are cut out before the regex and become their own ids")
    check("decode([100257, 15339, 1917, 100276])", tok.decode([100257, 15339, 1917, 100276]),
          msg="decode must know the special ids too")
    check("encode(text) with the default allowed_special", error_of(lambda: tok.encode(text)),
          msg="the default allowed_special='none_raise' must refuse text that contains special tokens (ValueError)")
    assert ids == [100257, 15339, 1917, 100258], "these ids are not tiktoken's cl100k_base ids"
