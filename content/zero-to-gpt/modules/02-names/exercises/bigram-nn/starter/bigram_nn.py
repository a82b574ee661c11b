"""The bigram model as a one-layer neural network.

names_data (read-only, shared by the whole module) gives you:
    load_words(path), split(words), vocabulary() -> (stoi, itos), bigrams(words)
"""

import torch
import torch.nn.functional as F  # noqa: F401  (one_hot, cross_entropy: use them if you like)

from names_data import bigrams


def bigram_dataset(words, stoi):
    """Return (xs, ys): int64 tensors with one entry per bigram of `words` ('.' at both ends).
    xs[i] is the index of the previous character, ys[i] the index of the next one."""
    xs, ys = [], []
    # TODO: fill xs and ys from bigrams(words)
    return torch.tensor(xs, dtype=torch.int64), torch.tensor(ys, dtype=torch.int64)


def forward_loss(W, xs, ys, reg=0.0):
    """Return the loss as a 0-d tensor that autograd can differentiate:
    the mean over examples of -log softmax(one_hot(xs) @ W)[i, ys[i]], plus reg * (W ** 2).mean()."""
    # TODO: logits -> counts (exp) -> probabilities (normalise each row) -> mean NLL of the targets
    return (W * 0.0).sum()


def train_bigram_nn(xs, ys, steps, lr, reg=0.0, generator=None):
    """Start from W = torch.randn((27, 27), generator=generator, requires_grad=True) and run
    `steps` steps of full-batch gradient descent with learning rate `lr`.
    Return (W, losses): the trained W and the list of the loss (a float) at every step, taken
    before that step's update."""
    W = torch.randn((27, 27), generator=generator, requires_grad=True)
    losses = []
    # TODO: for each step: forward, reset the gradient, backward, update W in place
    return W.detach(), losses
