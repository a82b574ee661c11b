"""Shared pieces of a byte-level BPE tokenizer: pair counting, merging, and the base class."""


def get_stats(ids, counts=None):
    """Count how often each pair of *adjacent* ids occurs.

    Returns (or updates, if `counts` is given) a dict {(a, b): count}. The dict's insertion order
    is the order in which each pair first appears in `ids`; training relies on that to break ties.
    """
    if counts is None:
        counts = {}
    for i in range(len(ids) - 1):
        pair = (ids[i], ids[i + 1])
        counts[pair] = counts.get(pair, 0) + 1
    return counts


def merge(ids, pair, idx):
    """A new list where every occurrence of `pair`, scanned left to right without overlaps,
    is replaced by the single id `idx`."""
    first, second = pair
    out = []
    i, n = 0, len(ids)
    while i < n:
        if i + 1 < n and ids[i] == first and ids[i + 1] == second:
            out.append(idx)
            i += 2  # both halves of the pair are consumed
        else:
            out.append(ids[i])
            i += 1
    return out


class Tokenizer:
    """What every tokenizer has: merges (pair -> new id) and vocab (id -> bytes)."""

    def __init__(self):
        self.merges = {}  # (int, int) -> int, in the order they were learned
        self.pattern = ""  # unused by the basic tokenizer
        self.special_tokens = {}  # str -> int
        self.vocab = self._build_vocab()  # int -> bytes

    def train(self, text, vocab_size, verbose=False):
        raise NotImplementedError

    def encode(self, text):
        raise NotImplementedError

    def decode(self, ids):
        raise NotImplementedError

    def _build_vocab(self):
        vocab = {i: bytes([i]) for i in range(256)}
        for (a, b), idx in sorted(self.merges.items(), key=lambda item: item[1]):
            vocab[idx] = vocab[a] + vocab[b]
        for token, idx in self.special_tokens.items():
            vocab[idx] = token.encode("utf-8")
        return vocab

    def save(self, file_prefix):
        """Write `file_prefix.model`: a header line, then one merge "a b" per line in id order."""
        with open(file_prefix + ".model", "w", encoding="utf-8") as fh:
            fh.write("minbpe v1\n")
            fh.write(self.pattern + "\n")
            fh.write(f"{len(self.special_tokens)}\n")
            for token, idx in self.special_tokens.items():
                fh.write(f"{token} {idx}\n")
            for (a, b), _ in sorted(self.merges.items(), key=lambda item: item[1]):
                fh.write(f"{a} {b}\n")

    def load(self, model_file):
        """Read what save() wrote and rebuild merges and vocab."""
        with open(model_file, encoding="utf-8") as fh:
            lines = fh.read().split("\n")
        if lines[0] != "minbpe v1":
            raise ValueError(f"{model_file} is not a minbpe v1 model")
        self.pattern = lines[1]
        n_special = int(lines[2])
        self.special_tokens = {}
        for line in lines[3:3 + n_special]:
            token, idx = line.rsplit(" ", 1)
            self.special_tokens[token] = int(idx)
        self.merges = {}
        for line in lines[3 + n_special:]:
            if line.strip():
                a, b = map(int, line.split())
                self.merges[(a, b)] = 256 + len(self.merges)
        self.vocab = self._build_vocab()
