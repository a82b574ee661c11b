"""The cross-entropy backward one operation at a time, and training with hand-written gradients."""

import torch

from net import PARAM_NAMES, backward_from_logits, forward


def cross_entropy_backward(cache):
    """Gradients of the loss with respect to every step of the cross-entropy in net.forward.

    Returns a dict with dlogprobs, dprobs, dcounts_sum_inv, dcounts_sum, dcounts, dnorm_logits,
    dlogit_maxes and dlogits, each the shape of its tensor."""
    Y, logits = cache["Y"], cache["logits"]
    counts, counts_sum, counts_sum_inv = cache["counts"], cache["counts_sum"], cache["counts_sum_inv"]
    probs = cache["probs"]
    n = logits.shape[0]

    # loss = -logprobs[range(n), Y].mean(): only the picked entries matter, each with weight -1/n
    dlogprobs = torch.zeros_like(cache["logprobs"])
    dlogprobs[torch.arange(n), Y] = -1.0 / n
    # logprobs = probs.log()
    dprobs = dlogprobs / probs
    # probs = counts * counts_sum_inv: counts_sum_inv (n, 1) is broadcast over the columns
    dcounts_sum_inv = (counts * dprobs).sum(1, keepdim=True)
    dcounts = counts_sum_inv * dprobs
    # counts_sum_inv = counts_sum ** -1
    dcounts_sum = -counts_sum**-2 * dcounts_sum_inv
    # counts_sum = counts.sum(1): the second path into counts, every column gets dcounts_sum
    dcounts = dcounts + dcounts_sum
    # counts = norm_logits.exp()
    dnorm_logits = counts * dcounts
    # norm_logits = logits - logit_maxes: logits directly, logit_maxes (broadcast) summed with a minus
    dlogits = dnorm_logits.clone()
    dlogit_maxes = -dnorm_logits.sum(1, keepdim=True)
    # logit_maxes = logits.max(1): the gradient goes to the position of each row's maximum
    dlogits[torch.arange(n), logits.argmax(1)] += dlogit_maxes.view(-1)
    return {"dlogprobs": dlogprobs, "dprobs": dprobs, "dcounts_sum_inv": dcounts_sum_inv,
            "dcounts_sum": dcounts_sum, "dcounts": dcounts, "dnorm_logits": dnorm_logits,
            "dlogit_maxes": dlogit_maxes, "dlogits": dlogits}


def manual_step(params, cache, lr):
    """One step of gradient descent with hand-written gradients, in place on params.

    Returns the gradients it used: {"dC": ..., "dW1": ..., "db1": ..., "dW2": ..., "db2": ...}."""
    dlogits = cross_entropy_backward(cache)["dlogits"]
    grads = backward_from_logits(cache, dlogits)
    for name in PARAM_NAMES:
        params[name] -= lr * grads["d" + name]
    return grads


def train(params, X, Y, steps, batch_size, lr, generator):
    """Minibatch gradient descent with manual_step; returns the loss (a float) of every step."""
    losses = []
    for _ in range(steps):
        ix = torch.randint(0, X.shape[0], (batch_size,), generator=generator)
        loss, cache = forward(params, X[ix], Y[ix])
        manual_step(params, cache, lr)
        losses.append(loss.item())
    return losses
