"""A character-level MLP language model after Bengio et al. (2003).

names_data (read-only, shared by the whole module) gives you:
    load_words(path), split(words), vocabulary() -> (stoi, itos), build_dataset(words, block_size, stoi)
"""

import torch
import torch.nn.functional as F


def init_params(vocab_size, block_size, n_embd, n_hidden, generator):
    """Return {"C", "W1", "b1", "W2", "b2"}: leaf tensors with requires_grad=True, every random
    number drawn with generator=generator.
        C  (vocab_size, n_embd)               the embedding table
        W1 (block_size * n_embd, n_hidden)    b1 (n_hidden,)
        W2 (n_hidden, vocab_size)             b2 (vocab_size,)
    """
    params = {
        "C": torch.randn((vocab_size, n_embd), generator=generator),
        "W1": torch.randn((block_size * n_embd, n_hidden), generator=generator),
        "b1": torch.randn((n_hidden,), generator=generator),
        "W2": torch.randn((n_hidden, vocab_size), generator=generator),
        "b2": torch.randn((vocab_size,), generator=generator),
    }
    # TODO: scale W1 by 1 / sqrt(block_size * n_embd), b1 by 0.01, W2 by 0.01, and start b2 at 0,
    #       so the untrained model guesses almost uniformly (see the lesson).
    for p in params.values():
        p.requires_grad_(True)
    return params


def forward(params, X):
    """Return the logits (batch, vocab_size) for contexts X, an int64 tensor (batch, block_size)."""
    # TODO: look up the embeddings C[X], concatenate each context's embeddings into one row,
    #       hidden layer tanh(. @ W1 + b1), output layer . @ W2 + b2
    return torch.zeros((X.shape[0], params["C"].shape[0]))


def train(params, X, Y, steps, batch_size, lr_schedule, generator, on_step=None):
    """Minibatch gradient descent, updating the tensors of `params` in place.
    Each step: ix = torch.randint(0, X.shape[0], (batch_size,), generator=generator); the loss is
    F.cross_entropy(forward(params, X[ix]), Y[ix]); reset the gradients; backward; then
    p -= lr_schedule(step) * p.grad for every parameter. Call on_step(step, loss) if given.
    Return the list of the losses (floats) of every step."""
    losses = []
    # TODO
    return losses
