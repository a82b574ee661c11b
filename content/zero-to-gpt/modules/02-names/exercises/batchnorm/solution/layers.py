"""Batch normalisation and a well-scaled initialisation for the names MLP."""

import math

import torch


class BatchNorm1d:
    """Normalises each feature of a (batch, dim) input, like torch.nn.BatchNorm1d."""

    def __init__(self, dim, eps=1e-5, momentum=0.1):
        self.eps = eps
        self.momentum = momentum
        self.training = True
        # learnable scale and shift, trained by backprop
        self.gamma = torch.ones(dim, requires_grad=True)
        self.beta = torch.zeros(dim, requires_grad=True)
        # buffers: estimates of the whole-dataset statistics, never trained by backprop
        self.running_mean = torch.zeros(dim)
        self.running_var = torch.ones(dim)

    def __call__(self, x):
        if self.training:
            n = x.shape[0]
            mean = x.mean(0)
            var = ((x - mean) ** 2).mean(0)  # biased: divide by n
            with torch.no_grad():
                unbiased = var * n / (n - 1)
                m = self.momentum
                self.running_mean = (1 - m) * self.running_mean + m * mean
                self.running_var = (1 - m) * self.running_var + m * unbiased
        else:
            mean, var = self.running_mean, self.running_var
        xhat = (x - mean) / torch.sqrt(var + self.eps)
        return self.gamma * xhat + self.beta

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
    gain = 5 / 3  # the usual gain for tanh
    return {
        "C": torch.randn(vocab_size, n_embd, generator=g),
        "W1": torch.randn(fan_in, n_hidden, generator=g) * gain / math.sqrt(fan_in),
        "b1": torch.randn(n_hidden, generator=g) * 0.01,
        "W2": torch.randn(n_hidden, vocab_size, generator=g) * 0.01,
        "b2": torch.zeros(vocab_size),
    }
