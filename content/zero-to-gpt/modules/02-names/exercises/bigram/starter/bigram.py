"""A bigram language model made of counts.

names_data (read-only, shared by the whole module) gives you:
    load_words(path), split(words), vocabulary() -> (stoi, itos), bigrams(words)
"""

import torch

from names_data import bigrams


def count_matrix(words, stoi):
    """Return a (27, 27) integer tensor N where N[i, j] counts how often character j follows
    character i in `words`, with '.' (index 0) marking the start and the end of every name."""
    N = torch.zeros((len(stoi), len(stoi)), dtype=torch.int64)
    # TODO: loop over bigrams(words) and add 1 to N[stoi[prev], stoi[next]]
    #       (tip: collect the counts in plain Python first, tensor indexing is slow in a loop)
    return N


def probabilities(N, smoothing=0.0):
    """Return a float32 tensor P of the same shape where each ROW is a probability
    distribution: P[i, j] = (N[i, j] + smoothing) / (sum over row i of (N + smoothing))."""
    # TODO: add the smoothing, then divide every row by its sum (keepdim=True!)
    return N.float()


def sample(P, n, generator, itos):
    """Draw `n` names from P. Start from '.' (index 0) and draw the next index with
    torch.multinomial(P[ix], num_samples=1, replacement=True, generator=generator)
    until you draw '.' again. Return the names as strings, without the final '.'."""
    names = []
    # TODO
    return names


def nll(P, words, stoi):
    """The average negative log-likelihood of all bigrams of `words` under P, as a Python float."""
    # TODO: -(sum of log P[prev, next] over every bigram) / (number of bigrams)
    return 0.0
