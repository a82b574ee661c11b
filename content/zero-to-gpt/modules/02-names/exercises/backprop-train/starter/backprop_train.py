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
    z = torch.zeros_like

    # Every gradient starts as zeros of the right shape. Replace each TODO with its formula,
    # from the loss upwards; each line may use the gradients above it.

    # TODO loss = -logprobs[range(n), Y].mean()
    dlogprobs = z(cache["logprobs"])
    # TODO logprobs = probs.log()
    dprobs = z(probs)
    # TODO probs = counts * counts_sum_inv   (counts_sum_inv is (n, 1), broadcast over the columns)
    dcounts_sum_inv = z(counts_sum_inv)
    dcounts = z(counts)
    # TODO counts_sum_inv = counts_sum ** -1
    dcounts_sum = z(counts_sum)
    # TODO counts_sum = counts.sum(1, keepdim=True): the second use of counts
    # TODO counts = norm_logits.exp()
    dnorm_logits = z(cache["norm_logits"])
    # TODO norm_logits = logits - logit_maxes, and logit_maxes = logits.max(1, keepdim=True).values
    dlogit_maxes = z(cache["logit_maxes"])
    dlogits = z(logits)
    return {"dlogprobs": dlogprobs, "dprobs": dprobs, "dcounts_sum_inv": dcounts_sum_inv,
            "dcounts_sum": dcounts_sum, "dcounts": dcounts, "dnorm_logits": dnorm_logits,
            "dlogit_maxes": dlogit_maxes, "dlogits": dlogits}


def manual_step(params, cache, lr):
    """One step of gradient descent with hand-written gradients, in place on params.

    Returns the gradients it used: {"dC": ..., "dW1": ..., "db1": ..., "dW2": ..., "db2": ...}."""
    dlogits = cross_entropy_backward(cache)["dlogits"]
    grads = backward_from_logits(cache, dlogits)
    # TODO update every parameter in PARAM_NAMES with its gradient
    return grads


def train(params, X, Y, steps, batch_size, lr, generator):
    """Minibatch gradient descent with manual_step; returns the loss (a float) of every step."""
    losses = []
    # TODO for each step: draw a batch with the generator, run forward, take a manual_step,
    #      and record the loss
    return losses
