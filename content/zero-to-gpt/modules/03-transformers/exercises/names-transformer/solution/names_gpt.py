"""A GPT on names (reference solution).

The model is model.py from the `gpt` exercise, unchanged. What is new is everything around it:
one name per row, padded to block_size; a loss that skips the padding; a linearly decaying
learning rate; a dev loss over every character of the dev names; and sampling that starts from
the start token and stops at the end token.
"""

import torch
import torch.nn.functional as F


def build_examples(words, stoi, block_size):
    """One row per name, as two (len(words), block_size) LongTensors.

    x is the start token 0 followed by the name, padded with 0; y is the name followed by the end
    token 0, padded with -1. So y[i, t] is the character that follows x[i, :t + 1], and every
    position past the end of the name has the target -1, which the loss ignores.
    """
    X = torch.zeros((len(words), block_size), dtype=torch.long)
    Y = torch.full((len(words), block_size), -1, dtype=torch.long)
    for i, word in enumerate(words):
        ids = [stoi[ch] for ch in word]
        if len(ids) + 1 > block_size:
            raise ValueError(f"{word!r} needs {len(ids) + 1} positions, block_size is {block_size}")
        X[i, : len(ids) + 1] = torch.tensor([0] + ids)
        Y[i, : len(ids) + 1] = torch.tensor(ids + [0])
    return X, Y


def all_logits(model, x):
    """The logits at every position of x, (B, T, vocab_size).

    nanoGPT's forward returns every position only when it is given targets, so it gets dummy ones;
    the loss it computes from them is thrown away (it would count the padding)."""
    logits, _ = model(x, torch.zeros_like(x))
    return logits


def loss_fn(logits, targets):
    """Mean cross-entropy over the positions whose target is a real character (not -1)."""
    return F.cross_entropy(logits.reshape(-1, logits.size(-1)), targets.reshape(-1), ignore_index=-1)


def lr_at(step, config):
    """Linear decay from config["learning_rate"] at step 0 to config["min_lr"] at the last step,
    config["max_steps"] - 1."""
    peak, floor, last = config["learning_rate"], config["min_lr"], config["max_steps"] - 1
    if last <= 0:
        return peak
    return peak + (floor - peak) * min(step, last) / last


def make_optimizer(model, config):
    """AdamW with makemore's betas; weight decay on the matrices only (nanoGPT's two groups)."""
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

    Returns the list of training losses; calls log(step, loss) after every step if given."""
    optimizer = make_optimizer(model, config)
    model.train()
    losses = []
    for step in range(config["max_steps"]):
        lr = lr_at(step, config)
        for group in optimizer.param_groups:
            group["lr"] = lr
        ix = torch.randint(0, X.shape[0], (config["batch_size"],), generator=generator)
        loss = loss_fn(all_logits(model, X[ix]), Y[ix])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
        if log is not None:
            log(step, losses[-1])
    return losses


@torch.no_grad()
def dev_loss(model, X, Y, batch_size=500):
    """Mean loss per character over every name of (X, Y), in eval mode.

    The batches hold different numbers of characters, so their losses are summed and divided by
    the total count, not averaged. The model is left in the mode it came in."""
    was_training = model.training
    model.eval()
    total, count = 0.0, 0
    for i in range(0, X.shape[0], batch_size):
        logits = all_logits(model, X[i : i + batch_size])
        y = Y[i : i + batch_size]
        total += F.cross_entropy(logits.reshape(-1, logits.size(-1)), y.reshape(-1), ignore_index=-1,
                                 reduction="sum").item()
        count += (y != -1).sum().item()
    model.train(was_training)
    return total / count


@torch.no_grad()
def sample(model, itos, num, block_size, generator, temperature=1.0):
    """`num` names, one at a time: start from the start token, draw one character per step until
    the end token (not part of the name) or until the context is full (block_size draws)."""
    was_training = model.training
    model.eval()
    names = []
    for _ in range(num):
        idx = torch.zeros((1, 1), dtype=torch.long)
        chars = []
        while idx.size(1) <= block_size:
            logits, _ = model(idx)
            probs = F.softmax(logits[:, -1, :] / temperature, dim=-1)
            nxt = torch.multinomial(probs, num_samples=1, generator=generator)
            if nxt.item() == 0:
                break
            chars.append(itos[nxt.item()])
            idx = torch.cat([idx, nxt], dim=1)
        names.append("".join(chars))
    model.train(was_training)
    return names
