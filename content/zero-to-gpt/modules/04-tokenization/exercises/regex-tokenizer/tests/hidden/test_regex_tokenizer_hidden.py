"""Hidden tests for the regex tokenizer and GPT-4's tokenizer: a test corpus with GPT-4's real ids,
special tokens, Shakespeare, random Unicode, and training / saving on other text.

Where did the literal ids come from? They were computed ONCE, outside this course, with OpenAI's
tiktoken 0.14.0 (kept here as digests: count and sha256): tiktoken.Encoding(name="cl100k_base", pat_str=<tiktoken's cl100k pattern>,
mergeable_ranks=<the cl100k_base.tiktoken file>, special_tokens=GPT4_SPECIAL_TOKENS), built offline
(no tiktoken.get_encoding). SOURCES.md in this exercise's folder has the script. The reference
solution reproduces every one of them; the asserts at the end of the tests keep it that way.
"""

import hashlib
import os
import random

import regex

from minbpe import GPT4Tokenizer, RegexTokenizer
from minbpe.regex import GPT2_SPLIT_PATTERN, GPT4_SPLIT_PATTERN

RANKS = "cl100k_base.tiktoken"

CORPUS = {
    "English prose": "The quick brown fox jumps over the lazy dog. It wasn't the fox's fault: they'd said it'll rain, and we've seen worse.",
    "upper-case contractions": "HOW'S IT GOING? I'M FINE, YOU'RE LATE. WE'LL SEE; THEY'VE LEFT. DON'T ASK O'DONNELL'S DOG. THE DOS AND DON'TS",
    "mixed-case contractions": "It'S I'Ve you'RE she'D He'Ll O'Sullivan's rock'n'roll 'twas",
    "code": "def fib(n):\n    if n < 2:\n        return n\n    return fib(n - 1) + fib(n - 2)\n\n\nclass Foo:\n\tdef bar(self):\n\t\tpass  # TODO\n",
    "numbers": "1234567 3.14159 2024-06-01 1,000,000 0.000001 +42 -7 12345678901234567890 x2y22z222 ١٢٣٤",
    "spaces": "one  two   three    four\t\tfive \t six",
    "trailing whitespace": "trailing spaces   \ntrailing tab\t\nend   ",
    "newlines": "line one\nline two\r\nline three\n\n\nafter blank lines\n \n  \n\tlast",
    "accents": "Café naïve façade résumé Ångström Zürich São Paulo crème brûlée ÉCOLE NORMALE",
    "CJK": "日本語のテキスト、東京タワー。中文分词测试：你好，世界！한국어 문장입니다.",
    "emoji": "I ❤️ tokenizers 🙂🙂🙂 👍🏽 👨\u200d👩\u200d👧\u200d👦 🐍🚀✨",
    "other scripts": "Привет, мир! Γειά σου κόσμε. नमस्ते दुनिया. مرحبا بالعالم. สวัสดีชาวโลก",
    "punctuation": 'Wait... what?!?! (yes) [no] {maybe} <tag/> -- \'quoted\' "double" #hash @user 100% $5.00',
}

# cl100k_base's ids for each text of CORPUS (tiktoken 0.14.0), as (count, sha256 of "id,id,..."):
# the ids themselves stay out of the sandbox, where learner code could read this module.
CL100K_DIGESTS = {
    'English prose': (31, '51de3478acb0b51e68c893b818ee4082ef5641225503700e1aff2ed0c87fa051'),
    'upper-case contractions': (45, '33720a3cdc20efba357b69f9a538ca3126a6783240afcaab689c31ff11cffc79'),
    'mixed-case contractions': (23, 'f9252fd410e2930ac2fa2688156a8922636d870a1158b3d4c7420932c49ee8f0'),
    'code': (43, '3c3570be4a0dadbcc62ec655d91e0bb65e40741d6b85750481645fdceabec08c'),
    'numbers': (53, '0ef3c4cc32467e2514261a34f0e2f25a7e80f967a67bd3c414bda8a5b80277d1'),
    'spaces': (12, '03eee1451af28b4b333288d13b48721f59b5fccf523c974dc0c9facd2d7d7699'),
    'trailing whitespace': (10, '8c2536f591f50453b1502f46d04ebc95dc24e72e36ed12b8ab1eea155a51b663'),
    'newlines': (15, 'f5c8f85b168754e7167c35341cbf76ce602e5f092fa997ba0a81bf5b4793e508'),
    'accents': (31, '6b4e1ebc27b4c382a9abc6ae543d905fe11c338160f033fbe05071556b8bfb1b'),
    'CJK': (39, '3b9b2c93b2a3bbea43fd60c686c57b96242797e593a470560019a0a27acd5343'),
    'emoji': (40, 'e64dde990ee6cce29a49d0a944fbc96242b9fab52cae62e70eae7933ea510a9c'),
    'other scripts': (59, '80e1ee3c813d058bcbf83489b1d257dc211b114e052d1ef89824838ba86bdc4a'),
    'punctuation': (35, '1f16bb59b66529177bbcba307a48c4a5fcf712fefd11cba36d0a12b8843612ec'),
}
SPECIAL_ALL_DIGEST = (23, '2a31536c0fb3e77178a8f89a59b6f0697210d6495050f441400684e45a4bf22f')
SPECIAL_NONE_DIGEST = (59, '35b4c4662715e5e7886b65904c947c39ab0ab0824cfdc48943d212d01b31e1b5')
SPECIAL_EOT_DIGEST = (47, 'c1ec25f731b13f5b5995ce84bd0c2646a4313f10d9573e3c6e2a348bb7681c62')



def digest(ids):
    """(count, sha256 of "id,id,...")."""
    return len(ids), hashlib.sha256(",".join(map(str, ids)).encode()).hexdigest()


# A text with all five special tokens: SPECIAL_ALL_DIGEST is allowed_special="all", SPECIAL_NONE_DIGEST
# the same text with every special as ordinary text (tiktoken's disallowed_special=()), and
# SPECIAL_EOT_DIGEST with only <|endoftext|> allowed.
SPECIAL_TEXT = (
    "<|endoftext|>Hello there<|fim_prefix|>def f():\n<|fim_suffix|>    return 1<|fim_middle|>    x = 2\n"
    "<|endofprompt|> the end<|endoftext|>"
)

# Characters 500,000 to 520,000 of Tiny Shakespeare: 5,602 tokens in cl100k_base, and the sha256
# of their ids written as "id,id,...".
SHAKESPEARE_SLICE = (500_000, 520_000)
SHAKESPEARE_LEN = 5602
SHAKESPEARE_SHA256 = "bf4678fe6577a0421b0dead7d1d3ce43782f5cf288342b052b675d8fcbeeaed4"

MULTILINGUAL = (
    "Tokenizers work on bytes, so every language is welcome. It's 2024; we've got 1234567 reasons. "
    "Le tokeniseur découpe le texte en octets; très pratique, n'est-ce pas? "
    "Der Zug fährt über die Brücke, und die Straße ist nass!!! "
    "Русский текст тоже кодируется двумя байтами на букву. "
    "日本語の文章は一文字が三バイトです。東京と京都。 "
    "    def f(x):\n        return x  # indented\n\n"
    "Emoji take four bytes: 🙂🙂🙂 🐍🐍 🚀 ✨✨. "
) * 3

# Unicode blocks the random strings draw from (no surrogates: they are not valid in UTF-8).
RANGES = [
    (0x20, 0x7E),  # printable ASCII
    (0xA0, 0x17F),  # Latin-1 and Latin Extended-A
    (0x370, 0x3FF),  # Greek
    (0x400, 0x4FF),  # Cyrillic
    (0x600, 0x6FF),  # Arabic
    (0x900, 0x97F),  # Devanagari
    (0x3040, 0x30FF),  # Hiragana and Katakana
    (0x4E00, 0x4FFF),  # CJK ideographs
    (0xAC00, 0xAD00),  # Hangul syllables
    (0x1F300, 0x1F64F),  # emoji and pictographs
]
PIECES = [" ", "  ", "\n", "\t", "\r\n", "'s", "'LL", "123456", "3.14", "!!", " the", "HOW'S", "é", "\u200d"]


def random_text(rng, n):
    out = []
    for _ in range(n):
        if rng.random() < 0.3:
            out.append(rng.choice(PIECES))
        else:
            lo, hi = rng.choice(RANGES)
            out.append(chr(rng.randint(lo, hi)))
    return "".join(out)


def error_of(fn):
    """The name of the exception fn() raises, or "no exception"."""
    try:
        fn()
    except Exception as exc:  # noqa: BLE001 - the type is what the test reports
        return type(exc).__name__
    return "no exception"


def test_split_pattern_hidden(check):
    examples = [
        ("DOS AND DON'TS, O'DELL", "contractions match in any case: (?i:...) around [sdmt]|ll|ve|re"),
        ("x2y22z222 ١٢٣٤٥", "digits of any script are \\p{N}, in chunks of at most three"),
        ("  \n\n  x", "whitespace ending in a newline is one chunk; the spaces after it leave one to the word"),
        ("a \t\n b", "\\s*[\\r\\n] takes the spaces and tabs before a newline with it"),
        ("tab\tseparated\tvalues  ", "a tab in front of a word is the word's one leading non-letter"),
        ("¿Qué? ¡Sí! ...", "punctuation runs keep at most one leading space; a non-letter can lead a word"),
        ("end\r\n\r\n", "carriage returns count as newlines"),
        ("THEY'RE 'VE 'll", "after a space, an apostrophe is punctuation; contractions follow a letter"),
    ]
    for text, msg in examples:
        check(f"split of {text!r}", regex.findall(GPT4_SPLIT_PATTERN, text), msg=msg)


def test_gpt4_corpus(check):
    tok = GPT4Tokenizer(check.data(RANKS))
    wrong = []
    for label, text in CORPUS.items():
        ids = tok.encode(text)
        check(f"encode(the {label} text)", ids,
              msg=f"the {label} text: the regex split and the lowest-rank merging must both be exactly GPT-4's")
        if digest(ids) != CL100K_DIGESTS[label]:
            wrong.append(label)
    assert not wrong, f"not cl100k_base's ids for: {', '.join(wrong)}"


def test_gpt4_special_text(check):
    tok = GPT4Tokenizer(check.data(RANKS))
    got = {
        "all": tok.encode(SPECIAL_TEXT, allowed_special="all"),
        "none": tok.encode(SPECIAL_TEXT, allowed_special="none"),
        "only <|endoftext|>": tok.encode(SPECIAL_TEXT, allowed_special={"<|endoftext|>"}),
    }
    check("encode(text, allowed_special='all')", got["all"],
          msg="split the special tokens out of the text before the regex; each becomes its own id")
    check("encode(text, allowed_special='none')", got["none"],
          msg="with 'none' the special tokens' text is encoded as ordinary text (encode_ordinary)")
    check("encode(text, allowed_special={'<|endoftext|>'})", got["only <|endoftext|>"],
          msg="with a set, only the tokens in it are special; every other special token is ordinary text")
    check("decode(encode(text, allowed_special='all'))", tok.decode(got["all"]),
          msg="decode must turn special ids back into their text")
    check("encode(text) with the default allowed_special", error_of(lambda: tok.encode(SPECIAL_TEXT)),
          msg="the default must refuse text that contains a special token (ValueError): user text must never "
              "smuggle in a real <|endoftext|>")
    check("encode(text, allowed_special=set())", error_of(lambda: tok.encode(SPECIAL_TEXT, allowed_special=set())),
          msg="an empty set allows no special token: every one is ordinary text, and nothing is raised")
    assert digest(got["all"]) == SPECIAL_ALL_DIGEST, "allowed_special='all' does not give cl100k_base's ids"
    assert digest(got["none"]) == SPECIAL_NONE_DIGEST, "allowed_special='none' does not give cl100k_base's ids"
    assert digest(got["only <|endoftext|>"]) == SPECIAL_EOT_DIGEST, (
        "allowed_special={'<|endoftext|>'} does not give cl100k_base's ids"
    )


def test_gpt4_shakespeare(check):
    tok = GPT4Tokenizer(check.data(RANKS))
    with open(check.data("tinyshakespeare.txt"), encoding="utf-8") as fh:
        text = fh.read()[slice(*SHAKESPEARE_SLICE)]
    ids = tok.encode(text)
    check("number of tokens in 20,000 characters of Shakespeare", len(ids),
          msg="a different count means chunks are split or merged differently from GPT-4")
    check("the ids of 20,000 characters of Shakespeare", ids,
          msg="every chunk must be merged lowest rank first, exactly like cl100k_base")
    check("decode(encode(the Shakespeare slice))", tok.decode(ids), msg="decode must undo encode")
    assert digest(ids) == (SHAKESPEARE_LEN, SHAKESPEARE_SHA256), "not cl100k_base's ids for the Shakespeare slice"


def test_gpt4_random_unicode(check):
    tok = GPT4Tokenizer(check.data(RANKS))
    rng = random.Random(check.seed)
    for i in range(40):
        s = random_text(rng, rng.randint(1, 30))
        ids = tok.encode(s)
        check(f"encode(random string #{i})", ids,
              msg="random text from many scripts must get GPT-4's ids: \\p{L} and \\p{N} cover every script")
        check(f"decode(encode(random string #{i}))", tok.decode(ids), exact=True,
              msg="decode(encode(s)) must give s back: join the bytes of all ids, then decode once")


def test_train_hidden(check):
    tok = RegexTokenizer()
    tok.train(MULTILINGUAL, 256 + 60)
    check("the 60 merges, as (pair, new id)", sorted(tok.merges.items(), key=lambda kv: kv[1]),
          msg="count the pairs of every chunk into ONE dict (pairs never span chunks), take the most frequent, "
              "first seen on a tie, and merge it in every chunk")
    check("vocab entries of the new ids (as bytes)", [list(tok.vocab.get(i, b"")) for i in range(256, 316)],
          msg="vocab[new id] = vocab[a] + vocab[b]")
    rng = random.Random(check.seed)
    for i in range(6):
        start = rng.randint(0, len(MULTILINGUAL) - 60)
        s = MULTILINGUAL[start:start + rng.randint(10, 60)]
        check(f"encode(slice #{i} of the training text)", tok.encode(s),
              msg="encode_ordinary: split with the regex, then replay the merges in each chunk, lowest id first")
    gpt2 = RegexTokenizer(GPT2_SPLIT_PATTERN)
    gpt2.train(MULTILINGUAL, 256 + 30)
    check("the 30 merges with GPT-2's pattern", sorted(gpt2.merges.items(), key=lambda kv: kv[1]),
          msg="train must split with self.pattern, the pattern the tokenizer was made with")
    check("GPT-2-pattern encode of the first 80 characters", gpt2.encode(MULTILINGUAL[:80]),
          msg="encode must split with self.pattern too")


# Any pattern works: this one keeps the space AFTER a word, the opposite of GPT's patterns.
WORD_SPACE_PATTERN = r"""\p{L}+ ?|\p{N}+ ?|[^\s\p{L}\p{N}]+ ?|\s+"""


def test_save_load_hidden(check):
    tok = RegexTokenizer(WORD_SPACE_PATTERN)
    tok.train(MULTILINGUAL, 256 + 40)
    tok.register_special_tokens({"<|endoftext|>": 1000, "<|sep|>": 1001, "<|fim_prefix|>": 999})
    prefix = os.path.join(os.getcwd(), "multi")
    tok.save(prefix)
    loaded = RegexTokenizer(GPT2_SPLIT_PATTERN)
    loaded.train("something else entirely, to be replaced by load()", 256 + 10)
    loaded.load(prefix + ".model")
    check("loaded.pattern", loaded.pattern, msg="load() must read the saved pattern (and compile it)")
    check("loaded merges", sorted(loaded.merges.items(), key=lambda kv: kv[1]),
          msg="load() replaces whatever the tokenizer had: exactly the saved merges, line k making id 256 + k")
    check("loaded special tokens", sorted(loaded.special_tokens.items()),
          msg="load() restores every special token with its id")
    text = "<|fim_prefix|>Der Zug fährt<|sep|>    def f(x):\n  return 1234567<|endoftext|>"
    ids = loaded.encode(text, allowed_special="all")
    check("loaded.encode(text, allowed_special='all')", ids,
          msg="the loaded tokenizer must split with the saved pattern (compile it in load) and use the saved merges")
    check("loaded.decode(those ids)", loaded.decode(ids), msg="load() must rebuild vocab, special ids included")
    check("loaded.encode(text, allowed_special='none')", loaded.encode(text, allowed_special="none"),
          msg="encode_ordinary after load() must match the saved tokenizer's")
