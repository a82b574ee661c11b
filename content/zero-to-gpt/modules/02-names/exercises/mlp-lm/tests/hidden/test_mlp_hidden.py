import random

import torch

from mlp import forward, init_params, train
from names_data import build_dataset, load_words, split, vocabulary

stoi, itos = vocabulary()
NAMES = ["C", "W1", "b1", "W2", "b2"]


def test_other_sizes(check):
    rng = random.Random(check.seed)
    vocab, block, emb, hidden = rng.randint(5, 40), rng.randint(1, 8), rng.randint(2, 16), rng.randint(8, 64)
    params = init_params(vocab, block, emb, hidden, torch.Generator().manual_seed(rng.randrange(2**31)))
    check(f"shapes for vocab={vocab}, block={block}, n_embd={emb}, n_hidden={hidden}",
          {k: list(params[k].shape) for k in NAMES})
    gen = torch.Generator().manual_seed(rng.randrange(2**31))
    shapes = {"C": (vocab, emb), "W1": (block * emb, hidden), "b1": (hidden,), "W2": (hidden, vocab), "b2": (vocab,)}
    mine = {k: (torch.randn(s, generator=gen) * 0.5).requires_grad_(True) for k, s in shapes.items()}
    X = torch.randint(0, vocab, (rng.randint(1, 50), block), generator=gen)
    check("logits for other sizes", forward(mine, X), tol=1e-5)


def test_train_other_schedule(check):
    rng = random.Random(check.seed)
    gen = torch.Generator().manual_seed(rng.randrange(2**31))
    shapes = {"C": (27, 4), "W1": (12, 32), "b1": (32,), "W2": (32, 27), "b2": (27,)}
    params = {k: (torch.randn(s, generator=gen) * 0.5).requires_grad_(True) for k, s in shapes.items()}
    words, _, _ = split(load_words(check.data("names.txt")))
    X, Y = build_dataset(words[:200], 3, stoi)
    lrs = [round(rng.uniform(0.01, 0.2), 3) for _ in range(6)]
    batch = rng.choice([1, 7, 64])
    losses = train(params, X, Y, steps=6, batch_size=batch, lr_schedule=lambda s: lrs[s], generator=gen)
    check(f"losses (batch {batch}, learning rates {lrs})", losses, tol=1e-5)
    for name in NAMES:
        check(f"{name} after 6 steps", params[name], tol=1e-5)
