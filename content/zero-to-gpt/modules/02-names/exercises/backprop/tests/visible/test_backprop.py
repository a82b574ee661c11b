import torch

from backprop import manual_backward
from forward import forward, init_params
from names_data import build_dataset, load_words, split, vocabulary

TOL = dict(tol=1e-8, rtol=1e-5)


def make_cache(check, n=32, block_size=3, n_embd=10, n_hidden=64, n_words=300):
    """A batch of n contexts from the training names, and the forward pass on it."""
    train, _, _ = split(load_words(check.data("names.txt")))
    stoi, _ = vocabulary()
    X, Y = build_dataset(train[:n_words], block_size, stoi)
    ix = torch.randint(0, X.shape[0], (n,))
    params = init_params(block_size=block_size, n_embd=n_embd, n_hidden=n_hidden, seed=check.seed)
    _, cache = forward(params, X[ix], Y[ix])
    return cache


def grads(check, **sizes):
    with torch.no_grad():
        g = manual_backward(make_cache(check, **sizes))
    if not isinstance(g, dict):
        raise TypeError(f"manual_backward must return a dict of gradients, not {type(g).__name__}")
    return g


KEYS = ["dlogits", "dh", "dW2", "db2", "dhpreact", "dbngain", "dbnbias", "dbnraw", "dbnvar_inv", "dbnvar",
        "dbndiff", "dbnmean", "dhprebn", "dembcat", "dW1", "db1", "demb", "dC"]


def test_runs(check):
    g = grads(check)
    check("keys", sorted(g), exact=True, msg="return a dict with exactly the 18 keys listed in the prompt")
    check("shapes", {k: list(v.shape) if hasattr(v, "shape") else repr(v) for k, v in g.items()}, exact=True,
          msg="every gradient has the shape of its tensor: dbngain is (1, n_hidden), db2 is (vocab_size,), "
              "demb is (n, block_size, n_embd)...")


def test_cross_entropy(check):
    g = grads(check)
    check("dlogits", g["dlogits"], **TOL,
          msg="dlogits = (softmax(logits) - one_hot(Y)) / n: subtract 1 at each row's correct class, "
              "and divide by the batch size n because the loss is a MEAN")


def test_output_layer(check):
    g = grads(check)
    check("dh", g["dh"], **TOL, msg="dh = dlogits @ W2.T  (shape (n, n_hidden))")
    check("dW2", g["dW2"], **TOL, msg="dW2 = h.T @ dlogits  (shape (n_hidden, vocab_size))")
    check("db2", g["db2"], **TOL, msg="db2 = dlogits.sum(0): b2 is added to every row, so SUM over the batch (not mean)")


def test_tanh(check):
    g = grads(check)
    check("dhpreact", g["dhpreact"], **TOL,
          msg="through tanh: dhpreact = (1 - h**2) * dh, with h the tanh OUTPUT squared (not 1 - h, not 1 - hpreact**2)")


def test_batchnorm_affine(check):
    g = grads(check)
    check("dbngain", g["dbngain"], **TOL,
          msg="dbngain = (bnraw * dhpreact).sum(0, keepdim=True): bngain is broadcast over the batch")
    check("dbnbias", g["dbnbias"], **TOL, msg="dbnbias = dhpreact.sum(0, keepdim=True)")
    check("dbnraw", g["dbnraw"], **TOL, msg="dbnraw = bngain * dhpreact")


def test_batchnorm_statistics(check):
    g = grads(check)
    check("dbnvar_inv", g["dbnvar_inv"], **TOL,
          msg="bnraw = bndiff * bnvar_inv: dbnvar_inv = (bndiff * dbnraw).sum(0, keepdim=True)")
    check("dbnvar", g["dbnvar"], **TOL, msg="bnvar_inv = (bnvar + eps)**-0.5: dbnvar = -0.5 * (bnvar + eps)**-1.5 * dbnvar_inv")
    check("dbndiff", g["dbndiff"], **TOL,
          msg="bndiff is used twice: dbndiff = bnvar_inv * dbnraw + (2 / n) * bndiff * dbnvar "
              "(the variance divides by n here, not n - 1)")
    check("dbnmean", g["dbnmean"], **TOL, msg="bndiff = hprebn - bnmean: dbnmean = -dbndiff.sum(0, keepdim=True)")
    check("dhprebn", g["dhprebn"], **TOL,
          msg="hprebn reaches the loss through bndiff AND through bnmean: dhprebn = dbndiff + dbnmean / n. "
              "Treating the batch mean and variance as constants misses these terms")


def test_first_layer(check):
    g = grads(check)
    check("dembcat", g["dembcat"], **TOL, msg="dembcat = dhprebn @ W1.T")
    check("dW1", g["dW1"], **TOL, msg="dW1 = embcat.T @ dhprebn")
    check("db1", g["db1"], **TOL, msg="db1 = dhprebn.sum(0) (about 0: BatchNorm removes any bias added before it)")


def test_embedding(check):
    g = grads(check)
    check("demb", g["demb"], **TOL, msg="demb is dembcat reshaped back to emb's shape (n, block_size, n_embd)")
    check("dC", g["dC"], **TOL,
          msg="a row of C used k times gets the SUM of k gradients: loop and +=, or dC.index_add_(0, X.view(-1), ...). "
              "dC[X] = demb and dC[X] += demb keep only one of the repeats")


def test_against_autograd(check):
    """Your gradients next to loss.backward()'s, on a fresh batch (look at the printed table)."""
    cache = make_cache(check)
    params = {k: cache[k].clone().requires_grad_() for k in ("C", "W1", "b1", "bngain", "bnbias", "W2", "b2")}
    loss, auto = forward(params, cache["X"], cache["Y"], retain_grad=True)
    loss.backward()
    with torch.no_grad():
        mine = manual_backward(cache)
    print(f"{'tensor':<11} {'allclose':<9} max |difference|")
    for key in ["logits", "h", "W2", "b2", "hpreact", "bngain", "bnbias", "bnraw", "bnvar_inv", "bnvar",
                "bndiff", "bnmean", "hprebn", "embcat", "W1", "b1", "emb", "C"]:
        ref = params[key].grad if key in params else auto[key].grad
        got = mine.get("d" + key)
        ok = got is not None and got.shape == ref.shape and torch.allclose(got, ref, rtol=1e-5, atol=1e-8)
        diff = (got - ref).abs().max().item() if got is not None and got.shape == ref.shape else float("nan")
        print(f"d{key:<10} {str(ok):<9} {diff:.2e}")
    # The table is for you to read; what is graded is your gradients next to the reference's
    # (which match autograd's) on the same batch.
    check("every gradient on a fresh batch", {k: mine.get(k) for k in KEYS}, **TOL,
          msg="at least one gradient differs: the printed table compares each with autograd's (start from the top)")
