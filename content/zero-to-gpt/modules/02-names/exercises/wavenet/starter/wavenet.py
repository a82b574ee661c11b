"""A WaveNet-style hierarchical language model on names, after makemore part 5.

names_data (read-only, shared by the whole module) gives you:
    load_words(path), split(words), vocabulary() -> (stoi, itos), build_dataset(words, block_size, stoi)

Linear, Tanh, Embedding and Sequential are written for you. Your part: FlattenConsecutive,
BatchNorm1d.__call__ (for 2-D AND 3-D inputs), build_wavenet and train. See the prompt.
"""

import torch
import torch.nn.functional as F


class Linear:
    """y = x @ weight + bias, weight (fan_in, fan_out) drawn from randn / sqrt(fan_in)."""

    def __init__(self, fan_in, fan_out, bias=True, generator=None):
        self.weight = torch.randn((fan_in, fan_out), generator=generator) / fan_in**0.5
        self.bias = torch.zeros(fan_out) if bias else None

    def __call__(self, x):
        out = x @ self.weight
        if self.bias is not None:
            out = out + self.bias
        return out

    def parameters(self):
        return [self.weight] + ([] if self.bias is None else [self.bias])


class BatchNorm1d:
    """Like torch.nn.BatchNorm1d, for (batch, dim) and for (batch, time, dim) inputs."""

    def __init__(self, dim, eps=1e-5, momentum=0.1):
        self.eps = eps
        self.momentum = momentum
        self.training = True
        self.gamma = torch.ones(dim)
        self.beta = torch.zeros(dim)
        self.running_mean = torch.zeros(dim)
        self.running_var = torch.ones(dim)

    def __call__(self, x):
        # TODO: training mode: the mean and BIASED variance of each feature over every dimension but
        #       the last one (dim 0 for (B, C), dims (0, 1) for (B, T, C)); normalise, scale by gamma,
        #       shift by beta; update running_mean / running_var (UNBIASED variance, momentum on the
        #       new batch) without gradient. Eval mode: normalise with the running statistics.
        return x

    def parameters(self):
        return [self.gamma, self.beta]


class Tanh:
    def __call__(self, x):
        return torch.tanh(x)

    def parameters(self):
        return []


class Embedding:
    """A learned lookup table: weight (num_embeddings, embedding_dim), drawn from randn."""

    def __init__(self, num_embeddings, embedding_dim, generator=None):
        self.weight = torch.randn((num_embeddings, embedding_dim), generator=generator)

    def __call__(self, ix):
        return self.weight[ix]

    def parameters(self):
        return [self.weight]


class FlattenConsecutive:
    """(B, T, C) -> (B, T // n, C * n): concatenates each run of n consecutive positions.
    A time dimension of 1 is squeezed away: (B, 1, C * n) -> (B, C * n)."""

    def __init__(self, n):
        self.n = n

    def __call__(self, x):
        # TODO
        return x

    def parameters(self):
        return []


class Sequential:
    def __init__(self, layers):
        self.layers = layers

    def __call__(self, x):
        for layer in self.layers:
            x = layer(x)
        return x

    def parameters(self):
        return [p for layer in self.layers for p in layer.parameters()]


def build_wavenet(vocab_size, block_size, n_embd, n_hidden, generator=None):
    """Embedding(vocab_size, n_embd), then for each of the log2(block_size) levels
    FlattenConsecutive(2), Linear(2 * width, n_hidden, bias=False), BatchNorm1d(n_hidden), Tanh(),
    then Linear(n_hidden, vocab_size) with its weight multiplied by 0.1. Every parameter
    requires grad. Pass generator=generator to the layers that draw random numbers."""
    # TODO: this is the FLAT model of the previous lessons, squashing all block_size characters at
    #       once. Make it hierarchical.
    layers = [
        Embedding(vocab_size, n_embd, generator=generator),
        FlattenConsecutive(block_size),
        Linear(n_embd * block_size, n_hidden, bias=False, generator=generator),
        BatchNorm1d(n_hidden),
        Tanh(),
        Linear(n_hidden, vocab_size, generator=generator),
    ]
    model = Sequential(layers)
    for p in model.parameters():
        p.requires_grad_(True)
    return model


def train(model, X, Y, steps, batch_size, lr_schedule, generator, on_step=None):
    """Minibatch gradient descent on model.parameters(), in place.
    Each step: ix = torch.randint(0, X.shape[0], (batch_size,), generator=generator); the loss is
    F.cross_entropy(model(X[ix]), Y[ix]); reset the gradients; backward; then
    p -= lr_schedule(step) * p.grad for every parameter. Call on_step(step, loss) if given.
    Return the list of the losses (floats) of every step."""
    losses = []
    # TODO
    return losses
