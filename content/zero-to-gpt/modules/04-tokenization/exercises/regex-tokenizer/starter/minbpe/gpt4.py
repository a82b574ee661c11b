"""GPT-4's tokenizer (cl100k_base), from the ranks file OpenAI published for tiktoken.

The file lists every token's bytes (base64) with its rank: its id, and also the order in which
its merge was learned.
"""

import base64  # noqa: F401 - you will need base64.b64decode

from .regex import GPT4_SPLIT_PATTERN, RegexTokenizer

GPT4_SPECIAL_TOKENS = {
    "<|endoftext|>": 100257,
    "<|fim_prefix|>": 100258,
    "<|fim_middle|>": 100259,
    "<|fim_suffix|>": 100260,
    "<|endofprompt|>": 100276,
}


def load_ranks(path):
    """{token bytes: rank} from lines of "<base64 bytes> <rank>"."""
    ranks = {}
    # TODO: read the file and fill ranks
    return ranks


class GPT4Tokenizer(RegexTokenizer):
    def __init__(self, ranks_file):
        super().__init__(GPT4_SPLIT_PATTERN)
        self.ranks = load_ranks(ranks_file)  # bytes -> id
        # TODO: self.vocab (id -> bytes) from the ranks, and register GPT4_SPECIAL_TOKENS

    def _encode_chunk(self, text_bytes):
        """The ids of one chunk: start from single bytes, and merge, again and again, the adjacent
        pair whose joined bytes is the token with the lowest rank."""
        # TODO
        return list(text_bytes)

    def train(self, text, vocab_size, verbose=False):
        raise NotImplementedError("GPT-4's merges are already learned: GPT4Tokenizer only encodes and decodes")

    def save(self, file_prefix):
        raise NotImplementedError("the ranks file is GPT4Tokenizer's saved form")

    def load(self, model_file):
        raise NotImplementedError("build a GPT4Tokenizer from the ranks file instead")
