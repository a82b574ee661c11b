import torch

from backprop import manual_backward
from forward import forward, init_params
from names_data import build_dataset, load_words, split, vocabulary

TOL = dict(tol=1e-8, rtol=1e-5)
ORDER = ["dlogits", "dh", "dW2", "db2", "dhpreact", "dbngain", "dbnbias", "dbnraw", "dbnvar_inv", "dbnvar",
         "dbndiff", "dbnmean", "dhprebn", "dembcat", "dW1", "db1", "demb", "dC"]


def test_other_sizes(check):
    train, _, _ = split(load_words(check.data("names.txt")))
    stoi, _ = vocabulary()
    X, Y = build_dataset(train[-400:], 4, stoi)
    ix = torch.randint(0, X.shape[0], (20,))
    params = init_params(block_size=4, n_embd=6, n_hidden=40, seed=check.seed + 1)
    _, cache = forward(params, X[ix], Y[ix])
    with torch.no_grad():
        g = manual_backward(cache)
    for key in ORDER:
        check(f"{key} (batch 20, block 4, embd 6, hidden 40)", g[key], **TOL,
              msg=f"{key} is wrong for other sizes: use n = X.shape[0] and the tensors' own shapes, no hard-coded 32, 3 or 10")


def test_repeated_rows(check):
    """Half the batch are name starts, whose context is '...' (row 0 of C three times)."""
    train, _, _ = split(load_words(check.data("names.txt")))
    stoi, _ = vocabulary()
    X, Y = build_dataset(train[1000:1200], 3, stoi)
    starts = (X == 0).all(1).nonzero().view(-1)
    others = (X != 0).any(1).nonzero().view(-1)
    ix = torch.cat([starts[torch.randperm(len(starts))[:16]], others[torch.randperm(len(others))[:16]]])
    params = init_params(seed=check.seed + 2)
    _, cache = forward(params, X[ix], Y[ix])
    with torch.no_grad():
        g = manual_backward(cache)
    check("demb (repeated contexts)", g["demb"], **TOL, msg="demb is dembcat viewed as (n, block_size, n_embd)")
    check("dC (repeated contexts)", g["dC"], **TOL,
          msg="row 0 of C is used 48+ times in this batch: its gradient is the SUM of all those uses. "
              "dC[X] += demb does not accumulate repeats; use a loop with += or index_add_")
