import random

import torch

from bigram import count_matrix, nll, probabilities, sample
from names_data import bigrams, load_words, split, vocabulary

stoi, itos = vocabulary()


def random_words(rng, n):
    letters = "abcdefghijklmnopqrstuvwxyz"
    return ["".join(rng.choice(letters[: rng.randint(3, 26)]) for _ in range(rng.randint(1, 8))) for _ in range(n)]


def test_split_model(check):
    """Fit on the train split, measure on train and dev (the split from names_data)."""
    train, dev, _ = split(load_words(check.data("names.txt")))
    N = count_matrix(train, stoi)
    check("train bigrams", int(N.sum()))
    P = probabilities(N, smoothing=1)
    check("train NLL (add-one)", nll(P, train, stoi), tol=1e-4)
    dev_loss = nll(P, dev, stoi)
    check("dev NLL (add-one)", dev_loss, tol=1e-4)
    check.metric("dev loss", 0, dev_loss)  # the names scoreboard's first row


def test_random_words(check):
    rng = random.Random(check.seed)
    words = random_words(rng, 60)
    N = count_matrix(words, stoi)
    check("counts of random words", N, exact=True)
    smoothing = round(rng.uniform(0.1, 2.0), 3)
    P = probabilities(N, smoothing=smoothing)
    check(f"P with smoothing={smoothing}", P, tol=1e-6)
    check("nll of random words", nll(P, words, stoi), tol=1e-5)
    check("nll of other words", nll(P, random_words(rng, 20), stoi), tol=1e-5)


def test_sample_other_seeds(check):
    rng = random.Random(check.seed)
    words = load_words(check.data("names.txt"))
    flat = [stoi[a] * 27 + stoi[b] for a, b in bigrams(words)]
    N = torch.bincount(torch.tensor(flat), minlength=27 * 27).view(27, 27).float()
    P = (N + 0.5) / (N + 0.5).sum(dim=1, keepdim=True)
    for i in range(3):
        seed = rng.randrange(2**31)
        n = rng.randint(1, 15)
        check(f"sample #{i} (seed {seed}, n={n})", sample(P, n, torch.Generator().manual_seed(seed), itos))
