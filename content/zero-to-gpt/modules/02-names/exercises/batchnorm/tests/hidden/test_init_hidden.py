import math

import torch
import torch.nn.functional as F

from layers import init_mlp
from names_data import build_dataset, load_words, split, vocabulary

LN27 = math.log(27)


def test_init_other_sizes(check):
    train, _, _ = split(load_words(check.data("names.txt")))
    stoi, _ = vocabulary()
    X, Y = build_dataset(train[-1500:], 5, stoi)
    g = torch.Generator().manual_seed(check.seed)
    p = init_mlp(27, 5, 16, 300, generator=g)
    check("shapes", {k: list(v.shape) for k, v in p.items()}, exact=True,
          msg="the shapes must follow the arguments: W1 is (block_size * n_embd, n_hidden)")
    hpre = p["C"][X].view(X.shape[0], -1) @ p["W1"] + p["b1"]
    h = torch.tanh(hpre)
    loss = F.cross_entropy(h @ p["W2"] + p["b2"], Y).item()
    check.at_most("|loss at step 0 - ln 27| (block 5, embd 16, hidden 300)", abs(loss - LN27), 0.05,
                  msg="with other sizes the first loss must still be about ln 27: scale W2 down (x0.01) and zero b2")
    check("loss at step 0 (block 5, embd 16, hidden 300)", loss, tol=0.075,
          msg="with other sizes the first loss must still be about ln 27: scale W2 down (x0.01) and zero b2")
    check.at_most("fraction of |tanh| > 0.99 (block 5, embd 16, hidden 300)", (h.abs() > 0.99).float().mean().item(), 0.25,
                  msg="scale W1 by (5/3) / sqrt(fan_in) where fan_in = block_size * n_embd = 80 here, not a fixed number")


def test_init_uses_generator(check):
    a = init_mlp(27, 3, 10, 64, generator=torch.Generator().manual_seed(7))
    b = init_mlp(27, 3, 10, 64, generator=torch.Generator().manual_seed(7))
    check("difference between two initialisations from seed 7", {k: b[k] - a[k] for k in a}, exact=True,
          msg="draw every random tensor with generator=generator so a seed reproduces the initialisation")
    train, _, _ = split(load_words(check.data("names.txt")))
    stoi, _ = vocabulary()
    X, Y = build_dataset(train[:1000], 3, stoi)
    h = torch.tanh(a["C"][X].view(X.shape[0], -1) @ a["W1"] + a["b1"])
    check("loss at step 0 from seed 7 (hidden 64)", F.cross_entropy(h @ a["W2"] + a["b2"], Y).item(), tol=0.075,
          msg="the first loss must be about ln 27 for any size: scale W2 down and zero b2")
