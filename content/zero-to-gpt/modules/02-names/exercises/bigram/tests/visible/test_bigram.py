import math

import torch

from bigram import count_matrix, nll, probabilities, sample
from names_data import bigrams, load_words, vocabulary

stoi, itos = vocabulary()


def reference_P(words, smoothing):
    """The test's own count model, so nll() and sample() are checked on their own."""
    flat = [stoi[a] * 27 + stoi[b] for a, b in bigrams(words)]
    N = torch.bincount(torch.tensor(flat), minlength=27 * 27).view(27, 27).float()
    P = N + smoothing
    return P / P.sum(dim=1, keepdim=True)


def test_count_small(check):
    N = count_matrix(["emma"], stoi)
    check("shape", list(N.shape), msg="the count matrix is 27x27: '.' plus the 26 letters")
    check("total", int(N.sum()), msg="'emma' has 5 bigrams: .e em mm ma a. (the '.' marks the start AND the end)")
    check("N['.', 'e'] (start of the name)", int(N[stoi["."], stoi["e"]]), msg="a name starts with the bigram ('.', first letter)")
    check("N['a', '.'] (end of the name)", int(N[stoi["a"], stoi["."]]), msg="a name ends with the bigram (last letter, '.')")
    check("N['m', 'm']", int(N[stoi["m"], stoi["m"]]))
    check("N (all of it)", N, exact=True, msg="rows are the previous character, columns the next one: N[stoi[prev], stoi[next]] += 1")


def test_count_full(check):
    words = load_words(check.data("names.txt"))
    N = count_matrix(words, stoi)
    check("number of bigrams", int(N.sum()), msg="every name of length L gives L + 1 bigrams, '.' at both ends")
    check("names starting with 'a': N['.', 'a']", int(N[0, stoi["a"]]))
    check("names ending in 'n': N['n', '.']", int(N[stoi["n"], 0]))
    check("N['q', 'u']", int(N[stoi["q"], stoi["u"]]))
    check("N['.', '.'] (an empty name)", int(N[0, 0]), msg="N['.', '.'] counts empty names: there are none")
    check("N (all of it)", N, exact=True)


def test_probabilities(check):
    words = load_words(check.data("names.txt"))
    N = count_matrix(words, stoi)
    P = probabilities(N)
    check("shape", list(P.shape))
    check("row sums", P.sum(dim=1), tol=1e-5,
          msg="each ROW must sum to 1 (a distribution over the next character): divide by N.sum(dim=1, keepdim=True), not dim=0")
    check("P['q', 'u']", float(P[stoi["q"], stoi["u"]]), tol=1e-6)
    check("P", P, tol=1e-6, msg="P[i, j] = N[i, j] / (sum of row i)")


def test_smoothing(check):
    words = load_words(check.data("names.txt"))
    N = count_matrix(words, stoi)
    P = probabilities(N, smoothing=1)
    check("smallest probability > 0", bool(P.min() > 0), msg="add-one smoothing adds `smoothing` to EVERY count before normalising, so no probability is 0")
    check("row sums", P.sum(dim=1), tol=1e-5, msg="after smoothing each row must still sum to 1: add first, then normalise")
    check("P with smoothing=1", P, tol=1e-6, msg="P = (N + smoothing) / (N + smoothing).sum(dim=1, keepdim=True)")


def test_sample(check):
    words = load_words(check.data("names.txt"))
    P = reference_P(words, 1)
    g = torch.Generator().manual_seed(2147483647)
    names = sample(P, 10, g, itos)
    check("10 names drawn with seed 2147483647", names,
          msg="start at ix = 0, then draw one torch.multinomial(P[ix], 1, replacement=True, generator=generator) per character; stop at '.' and leave it out")


def test_nll_small(check):
    P = torch.full((27, 27), 0.5 / 26)
    P[:, 0] = 0.5  # '.' (end of name) has probability 1/2 after every character
    check("nll(P, ['a'])", nll(P, ["a"], stoi), tol=1e-6,
          msg="'a' has 2 bigrams (.a and a.): the average is (-log P[., a] - log P[a, .]) / 2")
    check("nll(P, ['ab', 'c'])", nll(P, ["ab", "c"], stoi), tol=1e-6,
          msg="divide by the number of bigrams (len(w) + 1 per word), not the number of letters or words")


def test_nll_full(check):
    words = load_words(check.data("names.txt"))
    check("uniform model: ln 27", nll(torch.full((27, 27), 1 / 27), words, stoi), tol=1e-4,
          msg="a model that guesses uniformly has average NLL ln 27 = 3.2958")
    check("counts, no smoothing", nll(reference_P(words, 0), words, stoi), tol=1e-4,
          msg="the average NEGATIVE log-likelihood is positive: -(sum of log P[prev, next]) / (number of bigrams)")
    check("counts, add-one smoothing", nll(reference_P(words, 1), words, stoi), tol=1e-4)
