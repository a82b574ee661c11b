"""Byte-level BPE without regex pre-splitting or special tokens."""

from .base import Tokenizer, get_stats, merge


class BasicTokenizer(Tokenizer):
    def train(self, text, vocab_size, verbose=False):
        if vocab_size < 256:
            raise ValueError("vocab_size must be at least 256 (one id per byte)")
        ids = list(text.encode("utf-8"))
        merges = {}
        vocab = {i: bytes([i]) for i in range(256)}
        for step in range(vocab_size - 256):
            stats = get_stats(ids)
            if not stats:
                break  # nothing left to merge: the text is a single token
            # the most frequent pair; on a tie, the one that appears first in the text
            best, best_count = None, 0
            for pair, count in stats.items():
                if count > best_count:
                    best, best_count = pair, count
            idx = 256 + step
            ids = merge(ids, best, idx)
            merges[best] = idx
            vocab[idx] = vocab[best[0]] + vocab[best[1]]
            if verbose:
                print(f"merge {step + 1}/{vocab_size - 256}: {best} -> {idx} {vocab[idx]!r} ({best_count} times)")
        self.merges = merges
        self.vocab = vocab

    def encode(self, text):
        ids = list(text.encode("utf-8"))
        while len(ids) >= 2:
            # among the pairs present, the one learned earliest (lowest new id)
            best = None
            for pair in get_stats(ids):
                if pair in self.merges and (best is None or self.merges[pair] < self.merges[best]):
                    best = pair
            if best is None:
                break
            ids = merge(ids, best, self.merges[best])
        return ids

    def decode(self, ids):
        data = b"".join(self.vocab[i] for i in ids)
        return data.decode("utf-8")
