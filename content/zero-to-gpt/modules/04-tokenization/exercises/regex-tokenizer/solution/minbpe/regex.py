"""Byte-level BPE that splits text with a regex first and knows special tokens (after karpathy/minbpe).

BPE runs inside each chunk of the split, so no merge can join a letter to a digit, a word to the
punctuation after it, or a word to the space in front of the next word.
"""

import regex

from .base import Tokenizer, get_stats, merge

# GPT-2's split pattern (openai/gpt-2, encoder.py), for comparison.
GPT2_SPLIT_PATTERN = r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""

# GPT-4's (cl100k_base) split pattern, as published with openai/tiktoken. Alternatives, in order:
#   '(?i:[sdmt]|ll|ve|re)        contractions ('s 't 'm 'd 'll 've 're), in any case
#   [^\r\n\p{L}\p{N}]?+\p{L}+    a word, with at most one non-letter in front (usually a space)
#   \p{N}{1,3}                   numbers, in chunks of at most three digits
#    ?[^\s\p{L}\p{N}]++[\r\n]*   punctuation, an optional space before and newlines after
#   \s*[\r\n]                    whitespace that ends in a newline
#   \s+(?!\S)                    whitespace, minus its last character if a non-space follows
#   \s+                          whitespace nothing else took (a last space before a digit)
GPT4_SPLIT_PATTERN = r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]++[\r\n]*|\s*[\r\n]|\s+(?!\S)|\s+"""


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
        if vocab_size < 256:
            raise ValueError("vocab_size must be at least 256 (one id per byte)")
        chunks = self.compiled_pattern.findall(text)
        ids = [list(chunk.encode("utf-8")) for chunk in chunks]
        merges = {}
        vocab = {i: bytes([i]) for i in range(256)}
        for step in range(vocab_size - 256):
            # count pairs inside each chunk only: a pair that straddles two chunks never exists
            stats = {}
            for chunk_ids in ids:
                get_stats(chunk_ids, stats)
            if not stats:
                break  # every chunk is a single token already
            best = max(stats, key=stats.get)  # on a tie, the pair seen first in the text
            idx = 256 + step
            ids = [merge(chunk_ids, best, idx) for chunk_ids in ids]
            merges[best] = idx
            vocab[idx] = vocab[best[0]] + vocab[best[1]]
            if verbose:
                print(f"merge {step + 1}/{vocab_size - 256}: {best} -> {idx} {vocab[idx]!r} ({stats[best]} times)")
        self.merges = merges
        self.vocab = vocab

    def register_special_tokens(self, special_tokens):
        """special_tokens: {str: int}, e.g. {"<|endoftext|>": 100257}."""
        self.special_tokens = dict(special_tokens)
        self.inverse_special_tokens = {idx: token for token, idx in self.special_tokens.items()}

    # --- encoding and decoding ---------------------------------------------------------------

    def decode(self, ids):
        parts = []
        for idx in ids:
            if idx in self.vocab:
                parts.append(self.vocab[idx])
            elif idx in self.inverse_special_tokens:
                parts.append(self.inverse_special_tokens[idx].encode("utf-8"))
            else:
                raise ValueError(f"invalid token id: {idx}")
        return b"".join(parts).decode("utf-8", errors="replace")

    def _encode_chunk(self, text_bytes):
        """BPE on one chunk: replay the learned merges, earliest (lowest id) first."""
        ids = list(text_bytes)
        while len(ids) >= 2:
            stats = get_stats(ids)
            pair = min(stats, key=lambda p: self.merges.get(p, float("inf")))
            if pair not in self.merges:
                break  # nothing left to merge
            ids = merge(ids, pair, self.merges[pair])
        return ids

    def encode_ordinary(self, text):
        """Encode text, treating any special-token text as ordinary characters."""
        ids = []
        for chunk in self.compiled_pattern.findall(text):
            ids.extend(self._encode_chunk(chunk.encode("utf-8")))
        return ids

    def encode(self, text, allowed_special="none_raise"):
        """Encode text. allowed_special says which special tokens may appear in it:
        "all", "none" (encode them as ordinary text), "none_raise" (the default: raise ValueError
        if one appears) or a set of the special tokens to allow (the others are ordinary text)."""
        if allowed_special == "all":
            special = self.special_tokens
        elif allowed_special == "none":
            special = {}
        elif allowed_special == "none_raise":
            special = {}
            found = [token for token in self.special_tokens if token in text]
            if found:
                raise ValueError(f"text contains special token {found[0]!r}; pass allowed_special to allow it")
        elif isinstance(allowed_special, set):
            special = {k: v for k, v in self.special_tokens.items() if k in allowed_special}
        else:
            raise ValueError(f"allowed_special={allowed_special!r} not understood")
        if not special:
            return self.encode_ordinary(text)
        # Cut the specials out first, so the regex and the merges never see them.
        # The capturing group makes regex.split keep the separators.
        special_pattern = "(" + "|".join(regex.escape(token) for token in special) + ")"
        ids = []
        for part in regex.split(special_pattern, text):
            if part in special:
                ids.append(special[part])
            else:
                ids.extend(self.encode_ordinary(part))
        return ids

    # --- saving and loading ------------------------------------------------------------------

    def save(self, file_prefix):
        """Write file_prefix + ".model" (the format is in the exercise's prompt)."""
        lines = ["minbpe v1", self.pattern, str(len(self.special_tokens))]
        lines += [f"{token} {idx}" for token, idx in self.special_tokens.items()]
        # one merge per line, in the order learned: line k made id 256 + k
        lines += [f"{a} {b}" for (a, b), _ in sorted(self.merges.items(), key=lambda item: item[1])]
        with open(file_prefix + ".model", "w", encoding="utf-8") as fh:
            fh.write("\n".join(lines) + "\n")

    def load(self, model_file):
        """Read what save() wrote: pattern, special tokens, merges, and rebuild the vocab."""
        with open(model_file, encoding="utf-8") as fh:
            lines = fh.read().split("\n")
        if lines[0] != "minbpe v1":
            raise ValueError(f"{model_file} is not a minbpe v1 model")
        self.pattern = lines[1]
        self.compiled_pattern = regex.compile(self.pattern)
        n_special = int(lines[2])
        special = {}
        for line in lines[3:3 + n_special]:
            token, idx = line.rsplit(" ", 1)
            special[token] = int(idx)
        self.register_special_tokens(special)
        self.merges = {}
        self.vocab = {i: bytes([i]) for i in range(256)}
        for line in lines[3 + n_special:]:
            if line.strip():
                a, b = map(int, line.split())
                idx = 256 + len(self.merges)
                self.merges[(a, b)] = idx
                self.vocab[idx] = self.vocab[a] + self.vocab[b]
