import functools

import torch

from names_data import load_words, split, vocabulary
from ngram import count_ngrams, ngram_probs, ngrams, nll, tune_k

stoi, itos = vocabulary()


def own_counts(words, n):
    """The test's own counter, so ngram_probs, nll and tune_k are checked on their own."""
    return _own_counts(tuple(words), n).clone()


@functools.lru_cache(maxsize=4)
def _own_counts(words, n):
    size = 27**n
    flat = []
    for w in words:
        ix = 0  # the n - 1 dots in front are index 0
        for ch in w + ".":
            ix = (ix * 27 + stoi[ch]) % size
            flat.append(ix)
    return torch.bincount(torch.tensor(flat, dtype=torch.int64), minlength=size).view((27,) * n)


def own_probs(N, k):
    P = N.double() + k
    return P / P.sum(dim=-1, keepdim=True)


def ix(gram):
    return tuple(stoi[ch] for ch in gram)


def test_ngrams_small(check):
    check("ngrams(['emma'], 3)", ngrams(["emma"], 3),
          msg="pad the START with n - 1 dots and the END with one: '..emma.' gives ..e .em emm mma ma.")
    check("ngrams(['emma'], 1)", ngrams(["emma"], 1),
          msg="n = 1 has no context: just every letter and the closing '.'")
    check("ngrams(['emma'], 2)", ngrams(["emma"], 2))
    check("ngrams(['a', 'bo'], 4)", ngrams(["a", "bo"], 4),
          msg="a word of length L gives L + 1 n-grams, the last one ending in '.'")


def test_count_small(check):
    N = count_ngrams(["emma"], 3, stoi)
    check("shape", list(N.shape), msg="a trigram table has one axis per character: (27, 27, 27)")
    check("total", int(N.sum()), msg="'emma' has 5 trigrams: ..e .em emm mma ma.")
    check("N['.', '.', 'e'] (start of the name)", int(N[ix("..e")]),
          msg="the first trigram of a name has TWO dots of context")
    check("N['m', 'a', '.'] (end of the name)", int(N[ix("ma.")]), msg="the last trigram ends in '.'")
    check("N (all of it)", N, exact=True, dtype=False,
          msg="axis order is N[first, second, next]: the context comes first, the predicted character last")


def test_count_full(check):
    words = load_words(check.data("names.txt"))
    N3 = count_ngrams(words, 3, stoi)
    check("number of trigrams", int(N3.sum()), msg="every name of length L gives L + 1 n-grams, whatever n is")
    check("N['.', '.', 'a'] (names starting with a)", int(N3[ix("..a")]))
    check("N['a', 'h', '.'] (names ending in ah)", int(N3[ix("ah.")]))
    check("trigrams that occur (non-zero cells)", int((N3 > 0).sum()))
    check("trigram counts (all of them)", N3, exact=True, dtype=False)
    N4 = count_ngrams(words, 4, stoi)
    check("4-gram shape", list(N4.shape))
    check("number of 4-grams", int(N4.sum()))
    check("4-gram contexts that occur", int((N4.sum(dim=-1) > 0).sum()),
          msg="a 4-gram context is the 3 characters before the one predicted, '.' padding included")
    flat = N4.reshape(-1)
    where = torch.nonzero(flat).flatten()
    check("positions of the non-zero 4-gram counts", where, exact=True, dtype=False)
    check("the non-zero 4-gram counts", flat[where], exact=True, dtype=False)


def test_probabilities(check):
    words = load_words(check.data("names.txt"))
    P = ngram_probs(own_counts(words, 3), 0.5)
    check("shape", list(P.shape))
    check("sums over the next character", P.sum(dim=-1), tol=1e-9,
          msg="every distribution over the next character must sum to 1: normalise over the LAST axis, "
          "with k added to all 27 cells of the row (numerator and denominator alike)")
    check("P(. | 'ah') (a name ending after 'ah')", float(P[ix("ah.")]), tol=1e-9)
    check("P(next | 'em')", P[ix("em")], tol=1e-9)
    check("P with k=0.5 (all of it)", P, tol=1e-9,
          msg="P[..., j] = (N[..., j] + k) / sum over j of (N[..., j] + k)")
    P1 = ngram_probs(own_counts(words, 1), 2)
    check("unigram P with k=2", P1, tol=1e-9, msg="with n = 1 there is one distribution: the whole vector sums to 1")


def test_smoothing(check):
    train, _, _ = split(load_words(check.data("names.txt")))
    N = own_counts(train, 3)
    P = ngram_probs(N, 1)
    check("smallest probability", float(P.min()), tol=1e-12,
          msg="add k to EVERY cell, seen or not, before normalising: no probability may be 0")
    check("P(next | 'qq'), a context never seen in train", P[ix("qq")], tol=1e-9,
          msg="a context that never occurs has only pseudo-counts: its row is uniform, 1/27 each")
    check("P(next | 'qu') with k=1", P[ix("qu")], tol=1e-9,
          msg="the denominator is the context's count plus k times 27 (every character, '.' included, can come next)")
    P0 = ngram_probs(N, 0)
    check("P(next | 'qu') with k=0", P0[ix("qu")], tol=1e-9, msg="with k = 0 the row is the counts divided by their sum")


def test_nll_small(check):
    P = torch.full((27, 27, 27), 0.5 / 26, dtype=torch.float64)
    P[..., 0] = 0.5  # after any two characters, the name ends with probability 1/2
    check("nll(P, ['a'])", nll(P, ["a"], stoi), tol=1e-9,
          msg="'a' has 2 trigrams (..a and .a.): average -log P over those two")
    check("nll(P, ['ab', 'c'])", nll(P, ["ab", "c"], stoi), tol=1e-9,
          msg="divide by the number of n-grams (len(w) + 1 per word), not by the letters or the words")
    Q = torch.full((27,) * 4, 1 / 27, dtype=torch.float64)
    Q[ix("...e")] = 0.6  # not a distribution any more, which nll does not care about
    check("nll(Q, ['emma', 'e']) with a 4-gram table", nll(Q, ["emma", "e"], stoi), tol=1e-9,
          msg="n comes from the table: P.dim() == 4 means 3 characters of context, '...' at the start")


def test_nll_full(check):
    words = load_words(check.data("names.txt"))
    N3 = own_counts(words, 3)
    check("trigram, k=0, on all names", nll(own_probs(N3, 0), words, stoi), tol=1e-6,
          msg="the average NEGATIVE log-likelihood: -(sum of log P) / (number of n-grams)")
    check("trigram, k=1, on all names", nll(own_probs(N3, 1), words, stoi), tol=1e-6)
    check("4-gram, k=0.1, on all names", nll(own_probs(own_counts(words, 4), 0.1), words, stoi), tol=1e-6)


def test_tune_k(check):
    train, dev, _ = split(load_words(check.data("names.txt")))
    ks = [1.0, 0.05, 0.2]
    best, losses = tune_k(train, dev, 3, ks, stoi)
    check("dev NLL for each k (in the order given)", losses, tol=1e-6,
          msg="fit the counts on train ONCE, then for each k: dev NLL of ngram_probs(N, k)")
    check("best k", best, tol=0, msg="return the k with the LOWEST dev NLL (the value of k, not its position)")
