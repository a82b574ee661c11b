"""Character n-gram language models with add-k smoothing (reference solution)."""

import torch


def ngrams(words, n):
    """Every n-character window of every word, as strings, with n - 1 '.' in front of each word
    and one '.' after it. A word of length L gives L + 1 windows."""
    grams = []
    for w in words:
        chars = "." * (n - 1) + w + "."
        grams.extend([chars[i : i + n] for i in range(len(chars) - n + 1)])
    return grams


def _flat_index(grams, stoi):
    """The position of each n-gram in a flattened (V,)*n tensor: its indices read as base-V digits."""
    if not grams:
        return torch.zeros(0, dtype=torch.int64)
    size, n = len(stoi), len(grams[0])
    lut = torch.zeros(128, dtype=torch.int64)  # character code -> index, for the whole list at once
    for ch, i in stoi.items():
        lut[ord(ch)] = i
    codes = torch.frombuffer(bytearray("".join(grams).encode("ascii")), dtype=torch.uint8)
    digits = lut[codes.long()].view(-1, n)
    powers = size ** torch.arange(n - 1, -1, -1, dtype=torch.int64)
    return (digits * powers).sum(dim=1)


def count_ngrams(words, n, stoi):
    """N[i_1, ..., i_n] = how often the characters i_1 .. i_n appear in a row (int64, shape (V,)*n)."""
    size = len(stoi)
    flat = _flat_index(ngrams(words, n), stoi)
    return torch.bincount(flat, minlength=size**n).view((size,) * n)


def ngram_probs(N, k):
    """Add-k smoothed P(next | context), float64, normalised over the LAST axis."""
    P = N.double() + k
    return P / P.sum(dim=-1, keepdim=True)


def nll(P, words, stoi):
    """Average negative log-likelihood per predicted character (one per n-gram), n = P.dim()."""
    flat = _flat_index(ngrams(words, P.dim()), stoi)
    logp = torch.log(P.reshape(-1)[flat].double())
    return -logp.mean().item()


def tune_k(train, dev, n, ks, stoi):
    """Fit the counts on train, score every k on dev; return (the k with the lowest dev NLL, the
    dev NLLs in the order of ks). Ties go to the earliest k."""
    N = count_ngrams(train, n, stoi)
    losses = [nll(ngram_probs(N, k), dev, stoi) for k in ks]
    best = min(range(len(ks)), key=lambda i: losses[i])
    return ks[best], losses
