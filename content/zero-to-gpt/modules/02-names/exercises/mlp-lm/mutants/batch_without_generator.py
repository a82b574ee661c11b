"""A character-level MLP language model after Bengio et al. (2003) (reference solution)."""

import torch
import torch.nn.functional as F


def init_params(vocab_size, block_size, n_embd, n_hidden, generator):
    """The five parameter tensors, drawn from `generator`, ready for autograd."""
    fan_in = block_size * n_embd
    params = {
        "C": torch.randn((vocab_size, n_embd), generator=generator),
        "W1": torch.randn((fan_in, n_hidden), generator=generator) / fan_in**0.5,
        "b1": torch.randn((n_hidden,), generator=generator) * 0.01,
        "W2": torch.randn((n_hidden, vocab_size), generator=generator) * 0.01,
        "b2": torch.zeros((vocab_size,)),
    }
    for p in params.values():
        p.requires_grad_(True)
    return params


def forward(params, X):
    """Logits (batch, vocab_size) for a batch of contexts X (batch, block_size)."""
    emb = params["C"][X]                          # (batch, block_size, n_embd)
    flat = emb.reshape(X.shape[0], -1)            # concatenate the context's embeddings
    h = torch.tanh(flat @ params["W1"] + params["b1"])
    return h @ params["W2"] + params["b2"]


def train(params, X, Y, steps, batch_size, lr_schedule, generator, on_step=None):
    """Minibatch SGD on params (updated in place); returns the minibatch loss of every step."""
    losses = []
    for step in range(steps):
        ix = torch.randint(0, X.shape[0], (batch_size,))
        loss = F.cross_entropy(forward(params, X[ix]), Y[ix])
        for p in params.values():
            p.grad = None
        loss.backward()
        lr = lr_schedule(step)
        with torch.no_grad():
            for p in params.values():
                p -= lr * p.grad
        losses.append(loss.item())
        if on_step is not None:
            on_step(step, losses[-1])
    return losses
