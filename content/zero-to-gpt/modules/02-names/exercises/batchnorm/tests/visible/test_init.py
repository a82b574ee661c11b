import math

import torch
import torch.nn.functional as F

from layers import init_mlp
from names_data import build_dataset, load_words, split, vocabulary

LN27 = math.log(27)


def names_batch(check, block_size, n_words=2000):
    train, _, _ = split(load_words(check.data("names.txt")))
    stoi, _ = vocabulary()
    return build_dataset(train[:n_words], block_size, stoi)


def forward(p, X):
    """The names MLP of this exercise: embed, concatenate, tanh hidden layer, output layer."""
    emb = p["C"][X]
    hpre = emb.view(X.shape[0], -1) @ p["W1"] + p["b1"]
    h = torch.tanh(hpre)
    return h @ p["W2"] + p["b2"], hpre, h


def test_init_shapes(check):
    g = torch.Generator().manual_seed(check.seed)
    p = init_mlp(27, 3, 10, 200, generator=g)
    check("keys", sorted(p), exact=True, msg="init_mlp returns a dict with the keys C, W1, b1, W2, b2")
    check("shapes", {k: list(v.shape) for k, v in p.items()}, exact=True,
          msg="C is (vocab, n_embd), W1 (block_size * n_embd, n_hidden), b1 (n_hidden,), W2 (n_hidden, vocab), b2 (vocab,)")


def test_init_loss(check):
    X, Y = names_batch(check, 3)
    g = torch.Generator().manual_seed(check.seed)
    p = init_mlp(27, 3, 10, 200, generator=g)
    logits, _, _ = forward(p, X)
    loss = F.cross_entropy(logits, Y).item()
    print(f"loss at step 0: {loss:.4f} (ln 27 = {LN27:.4f})")
    msg = ("the first loss should be close to ln 27 = 3.2958 (a uniform guess): make the logits small at "
           "init by multiplying W2 by a small factor such as 0.01 and starting b2 at zero")
    check.at_most("|loss at step 0 - ln 27|", abs(loss - LN27), 0.05, msg=msg)
    # The prompt's criterion is the bound above; the reference's own loss, within a tolerance that
    # admits any loss the bound admits, is what the grader compares.
    check("loss at step 0", loss, tol=0.06, msg=msg)


def test_init_saturation(check):
    X, _ = names_batch(check, 3)
    g = torch.Generator().manual_seed(check.seed)
    p = init_mlp(27, 3, 10, 200, generator=g)
    _, hpre, h = forward(p, X)
    saturated = (h.abs() > 0.99).float().mean().item()
    print(f"std of the hidden pre-activations: {hpre.std().item():.3f}; saturated tanh units: {saturated:.1%}")
    check.at_most("fraction of |tanh| > 0.99 at step 0", saturated, 0.25,
                  msg="too many tanh units are saturated (flat, so their gradient is ~0): scale W1 by "
                      "gain / sqrt(fan_in) with gain 5/3 and fan_in = block_size * n_embd, and keep b1 small")
    check.at_most("std of hidden pre-activations (upper)", hpre.std().item(), 3.0,
                  msg="the hidden pre-activations are too large: scale W1 by (5/3) / sqrt(block_size * n_embd)")
    check.at_least("std of hidden pre-activations (lower)", hpre.std().item(), 0.5,
                   msg="the hidden pre-activations are scaled down too far (tanh is then almost linear): "
                       "use (5/3) / sqrt(fan_in), not a tiny constant")
    check("std of hidden pre-activations", hpre.std().item(), tol=1.4,
          msg="the hidden pre-activations should have a standard deviation near the reference's (between 0.5 and 3): "
              "scale W1 by (5/3) / sqrt(block_size * n_embd)")
