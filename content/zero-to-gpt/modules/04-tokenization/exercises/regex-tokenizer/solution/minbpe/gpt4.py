"""GPT-4's tokenizer (cl100k_base), from the ranks file OpenAI published for tiktoken.

The file lists every token's bytes (base64) with its rank: its id, and also the order in which
its merge was learned. Encoding a chunk merges, at each step, the adjacent pair whose joined bytes
has the lowest rank, which replays training exactly as encoding with a merge list does.
"""

import base64

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
    with open(path, "rb") as fh:
        for line in fh:
            if line.strip():
                token, rank = line.split()
                ranks[base64.b64decode(token)] = int(rank)
    return ranks


class GPT4Tokenizer(RegexTokenizer):
    def __init__(self, ranks_file):
        super().__init__(GPT4_SPLIT_PATTERN)
        self.ranks = load_ranks(ranks_file)  # bytes -> id
        self.vocab = {rank: token for token, rank in self.ranks.items()}  # id -> bytes
        self.register_special_tokens(GPT4_SPECIAL_TOKENS)

    def _encode_chunk(self, text_bytes):
        parts = [bytes([b]) for b in text_bytes]  # every single byte is a token of its own
        while len(parts) >= 2:
            # the adjacent pair whose joined bytes is a token with the lowest rank
            best, best_rank = None, None
            for i in range(len(parts) - 1):
                rank = self.ranks.get(parts[i] + parts[i + 1])
                if rank is not None and (best_rank is None or rank < best_rank):
                    best, best_rank = i, rank
            if best is None:
                break  # no pair joins into a token: done
            parts[best:best + 2] = [parts[best] + parts[best + 1]]
        return [self.ranks[part] for part in parts]

    def train(self, text, vocab_size, verbose=False):
        raise NotImplementedError("GPT-4's merges are already learned: GPT4Tokenizer only encodes and decodes")

    def save(self, file_prefix):
        raise NotImplementedError("the ranks file is GPT4Tokenizer's saved form")

    def load(self, model_file):
        raise NotImplementedError("build a GPT4Tokenizer from the ranks file instead")
