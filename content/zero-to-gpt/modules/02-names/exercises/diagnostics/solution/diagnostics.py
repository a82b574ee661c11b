"""Diagnosing a deep tanh MLP on names, after makemore part 3 (reference solution).

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
    layers, fan_in = [], block_size * n_embd
    for _ in range(n_layers):
        # with BatchNorm the bias is useless: the batch mean removes it, and beta takes its place
        layers.append(Linear(fan_in, n_hidden, bias=not batchnorm, generator=g))
        if batchnorm:
            layers.append(BatchNorm1d(n_hidden))
        layers.append(Tanh())
        fan_in = n_hidden
    layers.append(Linear(fan_in, vocab_size, generator=g))
    model = DeepMLP(C, layers)
    if init == "kaiming":
        with torch.no_grad():
            for layer in model.linears()[:-1]:
                fan = layer.weight.shape[0]
                layer.weight *= gain / fan**0.5
            out = model.linears()[-1]
            out.weight *= 0.1 / out.weight.shape[0] ** 0.5  # a quiet output layer: loss ~ ln(vocab)
    elif init != "bad":
        raise ValueError(f"unknown init {init!r}")
    for p in model.parameters():
        p.requires_grad_(True)
    return model


def forward_backward(model, X, Y):
    """One forward and backward pass in training mode; keeps the gradient of every layer output."""
    model.train()  # the statistics the gradient sees: BatchNorm uses the batch's own mean and variance
    logits = model(X)
    for t in model.outs:
        t.retain_grad()  # outs are not leaves: autograd frees their .grad unless asked to keep it
    loss = F.cross_entropy(logits, Y)
    for p in model.parameters():
        p.grad = None
    loss.backward()
    return loss.item()


def layer_stats(model):
    """One dict per Tanh layer, from the last forward_backward: the activations' mean, std and
    saturation (% of |t| > 0.97), and the mean and std of their gradient."""
    stats = []
    for layer, t in zip(model.layers, model.outs):
        if isinstance(layer, Tanh):
            stats.append({
                "mean": t.mean().item(),
                "std": t.std().item(),
                "saturated": (t.abs() > 0.97).float().mean().item() * 100,
                "grad_mean": t.grad.mean().item(),
                "grad_std": t.grad.std().item(),
            })
    return stats


def update_ratios(model, lr):
    """log10 of (size of the SGD update) / (size of the data) for every Linear weight:
    log10(lr * weight.grad.std() / weight.std()). About -3 is healthy."""
    ratios = []
    for layer in model.linears():
        w = layer.weight
        ratios.append(torch.log10(lr * w.grad.std() / w.data.std()).item())
    return ratios


def train(model, X, Y, steps, batch_size, lr, generator, every=100, on_record=None):
    """Minibatch SGD; every `every` steps (from step 0) the update ratios are recorded just before
    that step's update. Returns (losses, records), records a list of (step, ratios)."""
    losses, records = [], []
    params = model.parameters()
    for step in range(steps):
        ix = torch.randint(0, X.shape[0], (batch_size,), generator=generator)
        loss = forward_backward(model, X[ix], Y[ix])
        if step % every == 0:
            ratios = update_ratios(model, lr)
            records.append((step, ratios))
            if on_record is not None:
                on_record(step, ratios)
        with torch.no_grad():
            for p in params:
                p -= lr * p.grad
        losses.append(loss)
    return losses, records
