"""Hidden tests for the regex tokenizer and GPT-4's tokenizer: a test corpus with GPT-4's real ids,
special tokens, Shakespeare, random Unicode, and training / saving on other text.

Where did the literal ids come from? They were computed ONCE, outside this course, with OpenAI's
tiktoken 0.14.0: tiktoken.Encoding(name="cl100k_base", pat_str=<tiktoken's cl100k pattern>,
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

# cl100k_base's ids for each text of CORPUS (tiktoken 0.14.0).
CL100K_IDS = {
    "English prose": [
        791, 4062, 14198, 39935, 35308, 927, 279, 16053, 5679, 13, 1102, 5828, 956, 279, 39935,
        596, 14867, 25, 814, 4265, 1071, 433, 3358, 11422, 11, 323, 584, 3077, 3970, 11201, 13
    ],
    "upper-case contractions": [
        61297, 13575, 8871, 12890, 1753, 30, 358, 28703, 435, 4069, 11, 15334, 95253, 445, 2390,
        13, 20255, 6, 4178, 27195, 26, 63593, 6, 4592, 22684, 13, 45373, 17773, 5871, 42, 507,
        28805, 715, 45, 19659, 13575, 9503, 38, 13, 3247, 59580, 3651, 45373, 17773, 50
    ],
    "mixed-case contractions": [
        2181, 13575, 358, 6, 43712, 499, 95253, 1364, 28805, 1283, 92526, 75, 507, 13575, 37141,
        596, 7091, 44886, 6, 1119, 364, 15930, 300
    ],
    "code": [
        755, 16178, 1471, 997, 262, 422, 308, 366, 220, 17, 512, 286, 471, 308, 198, 262, 471,
        16178, 1471, 482, 220, 16, 8, 489, 16178, 1471, 482, 220, 17, 3707, 1058, 34528, 512,
        7604, 3703, 1214, 997, 197, 42531, 220, 674, 5456, 198
    ],
    "numbers": [
        4513, 10961, 22, 220, 18, 13, 9335, 2946, 220, 2366, 19, 12, 2705, 12, 1721, 220, 16,
        11, 931, 11, 931, 220, 15, 13, 931, 4119, 489, 2983, 482, 22, 220, 4513, 10961, 16474,
        11531, 12901, 17458, 1954, 865, 17, 88, 1313, 89, 9716, 220, 149, 94, 149, 95, 149, 96,
        149, 97
    ],
    "spaces": [
        606, 220, 1403, 256, 2380, 262, 3116, 197, 1186, 535, 7163, 4848
    ],
    "trailing whitespace": [
        376, 14612, 12908, 5996, 376, 14612, 5769, 1602, 408, 262
    ],
    "newlines": [
        1074, 832, 198, 1074, 1403, 319, 1074, 2380, 1432, 10924, 10321, 5238, 27907, 2355,
        34196
    ],
    "accents": [
        34, 2642, 978, 95980, 588, 95972, 1037, 9517, 1264, 978, 80352, 983, 496, 86684, 1901,
        5297, 718, 48790, 38026, 1589, 25253, 1437, 30872, 75, 8047, 29124, 8445, 877, 452,
        4463, 25940
    ],
    "CJK": [
        9080, 22656, 45918, 252, 16144, 57933, 62903, 71634, 5486, 14276, 109, 47653, 47307,
        2845, 107, 11972, 1811, 16325, 17161, 17620, 6744, 235, 82805, 5232, 57668, 53901, 3922,
        3574, 244, 98220, 6447, 24486, 89059, 255, 32179, 54535, 41953, 80052, 13
    ],
    "emoji": [
        40, 71570, 31643, 4037, 12509, 28584, 9468, 19044, 9468, 19044, 62904, 235, 9468, 237,
        121, 62904, 101, 378, 235, 9468, 239, 102, 378, 235, 9468, 239, 100, 378, 235, 9468,
        239, 99, 11410, 238, 235, 9468, 248, 222, 38798, 101
    ],
    "other scripts": [
        54745, 28089, 8341, 11, 11562, 78746, 0, 85316, 31243, 30862, 75234, 48823, 73986,
        72738, 76295, 45028, 44223, 31243, 13, 15272, 101, 88344, 79468, 31584, 97, 35470,
        15272, 99, 73753, 61196, 43411, 107, 24810, 13, 24252, 11318, 30925, 22071, 5821, 28946,
        32482, 24102, 32482, 10386, 13, 220, 36748, 38313, 24152, 36748, 38133, 29419, 49220,
        21437, 38313, 8321, 224, 32882, 26265
    ],
    "punctuation": [
        14524, 1131, 1148, 27074, 27074, 320, 9891, 8, 510, 2201, 60, 314, 37860, 92, 366, 4681,
        9883, 1198, 364, 64825, 6, 330, 4429, 1, 674, 8460, 571, 882, 220, 1041, 4, 400, 20, 13,
        410
    ],
}
SPECIAL_ALL_IDS = [
    100257, 9906, 1070, 100258, 755, 282, 4019, 100260, 262, 471, 220, 16, 100259, 262, 865,
    284, 220, 17, 198, 100276, 279, 842, 100257
]
SPECIAL_NONE_IDS = [
    27, 91, 8862, 728, 428, 91, 29, 9906, 1070, 27, 91, 69, 318, 14301, 91, 29, 755, 282, 4019,
    27, 91, 69, 318, 38251, 91, 29, 262, 471, 220, 16, 27, 91, 69, 318, 63680, 91, 29, 262, 865,
    284, 220, 17, 198, 27, 91, 408, 1073, 41681, 91, 29, 279, 842, 27, 91, 8862, 728, 428, 91,
    29
]
SPECIAL_EOT_IDS = [
    100257, 9906, 1070, 27, 91, 69, 318, 14301, 91, 29, 755, 282, 4019, 27, 91, 69, 318, 38251,
    91, 29, 262, 471, 220, 16, 27, 91, 69, 318, 63680, 91, 29, 262, 865, 284, 220, 17, 198, 27,
    91, 408, 1073, 41681, 91, 29, 279, 842, 100257
]

# A text with all five special tokens: SPECIAL_ALL_IDS is allowed_special="all", SPECIAL_NONE_IDS
# the same text with every special as ordinary text (tiktoken's disallowed_special=()), and
# SPECIAL_EOT_IDS with only <|endoftext|> allowed.
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
        if ids != CL100K_IDS[label]:
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
    assert got["all"] == SPECIAL_ALL_IDS, "allowed_special='all' does not give cl100k_base's ids"
    assert got["none"] == SPECIAL_NONE_IDS, "allowed_special='none' does not give cl100k_base's ids"
    assert got["only <|endoftext|>"] == SPECIAL_EOT_IDS, "allowed_special={'<|endoftext|>'} does not give cl100k_base's ids"


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
    digest = hashlib.sha256(",".join(map(str, ids)).encode()).hexdigest()
    assert (len(ids), digest) == (SHAKESPEARE_LEN, SHAKESPEARE_SHA256), "not cl100k_base's ids for the Shakespeare slice"


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
