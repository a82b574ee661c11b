"""A character-level tokenizer with the same interface as minbpe's (given, read-only).

One token per character; the vocabulary is the sorted set of the characters of a text, as in
nanoGPT's shakespeare_char. Like minbpe, `vocab` maps each id to the UTF-8 bytes it stands for,
so "é" is one token but two bytes.
"""


class CharTokenizer:
    def __init__(self, text):
        self.chars = sorted(set(text))
        self.stoi = {c: i for i, c in enumerate(self.chars)}
        self.vocab = {i: c.encode("utf-8") for i, c in enumerate(self.chars)}  # id -> bytes

    def encode(self, text):
        return [self.stoi[c] for c in text]

    def decode(self, ids):
        return "".join(self.chars[i] for i in ids)
