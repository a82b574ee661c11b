"""The names dataset, the same way for every exercise of this module.

The split is computed, not shipped: shuffle the 32,033 names with random.Random(42) and cut
80% / 10% / 10% into train / dev / test. Everyone (you, the reference solution, the grader)
gets exactly the same three lists. The vocabulary is '.' (start and end of a name, index 0)
followed by a-z (1..26).
"""

import random

SPLIT_SEED = 42


def load_words(path):
    with open(path, encoding="utf-8") as fh:
        return fh.read().split()


def split(words, seed=SPLIT_SEED):
    words = list(words)
    random.Random(seed).shuffle(words)
    n1, n2 = int(0.8 * len(words)), int(0.9 * len(words))
    return words[:n1], words[n1:n2], words[n2:]


def vocabulary():
    chars = ["."] + [chr(ord("a") + i) for i in range(26)]
    stoi = {ch: i for i, ch in enumerate(chars)}
    itos = {i: ch for ch, i in stoi.items()}
    return stoi, itos


def bigrams(words):
    """Every (previous, next) character pair, with '.' marking the start and the end."""
    for w in words:
        chars = ["."] + list(w) + ["."]
        yield from zip(chars, chars[1:])


def build_dataset(words, block_size, stoi):
    """Context windows of `block_size` characters and the character that follows each."""
    import torch

    X, Y = [], []
    for w in words:
        context = [0] * block_size
        for ch in w + ".":
            ix = stoi[ch]
            X.append(context)
            Y.append(ix)
            context = context[1:] + [ix]
    return torch.tensor(X), torch.tensor(Y)
