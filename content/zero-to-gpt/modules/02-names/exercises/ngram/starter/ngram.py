"""Character n-gram language models with add-k smoothing.

names_data (read-only, shared by the whole module) gives you:
    load_words(path), split(words), vocabulary() -> (stoi, itos)
The vocabulary has 27 characters: '.' (index 0) and a-z (1..26).
"""

import torch


def ngrams(words, n):
    """Return a list of strings of n characters: every window of n characters of every word, in
    order, after writing the word with n - 1 '.' in front and one '.' after it.
    ngrams(['emma'], 3) == ['..e', '.em', 'emm', 'mma', 'ma.']"""
    grams = []
    # TODO
    return grams


def count_ngrams(words, n, stoi):
    """Return an integer tensor N of shape (27,) * n where N[i_1, ..., i_n] counts how often the
    n-gram with those character indices occurs in ngrams(words, n). The last index is the
    predicted character; the first n - 1 are its context."""
    N = torch.zeros((len(stoi),) * n, dtype=torch.int64)
    # TODO: collect the indices in plain Python first; adding to a tensor one cell at a time is slow
    return N


def ngram_probs(N, k):
    """Return a float64 tensor P of N's shape with add-k smoothing, normalised over the LAST axis:
    P[..., j] = (N[..., j] + k) / (sum over j' of (N[..., j'] + k))."""
    # TODO
    return N.double()


def nll(P, words, stoi):
    """The average negative log-likelihood of every n-gram of `words` under P, where n = P.dim(),
    as a Python float: -(sum of log P[n-gram]) / (number of n-grams)."""
    # TODO
    return 0.0


def tune_k(train, dev, n, ks, stoi):
    """Count n-grams on `train`, then for every k in `ks` compute the NLL on `dev` of
    ngram_probs(counts, k). Return (best_k, losses): the k with the lowest dev NLL (the first one
    on a tie) and the list of dev NLLs in the order of `ks`."""
    losses = [0.0 for _ in ks]
    # TODO
    return ks[0], losses
