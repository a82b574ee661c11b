"""The bigram model as a one-layer neural network (reference solution)."""

import torch

from names_data import bigrams


def bigram_dataset(words, stoi):
    """Inputs xs (previous character) and targets ys (next character) as int64 tensors."""
    pairs = [(stoi[a], stoi[b]) for a, b in bigrams(words)]
    xs = torch.tensor([p[0] for p in pairs], dtype=torch.int64)
    ys = torch.tensor([p[1] for p in pairs], dtype=torch.int64)
    return xs, ys


def forward_loss(W, xs, ys, reg=0.0):
    """Mean negative log-likelihood of ys under softmax(one_hot(xs) @ W), plus reg * mean(W**2)."""
    logits = W[xs]                      # the same rows one_hot(xs) @ W would pick
    logits = logits - logits.max(dim=1, keepdim=True).values   # for numerical safety only
    log_probs = logits - logits.exp().sum(dim=1, keepdim=True).log()
    data_loss = -log_probs[torch.arange(ys.shape[0]), ys].mean()
    return data_loss + reg * (W ** 2).mean()


def train_bigram_nn(xs, ys, steps, lr, reg=0.0, generator=None):
    """Plain full-batch gradient descent on W, starting from torch.randn((27, 27), generator=...)."""
    W = torch.randn((27, 27), requires_grad=True)
    losses = []
    for _ in range(steps):
        loss = forward_loss(W, xs, ys, reg)
        losses.append(loss.item())
        W.grad = None
        loss.backward()
        with torch.no_grad():
            W -= lr * W.grad
    return W.detach(), losses
