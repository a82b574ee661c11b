import contextlib

import torch

from backprop_train import cross_entropy_backward, manual_step, train
from names_data import build_dataset, load_words, split, vocabulary
from net import PARAM_NAMES, forward, init_params

TOL = dict(tol=1e-10, rtol=1e-6)
ORDER = ["dlogprobs", "dprobs", "dcounts_sum_inv", "dcounts_sum", "dcounts", "dnorm_logits", "dlogit_maxes", "dlogits"]


@contextlib.contextmanager
def no_autograd():
    calls = []
    saved = torch.Tensor.backward, torch.autograd.backward, torch.autograd.grad

    def refuse(what):
        def refused(*args, **kwargs):
            calls.append(what)
            raise RuntimeError(f"{what} was called during training: the update must use only your own gradients")
        return refused

    torch.Tensor.backward = refuse("loss.backward()")
    torch.autograd.backward = refuse("torch.autograd.backward")
    torch.autograd.grad = refuse("torch.autograd.grad")
    try:
        with torch.no_grad():
            yield calls
    finally:
        torch.Tensor.backward, torch.autograd.backward, torch.autograd.grad = saved


def names(check, block_size, words=slice(None)):
    train_words, _, _ = split(load_words(check.data("names.txt")))
    stoi, _ = vocabulary()
    return build_dataset(train_words[words], block_size, stoi)


def check_ce(check, cache, label):
    with torch.no_grad():
        g = cross_entropy_backward(cache)
    for key in ORDER:
        if key == "dlogit_maxes":
            check(f"{key} ({label})", g[key], tol=1e-12, rtol=0.0,
                  msg="dlogit_maxes is minus the row sums of dnorm_logits: zero up to rounding")
        else:
            check(f"{key} ({label})", g[key], **TOL,
                  msg=f"{key} is wrong here: take n and the shapes from the tensors, and sum over dim 1 "
                      "(within each row) for the (n, 1) tensors")


def test_other_sizes(check):
    X, Y = names(check, 4, slice(-400, None))
    ix = torch.randint(0, X.shape[0], (50,))
    params = init_params(block_size=4, n_embd=6, n_hidden=40, seed=check.seed + 1)
    _, cache = forward(params, X[ix], Y[ix])
    check_ce(check, cache, "batch 50, block 4")


def test_confident_predictions(check):
    """A large W2 makes peaked distributions: tiny probabilities, large dprobs, maxima far above the rest."""
    X, Y = names(check, 3, slice(2000, 2300))
    ix = torch.randint(0, X.shape[0], (24,))
    params = init_params(seed=check.seed + 2)
    params["W2"] = params["W2"] * 25.0
    _, cache = forward(params, X[ix], Y[ix])
    check_ce(check, cache, "confident")


def test_training_other_settings(check):
    X, Y = names(check, 4, slice(0, 8000))
    params = init_params(block_size=4, n_embd=8, n_hidden=48, seed=check.seed + 3)
    ix = torch.randint(0, X.shape[0], (40,))
    with no_autograd() as step_calls:
        _, cache = forward(params, X[ix], Y[ix])
        grads = manual_step(params, cache, 0.05)
    check("autograd calls (one step)", len(step_calls), exact=True, msg="manual_step must not use autograd")
    check("gradients of one step (batch 40, block 4)", {k: grads["d" + k] for k in PARAM_NAMES}, **TOL,
          msg="manual_step's gradients are wrong for other sizes")
    check("parameters after one step (lr 0.05)", {k: params[k] for k in PARAM_NAMES}, **TOL,
          msg="one in-place update per parameter: p -= lr * dp")
    with no_autograd() as calls:
        losses = train(params, X, Y, steps=150, batch_size=50, lr=0.15,
                       generator=torch.Generator().manual_seed(check.seed + 4))
    losses = [float(v) for v in losses]
    check("autograd calls (training)", len(calls), exact=True, msg="train must not use autograd")
    check("minibatch losses (150 steps)", losses, tol=1e-6, rtol=1e-6,
          msg="the training run differs: a new batch from the generator each step, loss recorded before the update, "
              "one update per step")
    check("parameters after 150 steps", {k: params[k] for k in PARAM_NAMES}, tol=1e-8, rtol=1e-6,
          msg="the trained parameters differ from the reference's")
    first, last = sum(losses[:10]) / 10, sum(losses[-10:]) / 10
    check.at_most("mean loss of the last 10 steps minus the first 10", last - first, -0.3,
                  msg="the loss should fall clearly within 150 steps")
