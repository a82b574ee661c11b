"""A GPT on names. The model is your model.py from the `gpt` exercise, unchanged.

One name per row, padded to block_size; a loss that skips the padding; a linearly decaying
learning rate; a dev loss over every character; sampling from the start token to the end token.
Token 0 ('.') is both the start and the end token, as everywhere in this course.
"""

import torch
import torch.nn.functional as F


def build_examples(words, stoi, block_size):
    """One row per name, as two (len(words), block_size) LongTensors (X, Y).

    x: the start token 0, the name's characters, then 0s.
    y: the name's characters, the end token 0, then -1 for every position past the end.
    Raise ValueError for a name that needs more than block_size positions.
    """
    X = torch.zeros((len(words), block_size), dtype=torch.long)
    Y = torch.zeros((len(words), block_size), dtype=torch.long)
    # TODO: fill row i from words[i] (look characters up with stoi).
    return X, Y


def all_logits(model, x):
    """The logits at every position of x, (B, T, vocab_size). (Given.)

    nanoGPT's forward returns every position only when it is given targets, so it gets dummy ones;
    the loss it computes from them is thrown away (it would count the padding)."""
    logits, _ = model(x, torch.zeros_like(x))
    return logits


def loss_fn(logits, targets):
    """Mean cross-entropy over the positions whose target is not -1.

    logits: (B, T, vocab_size), targets: (B, T)."""
    # TODO: skip the padding. This placeholder scores every position as if -1 were the token 0.
    return F.cross_entropy(logits.reshape(-1, logits.size(-1)), targets.reshape(-1).clamp(min=0))


def lr_at(step, config):
    """The learning rate of `step`: config["learning_rate"] at step 0, falling in a straight line to
    config["min_lr"] at the last step, config["max_steps"] - 1, and min_lr after that."""
    # TODO
    return config["learning_rate"]


def make_optimizer(model, config):
    """AdamW with makemore's betas; weight decay on the matrices only (nanoGPT's two groups). (Given.)"""
    decay, no_decay = [], []
    for p in model.parameters():
        (decay if p.dim() >= 2 else no_decay).append(p)
    groups = [
        {"params": decay, "weight_decay": config["weight_decay"]},
        {"params": no_decay, "weight_decay": 0.0},
    ]
    return torch.optim.AdamW(groups, lr=config["learning_rate"], betas=(0.9, 0.99), eps=1e-8)


def train(model, X, Y, config, generator, log=None):
    """Train `model` in place on random rows of (X, Y) for config["max_steps"] steps.

    Returns the list of the training losses (floats); calls log(step, loss) after every step if given."""
    optimizer = make_optimizer(model, config)
    losses = []
    for step in range(config["max_steps"]):
        ix = torch.randint(0, X.shape[0], (config["batch_size"],), generator=generator)
        loss = loss_fn(all_logits(model, X[ix]), Y[ix])
        # TODO: train mode, the scheduled learning rate, zero_grad, backward, step.
        losses.append(loss.item())
        if log is not None:
            log(step, losses[-1])
    return losses


def dev_loss(model, X, Y, batch_size=500):
    """Mean loss per character over every name of (X, Y), in eval mode, without gradients.
    Leave the model in the mode it came in."""
    # TODO: eval mode, no_grad, batches, one mean over all real targets.
    return loss_fn(all_logits(model, X), Y).item()


def sample(model, itos, num, block_size, generator, temperature=1.0):
    """`num` names, one at a time: start from a context holding the start token 0, draw one token per
    step with torch.multinomial(..., generator=generator) until the end token 0 (not part of the
    name) or until block_size draws. Returns a list of strings."""
    # TODO
    return ["" for _ in range(num)]
