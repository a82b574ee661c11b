"""A bigram language model made of counts (reference solution)."""

import torch

from names_data import bigrams


def count_matrix(words, stoi):
    """N[i, j] = how many times character j follows character i, '.' marking both ends."""
    size = len(stoi)
    rows, cols = [], []
    for prev, nxt in bigrams(words):
        rows.append(stoi[prev])
        cols.append(stoi[nxt])
    flat = torch.tensor(rows, dtype=torch.int64) * size + torch.tensor(cols, dtype=torch.int64)
    return torch.bincount(flat, minlength=size * size).view(size, size)


def probabilities(N, smoothing=0.0):
    """Row-normalised probabilities P[i, j] = P(next = j | previous = i), float32."""
    P = N.float() + smoothing
    return P / P.sum(dim=1, keepdim=True)


def sample(P, n, generator, itos):
    """n names drawn from P, each without its closing '.'."""
    names = []
    for _ in range(n):
        ix, out = 0, []
        while True:
            ix = torch.multinomial(P[ix], num_samples=1, replacement=True, generator=generator).item()
            if ix == 0:
                break
            out.append(itos[ix])
        names.append("".join(out))
    return names


def nll(P, words, stoi):
    """Average negative log-likelihood of every bigram of `words` under P (a Python float)."""
    pairs = [(stoi[a], stoi[b]) for a, b in bigrams(words)]
    idx = torch.tensor(pairs, dtype=torch.int64)
    logp = torch.log(P[idx[:, 0], idx[:, 1]].double())
    return logp.mean().item()
