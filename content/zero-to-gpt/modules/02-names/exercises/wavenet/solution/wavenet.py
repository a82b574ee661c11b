"""A WaveNet-style hierarchical language model on names, after makemore part 5 (reference solution)."""

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
        if self.training:
            # every position of every sequence is one more example of each feature
            dims = tuple(range(x.ndim - 1))  # (0,) for 2-D input, (0, 1) for 3-D input
            n = x.numel() // x.shape[-1]
            mean = x.mean(dims)
            var = ((x - mean) ** 2).mean(dims)  # biased: divide by n
            with torch.no_grad():
                m = self.momentum
                self.running_mean = (1 - m) * self.running_mean + m * mean
                self.running_var = (1 - m) * self.running_var + m * var * n / (n - 1)
        else:
            mean, var = self.running_mean, self.running_var
        xhat = (x - mean) / torch.sqrt(var + self.eps)
        return self.gamma * xhat + self.beta

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
        B, T, C = x.shape
        x = x.view(B, T // self.n, C * self.n)
        if x.shape[1] == 1:
            x = x.squeeze(1)
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
    """Embedding, then log2(block_size) levels of FlattenConsecutive(2) -> Linear (no bias) ->
    BatchNorm1d -> Tanh, then the output Linear with its weight scaled by 0.1."""
    layers = [Embedding(vocab_size, n_embd, generator=generator)]
    width, T = n_embd, block_size
    while T > 1:
        layers += [FlattenConsecutive(2), Linear(width * 2, n_hidden, bias=False, generator=generator),
                   BatchNorm1d(n_hidden), Tanh()]
        width, T = n_hidden, T // 2
    layers.append(Linear(width, vocab_size, generator=generator))
    model = Sequential(layers)
    with torch.no_grad():
        model.layers[-1].weight *= 0.1  # a quiet output layer: the first loss is about ln(vocab_size)
    for p in model.parameters():
        p.requires_grad_(True)
    return model


def train(model, X, Y, steps, batch_size, lr_schedule, generator, on_step=None):
    """Minibatch SGD on the model's parameters (in place); returns the loss of every step."""
    params = model.parameters()
    losses = []
    for step in range(steps):
        ix = torch.randint(0, X.shape[0], (batch_size,), generator=generator)
        loss = F.cross_entropy(model(X[ix]), Y[ix])
        for p in params:
            p.grad = None
        loss.backward()
        lr = lr_schedule(step)
        with torch.no_grad():
            for p in params:
                p -= lr * p.grad
        losses.append(loss.item())
        if on_step is not None:
            on_step(step, losses[-1])
    return losses
