import random

import torch

from names_data import load_words, split, vocabulary
from ngram import count_ngrams, ngram_probs, ngrams, nll, tune_k

stoi, itos = vocabulary()


def random_words(rng, n):
    letters = "abcdefghijklmnopqrstuvwxyz"
    return ["".join(rng.choice(letters[: rng.randint(3, 26)]) for _ in range(rng.randint(1, 9))) for _ in range(n)]


def own_probs(words, n, k):
    size = 27**n
    flat = []
    for w in words:
        ix = 0
        for ch in w + ".":
            ix = (ix * 27 + stoi[ch]) % size
            flat.append(ix)
    N = torch.bincount(torch.tensor(flat, dtype=torch.int64), minlength=size).view((27,) * n)
    P = N.double() + k
    return P / P.sum(dim=-1, keepdim=True)


def test_split_4gram(check):
    """Tune k for the 4-gram on dev, then report train and test once with the chosen k."""
    train, dev, test = split(load_words(check.data("names.txt")))
    ks = [0.3, 0.03, 0.07, 0.15]
    best, losses = tune_k(train, dev, 4, ks, stoi)
    check("dev NLL for each k", losses, tol=1e-6,
          msg="counts come from train only, the losses from dev, in the order of ks")
    check("best k", best, tol=0, msg="the k with the lowest dev NLL, returned as the value from ks")
    N = count_ngrams(train, 4, stoi)
    check("4-grams in train", int(N.sum()))
    P = ngram_probs(N, best)
    check("train NLL at the chosen k", nll(P, train, stoi), tol=1e-6)
    check("test NLL at the chosen k", nll(P, test, stoi), tol=1e-6)


def test_random_words(check):
    rng = random.Random(check.seed)
    for n in (1, 2, 3, 4):
        words = random_words(rng, 40)
        check(f"n={n}: ngrams of random words", ngrams(words, n), msg="n - 1 dots in front, one dot after, L + 1 windows per word")
        N = count_ngrams(words, n, stoi)
        if n <= 3:
            check(f"n={n}: counts", N, exact=True, dtype=False)
        else:
            flat = N.reshape(-1)
            where = torch.nonzero(flat).flatten()
            check(f"n={n}: positions of non-zero counts", where, exact=True, dtype=False)
            check(f"n={n}: non-zero counts", flat[where], exact=True, dtype=False)
        k = round(rng.uniform(0.01, 3.0), 3)
        Q = own_probs(words, n, k)
        P = ngram_probs(N, k)
        if n <= 3:
            check(f"n={n}: P with k={k}", P, tol=1e-9, msg="add k to every cell, then normalise over the last axis")
        else:
            check(f"n={n}: P of the first context rows with k={k}", P.reshape(-1, 27)[:800], tol=1e-9)
        others = random_words(rng, 15)
        check(f"n={n}: nll of other words", nll(Q, others, stoi), tol=1e-9, msg="average over n-grams, len(w) + 1 per word")
        check(f"n={n}: nll of the same words", nll(Q, words, stoi), tol=1e-9)


def test_tune_random(check):
    rng = random.Random(check.seed)
    train, dev = random_words(rng, 300), random_words(rng, 60)
    for n in (2, 3):
        ks = [round(rng.uniform(0.005, 4.0), 3) for _ in range(6)]
        best, losses = tune_k(train, dev, n, ks, stoi)
        check(f"n={n}: dev losses for ks={ks}", losses, tol=1e-9, msg="one dev loss per k, in the order of ks, counts from train only")
        check(f"n={n}: best k", best, tol=0, msg="the k with the lowest DEV loss")


def test_unseen_contexts(check):
    rng = random.Random(check.seed)
    words = load_words(check.data("names.txt"))
    few = rng.sample(words, 300)
    N = count_ngrams(few, 3, stoi)
    k = round(rng.uniform(0.05, 1.0), 3)
    P = ngram_probs(N, k)
    unseen = (N.sum(dim=-1) == 0).nonzero()
    i, j = (int(v) for v in unseen[rng.randrange(len(unseen))])
    check("row of a context never seen", P[i, j], tol=1e-9,
          msg="a context without counts gets k in every cell: a uniform row")
    check("smallest probability", float(P.min()), tol=1e-12, msg="smoothing goes into EVERY cell, also those of unseen n-grams")
    check("sums over the next character", P.sum(dim=-1), tol=1e-9, msg="normalise over the last axis, with 27 * k in the denominator")
    rest = rng.sample(words, 200)
    check("nll of other names under the small model", nll(P, rest, stoi), tol=1e-9)
