"""Byte-level BPE that splits text with a regex first and knows special tokens (after karpathy/minbpe).

BPE runs inside each chunk of the split, so no merge can join a letter to a digit, a word to the
punctuation after it, or a word to the space in front of the next word.
"""

import regex

from .base import Tokenizer, get_stats, merge

# GPT-2's split pattern (openai/gpt-2, encoder.py), for comparison.
GPT2_SPLIT_PATTERN = r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""

# TODO: GPT-4's (cl100k_base) split pattern, seven alternatives (see the lesson). Until you write
# it, this is GPT-2's pattern, which splits differently.
GPT4_SPLIT_PATTERN = GPT2_SPLIT_PATTERN


class RegexTokenizer(Tokenizer):
    def __init__(self, pattern=None):
        super().__init__()
        self.pattern = GPT4_SPLIT_PATTERN if pattern is None else pattern
        self.compiled_pattern = regex.compile(self.pattern)
        self.merges = {}  # (int, int) -> int
        self.vocab = {i: bytes([i]) for i in range(256)}  # int -> bytes (ordinary tokens only)
        self.special_tokens = {}  # str -> int, e.g. {"<|endoftext|>": 100257}
        self.inverse_special_tokens = {}  # int -> str

    # --- training ----------------------------------------------------------------------------

    def train(self, text, vocab_size, verbose=False):
        """Learn vocab_size - 256 merges from text; set self.merges and self.vocab."""
        chunks = self.compiled_pattern.findall(text)
        ids = [list(chunk.encode("utf-8")) for chunk in chunks]  # one list of byte ids per chunk
        merges = {}
        vocab = {i: bytes([i]) for i in range(256)}
        # TODO: repeat vocab_size - 256 times: count the pairs of EVERY chunk into one dict
        # (get_stats(chunk_ids, stats)), take the most frequent (first seen on a tie), give it the
        # next id, merge it in every chunk, and record it in merges and vocab.
        self.merges = merges
        self.vocab = vocab

    def register_special_tokens(self, special_tokens):
        """special_tokens: {str: int}, e.g. {"<|endoftext|>": 100257}."""
        # TODO: keep a copy in self.special_tokens and the reverse map in self.inverse_special_tokens
        pass

    # --- encoding and decoding ---------------------------------------------------------------

    def decode(self, ids):
        """The text of a list of ids; special ids become their text."""
        # TODO: bytes from self.vocab or self.inverse_special_tokens; ValueError for an unknown id
        raise NotImplementedError("decode is not written yet")

    def _encode_chunk(self, text_bytes):
        """The ids of one chunk (bytes): replay the learned merges, earliest (lowest id) first."""
        ids = list(text_bytes)
        # TODO: while some adjacent pair is in self.merges, merge the one with the lowest id
        return ids

    def encode_ordinary(self, text):
        """Encode text, treating any special-token text as ordinary characters."""
        # TODO: split with self.compiled_pattern, encode each chunk's UTF-8 bytes, concatenate
        return list(text.encode("utf-8"))

    def encode(self, text, allowed_special="none_raise"):
        """Encode text. allowed_special: "all", "none", "none_raise" (default) or a set of tokens."""
        # TODO: decide which special tokens are allowed (the prompt has the four cases), cut them
        # out of the text first, and encode the pieces in between with encode_ordinary.
        return self.encode_ordinary(text)

    # --- saving and loading ------------------------------------------------------------------

    def save(self, file_prefix):
        """Write file_prefix + ".model" in the format the prompt describes."""
        # TODO
        raise NotImplementedError("save is not written yet")

    def load(self, model_file):
        """Read what save() wrote: pattern (compile it!), special tokens, merges, and rebuild vocab."""
        # TODO
        raise NotImplementedError("load is not written yet")
