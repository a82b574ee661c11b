"""Byte-level BPE without regex pre-splitting or special tokens."""

from .base import Tokenizer, get_stats, merge


class BasicTokenizer(Tokenizer):
    def train(self, text, vocab_size, verbose=False):
        """Learn vocab_size - 256 merges from text; set self.merges and self.vocab."""
        ids = list(text.encode("utf-8"))  # the text as byte ids 0..255
        merges = {}  # (int, int) -> int
        vocab = {i: bytes([i]) for i in range(256)}  # int -> bytes
        # TODO: repeat vocab_size - 256 times:
        #   count the pairs in ids, pick the most frequent (on a tie: the one that appears first),
        #   give it the next id (256, 257, ...), merge it in ids, record it in merges and vocab.
        self.merges = merges
        self.vocab = vocab

    def encode(self, text):
        """The token ids of text (a list of ints)."""
        ids = list(text.encode("utf-8"))
        # TODO: while some adjacent pair of ids is in self.merges, merge the one with the
        # lowest merge id.
        return ids

    def decode(self, ids):
        """The text of a list of token ids."""
        # TODO: look up each id's bytes in self.vocab, join them, and decode as UTF-8
        # (errors="replace").
        raise NotImplementedError("decode is not written yet")
