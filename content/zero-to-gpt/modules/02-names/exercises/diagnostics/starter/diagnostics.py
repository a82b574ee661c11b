"""Diagnosing a deep tanh MLP on names, after makemore part 3.

names_data (read-only, shared by the whole module) gives you:
    load_words(path), split(words), vocabulary() -> (stoi, itos), build_dataset(words, block_size, stoi)
layers.py is your own BatchNorm1d from the batchnorm exercise (read-only here).

Linear, Tanh and DeepMLP are written for you. Your part: build_deep_mlp, forward_backward,
layer_stats, update_ratios and train. See the prompt.
"""

import torch
import torch.nn.functional as F

from layers import BatchNorm1d


class Linear:
    """y = x @ weight (+ bias). The weight is drawn from a plain standard normal: choosing its
    scale is build_deep_mlp's job."""

    def __init__(self, fan_in, fan_out, bias=True, generator=None):
        self.weight = torch.randn((fan_in, fan_out), generator=generator)
        self.bias = torch.zeros(fan_out) if bias else None

    def __call__(self, x):
        out = x @ self.weight
        if self.bias is not None:
            out = out + self.bias
        return out

    def parameters(self):
        return [self.weight] + ([] if self.bias is None else [self.bias])


class Tanh:
    def __call__(self, x):
        return torch.tanh(x)

    def parameters(self):
        return []


class DeepMLP:
    """Embedding table C, then `layers` called in order. Every forward pass keeps each layer's
    output in self.outs (outs[i] is the output of layers[i]), so that it can be inspected."""

    def __init__(self, C, layers):
        self.C = C
        self.layers = layers
        self.outs = []

    def __call__(self, X):
        x = self.C[X].view(X.shape[0], -1)  # concatenate the context's embeddings
        self.outs = []
        for layer in self.layers:
            x = layer(x)
            self.outs.append(x)
        return x

    def parameters(self):
        return [self.C] + [p for layer in self.layers for p in layer.parameters()]

    def linears(self):
        return [layer for layer in self.layers if isinstance(layer, Linear)]

    def train(self):
        for layer in self.layers:
            if isinstance(layer, BatchNorm1d):
                layer.train()
        return self

    def eval(self):
        for layer in self.layers:
            if isinstance(layer, BatchNorm1d):
                layer.eval()
        return self


def build_deep_mlp(vocab_size, block_size, n_embd, n_hidden, n_layers=5, batchnorm=False, init="kaiming",
                   gain=5 / 3, generator=None):
    """n_layers hidden blocks Linear -> [BatchNorm1d] -> Tanh, then an output Linear.

    init="kaiming": hidden weights * gain / sqrt(fan_in), output weight * 0.1 / sqrt(fan_in).
    init="bad": every weight left at its plain randn scale (no gain, no 1/sqrt(fan_in))."""
    g = generator
    C = torch.randn((vocab_size, n_embd), generator=g)
    # TODO: n_layers blocks of Linear (bias=False with BatchNorm), BatchNorm1d(n_hidden) if batchnorm,
    #       Tanh(); then the output Linear(n_hidden, vocab_size). Create the Linears in this order, each
    #       with generator=g. For now there is a single hidden block.
    layers = [Linear(block_size * n_embd, n_hidden, generator=g), Tanh(), Linear(n_hidden, vocab_size, generator=g)]
    model = DeepMLP(C, layers)
    # TODO: for init="kaiming", scale the weights under torch.no_grad(): gain / sqrt(fan_in) for the hidden
    #       Linears, 0.1 / sqrt(fan_in) for the output one. init="bad" keeps every weight as drawn.
    for p in model.parameters():
        p.requires_grad_(True)
    return model


def forward_backward(model, X, Y):
    """One forward and backward pass in training mode; keeps the gradient of every layer output."""
    # TODO: training mode; keep the gradient of every tensor in model.outs (they are not leaves);
    #       reset every parameter's gradient before backward().
    logits = model(X)
    loss = F.cross_entropy(logits, Y)
    loss.backward()
    return loss.item()


def layer_stats(model):
    """One dict per Tanh layer, from the last forward_backward: the activations' mean, std and
    saturation (% of |t| > 0.97), and the mean and std of their gradient."""
    # TODO: for each Tanh layer, its output t = model.outs[i]:
    #       {"mean": ..., "std": ..., "saturated": ..., "grad_mean": ..., "grad_std": ...} (Python floats)
    return []


def update_ratios(model, lr):
    """log10 of (size of the SGD update) / (size of the data) for every Linear weight:
    log10(lr * weight.grad.std() / weight.std()). About -3 is healthy."""
    # TODO: one float per Linear layer, in order, the output layer included
    return []


def train(model, X, Y, steps, batch_size, lr, generator, every=100, on_record=None):
    """Minibatch SGD; every `every` steps (from step 0) the update ratios are recorded just before
    that step's update. Returns (losses, records), records a list of (step, ratios)."""
    losses, records = [], []
    # TODO: for each step: a torch.randint minibatch, forward_backward, record the ratios (and call
    #       on_record) when step % every == 0, then p -= lr * p.grad for every parameter.
    return losses, records
