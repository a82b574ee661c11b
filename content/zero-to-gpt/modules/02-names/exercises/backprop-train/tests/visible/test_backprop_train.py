import contextlib

import torch
import torch.nn.functional as F

from backprop_train import cross_entropy_backward, manual_step, train
from names_data import build_dataset, load_words, split, vocabulary
from net import PARAM_NAMES, forward, init_params

TOL = dict(tol=1e-10, rtol=1e-6)
KEYS = ["dlogprobs", "dprobs", "dcounts_sum_inv", "dcounts_sum", "dcounts", "dnorm_logits", "dlogit_maxes", "dlogits"]


def names(check, part="train", n_words=300):
    """Contexts of 3 characters from the first n_words training names (or from all the dev names)."""
    train_words, dev_words, _ = split(load_words(check.data("names.txt")))
    stoi, _ = vocabulary()
    return build_dataset(dev_words if part == "dev" else train_words[:n_words], 3, stoi)


def make_cache(check, n=32):
    """A batch of n contexts from the training names and the forward pass on it."""
    X, Y = names(check)
    ix = torch.randint(0, X.shape[0], (n,))
    _, cache = forward(init_params(seed=check.seed), X[ix], Y[ix])
    return cache


def ce_grads(check):
    with torch.no_grad():
        g = cross_entropy_backward(make_cache(check))
    if not isinstance(g, dict):
        raise TypeError(f"cross_entropy_backward must return a dict of gradients, not {type(g).__name__}")
    return g


@contextlib.contextmanager
def no_autograd():
    """Runs the learner's training code with autograd off and every way into it refused."""
    calls = []
    saved = torch.Tensor.backward, torch.autograd.backward, torch.autograd.grad

    def refuse(what):
        def refused(*args, **kwargs):
            calls.append(what)
            raise RuntimeError(f"{what} was called during training: the update must use only your own "
                               "gradients (cross_entropy_backward and backward_from_logits)")
        return refused

    torch.Tensor.backward = refuse("loss.backward()")
    torch.autograd.backward = refuse("torch.autograd.backward")
    torch.autograd.grad = refuse("torch.autograd.grad")
    try:
        with torch.no_grad():
            yield calls
    finally:
        torch.Tensor.backward, torch.autograd.backward, torch.autograd.grad = saved


def autograd_grads(params, X, Y):
    """The gradients loss.backward() gives for the five parameters (the test's own, outside your code)."""
    leaves = {k: v.detach().clone().requires_grad_() for k, v in params.items()}
    loss, _ = forward(leaves, X, Y)
    loss.backward()
    return {k: leaves[k].grad for k in PARAM_NAMES}


def test_runs(check):
    g = ce_grads(check)
    check("keys", sorted(g), exact=True, msg="return a dict with exactly the 8 keys listed in the prompt")
    check("shapes", {k: list(v.shape) if hasattr(v, "shape") else repr(v) for k, v in g.items()}, exact=True,
          msg="every gradient has the shape of its tensor: dcounts_sum_inv, dcounts_sum and dlogit_maxes "
              "are (n, 1), the others (n, vocab_size)")


def test_loss_to_probs(check):
    g = ce_grads(check)
    check("dlogprobs", g["dlogprobs"], **TOL,
          msg="the loss picks one entry per row and takes minus the mean: dlogprobs is -1/n at [i, Y[i]] "
              "and 0 everywhere else")
    check("dprobs", g["dprobs"], **TOL, msg="logprobs = probs.log(): dprobs = dlogprobs / probs")


def test_counts(check):
    g = ce_grads(check)
    check("dcounts_sum_inv", g["dcounts_sum_inv"], **TOL,
          msg="probs = counts * counts_sum_inv, with counts_sum_inv (n, 1) broadcast over the columns: "
              "dcounts_sum_inv = (counts * dprobs).sum(1, keepdim=True)")
    check("dcounts_sum", g["dcounts_sum"], **TOL,
          msg="counts_sum_inv = counts_sum**-1, whose derivative is -counts_sum**-2: mind the sign and the power")
    check("dcounts", g["dcounts"], **TOL,
          msg="counts is used twice, in probs AND in counts_sum: dcounts = counts_sum_inv * dprobs + dcounts_sum "
              "(the sum copies dcounts_sum to every column)")


def test_logits(check):
    cache = make_cache(check)
    with torch.no_grad():
        g = cross_entropy_backward(cache)
    n = cache["logits"].shape[0]
    fused = (torch.softmax(cache["logits"], 1) - F.one_hot(cache["Y"], cache["logits"].shape[1])) / n
    check("dnorm_logits", g["dnorm_logits"], **TOL, msg="counts = norm_logits.exp(): dnorm_logits = counts * dcounts")
    check("dlogit_maxes", g["dlogit_maxes"], tol=1e-12, rtol=0.0,
          msg="dlogit_maxes = -dnorm_logits.sum(1, keepdim=True); it should be about 1e-17, zero up to rounding, "
              "because subtracting the same number from a row of logits does not change its softmax")
    check("dlogits", g["dlogits"], **TOL,
          msg="logits reach the loss directly (dnorm_logits) and through the row maximum: add dlogit_maxes at "
              "each row's argmax")
    check("dlogits step by step minus the fused formula", g["dlogits"] - fused, tol=1e-12, rtol=0.0,
          msg="your chain must add up to (softmax(logits) - one_hot(Y)) / n; the first wrong gradient above "
              "tells you where it goes off")


def test_against_autograd(check):
    """Your cross-entropy gradients next to loss.backward()'s on a fresh batch (read the printed table)."""
    cache = make_cache(check, n=48)
    params = {k: cache[k].clone().requires_grad_() for k in PARAM_NAMES}
    _, auto = forward(params, cache["X"], cache["Y"], retain_grad=True)
    auto["loss"].backward()
    with torch.no_grad():
        mine = cross_entropy_backward(cache)
    print(f"{'tensor':<16} {'allclose':<9} max |difference|")
    for key in KEYS:
        ref, got = auto[key[1:]].grad, mine.get(key)
        same_shape = got is not None and got.shape == ref.shape
        ok = same_shape and torch.allclose(got, ref, rtol=1e-6, atol=1e-10)
        diff = (got - ref).abs().max().item() if same_shape else float("nan")
        print(f"{key:<16} {str(ok):<9} {diff:.2e}")
    check("every cross-entropy gradient on a fresh batch", {k: mine.get(k) for k in KEYS}, **TOL,
          msg="at least one gradient differs: the printed table compares each with autograd's (start from the top)")


def test_manual_step(check):
    X, Y = names(check)
    ix = torch.randint(0, X.shape[0], (32,))
    params = init_params(seed=check.seed)
    auto = autograd_grads(params, X[ix], Y[ix])
    with no_autograd() as calls:
        _, cache = forward(params, X[ix], Y[ix])
        grads = manual_step(params, cache, 0.1)
    check("autograd calls in manual_step", len(calls), exact=True,
          msg="manual_step must not call loss.backward() or torch.autograd")
    check("gradients manual_step returned", {k: grads["d" + k] for k in PARAM_NAMES}, **TOL,
          msg="return the gradients backward_from_logits gives for YOUR dlogits, keyed dC, dW1, db1, dW2, db2")
    check("gradients minus autograd's", {k: grads["d" + k] - auto[k] for k in PARAM_NAMES}, tol=1e-12, rtol=0.0,
          msg="your gradients should equal loss.backward()'s up to rounding: is dlogits right?")
    check("parameters after one step (lr 0.1)", {k: params[k] for k in PARAM_NAMES}, **TOL,
          msg="update every parameter in place, params[k] -= lr * grads['d' + k], once, downhill (minus)")


def test_steps_against_autograd(check):
    """Five steps of manual_step; before each the test asks autograd for the gradients too."""
    X, Y = names(check)
    params = init_params(seed=check.seed)
    print("step  loss      max |your gradient - autograd's|")
    for step in range(5):
        ix = torch.randint(0, X.shape[0], (32,))
        auto = autograd_grads(params, X[ix], Y[ix])
        with no_autograd():
            loss, cache = forward(params, X[ix], Y[ix])
            grads = manual_step(params, cache, 0.5)
        diff = {k: grads["d" + k] - auto[k] for k in PARAM_NAMES}
        print(f"{step:<5} {loss.item():.6f}  {max(d.abs().max().item() for d in diff.values()):.2e}")
        check(f"step {step}: gradients minus autograd's", diff, tol=1e-12, rtol=0.0,
              msg="from this step on your gradients differ from loss.backward()'s")
        check(f"step {step}: parameters after the update", {k: params[k] for k in PARAM_NAMES}, **TOL,
              msg="the parameters drift away from the reference's: one update per step, p -= lr * dp, in place")


def test_training_run(check):
    """300 steps of minibatch gradient descent with your gradients only; the loss must fall."""
    X, Y = names(check, n_words=8000)
    Xdev, Ydev = names(check, part="dev")
    params = init_params(seed=check.seed)
    with no_autograd() as calls:
        losses = train(params, X, Y, steps=300, batch_size=64, lr=0.3, generator=torch.Generator().manual_seed(check.seed))
    losses = [float(v) for v in losses]
    for step in range(0, len(losses), 10):
        check.metric("minibatch loss", step, losses[step])
    with torch.no_grad():
        dev_loss = F.cross_entropy(forward(params, Xdev, Ydev)[1]["logits"], Ydev).item()
    last = sum(losses[-50:]) / max(1, len(losses[-50:]))
    print(f"first minibatch loss {losses[0] if losses else float('nan'):.4f}, mean of the last 50 {last:.4f}, "
          f"dev loss {dev_loss:.4f}")
    check("autograd calls in train", len(calls), exact=True, msg="train must not call loss.backward() or torch.autograd")
    check("number of losses", len(losses), exact=True, msg="return one loss per step")
    check.at_most("mean minibatch loss of the last 50 steps", last, 2.6,
                  msg="the loss does not fall as it should: is every step's batch new, and every update downhill?")
    check.at_most("dev loss after 300 steps", dev_loss, 2.6,
                  msg="after 300 steps the dev loss should be well below its starting value of about 3.4")
    check("minibatch losses", losses, tol=1e-6, rtol=1e-6,
          msg="draw each batch with torch.randint(0, X.shape[0], (batch_size,), generator=generator) inside the "
              "loop, record the loss before the step, and make one update per step")
    check("dev loss (the reference's)", dev_loss, tol=1e-6, rtol=1e-6,
          msg="the trained parameters differ from the reference's: see the minibatch losses")
