"""A training loop for your GPT (model.py comes from the `gpt` exercise)."""

import math

import torch


def get_batch(data, block_size, batch_size, device="cpu"):
    """`batch_size` random windows of `data` (a 1-D LongTensor of token ids).

    Returns (x, y), both (batch_size, block_size) LongTensors on `device`: y is x shifted left by
    one, so y[b, t] is the token that follows x[b, t].
    """
    # TODO: draw batch_size random start positions with torch.randint, so that every window
    # data[s : s + block_size + 1] fits inside data; stack the windows into x and y.
    x = data[:block_size].repeat(batch_size, 1)  # placeholder: always the same window
    y = data[1 : block_size + 1].repeat(batch_size, 1)
    return x.to(device), y.to(device)


def lr_at(step, config):
    """The learning rate for `step` (counting from 0): linear warm-up for config["warmup_iters"]
    steps, then a cosine from config["learning_rate"] down to config["min_lr"] at
    config["max_iters"], and min_lr after that."""
    # TODO: see the exercise for the exact formula
    return config["learning_rate"]


def train(model, get_batch, config, log):
    """Train `model` in place for config["max_iters"] steps.

    get_batch("train") returns a fresh (x, y) training batch, already on the right device.
    Call log(step, loss_value) when step % config["log_interval"] == 0, with the loss (a float) of
    the batch you trained on at that step.
    """
    # TODO: two param groups, as the exercise says: weight_decay=config["weight_decay"] for the
    # parameters with p.dim() >= 2 (Linear weights and embeddings), 0.0 for the 1-D ones
    # (biases, LayerNorm gains and biases).
    optimizer = torch.optim.AdamW(
        model.parameters(),
        lr=config["learning_rate"],
        betas=(config["beta1"], config["beta2"]),
        weight_decay=config["weight_decay"],
    )
    for step in range(config["max_iters"]):
        x, y = get_batch("train")
        logits, loss = model(x, y)
        # TODO: set the learning rate for this step, clear old gradients, backpropagate,
        # clip the gradient norm to config["grad_clip"], and take an optimizer step.
        if step % config["log_interval"] == 0:
            log(step, loss.item())
    return model
