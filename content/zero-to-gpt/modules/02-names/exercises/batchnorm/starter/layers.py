"""Batch normalisation and a well-scaled initialisation for the names MLP."""

import math

import torch


class BatchNorm1d:
    """Normalises each feature of a (batch, dim) input, like torch.nn.BatchNorm1d."""

    def __init__(self, dim, eps=1e-5, momentum=0.1):
        self.eps = eps
        self.momentum = momentum
        self.training = True
        # TODO: the learnable gain and bias, self.gamma and self.beta (shape (dim,),
        #       requires_grad=True), and the buffers self.running_mean and self.running_var
        #       (shape (dim,), no gradient). What values should each start at?
        self.gamma = None
        self.beta = None
        self.running_mean = None
        self.running_var = None

    def __call__(self, x):
        # TODO: in training mode, normalise x (shape (batch, dim)) with the mean and the
        #       BIASED variance of this batch, and update the running statistics
        #       (unbiased variance, weight `momentum` on the new batch, no gradient).
        #       In eval mode, normalise with the running statistics instead.
        #       Either way, finish with gamma * xhat + beta.
        return x

    def parameters(self):
        return [self.gamma, self.beta]

    def train(self):
        self.training = True
        return self

    def eval(self):
        self.training = False
        return self


def init_mlp(vocab_size, block_size, n_embd, n_hidden, generator=None):
    """Parameters of the names MLP, scaled so that training starts from a sensible place."""
    g = generator
    fan_in = block_size * n_embd
    # TODO: this is the naive initialisation: every tensor drawn from a standard normal.
    #       Measure its first loss and tanh saturation, then scale W1, b1, W2 and b2.
    return {
        "C": torch.randn(vocab_size, n_embd, generator=g),
        "W1": torch.randn(fan_in, n_hidden, generator=g),
        "b1": torch.randn(n_hidden, generator=g),
        "W2": torch.randn(n_hidden, vocab_size, generator=g),
        "b2": torch.randn(vocab_size, generator=g),
    }
