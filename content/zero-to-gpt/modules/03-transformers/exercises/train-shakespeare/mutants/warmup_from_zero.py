"""A training loop for the GPT of the previous exercise (reference solution)."""

import math

import torch


def get_batch(data, block_size, batch_size, device="cpu"):
    """`batch_size` random windows of `data` (a 1-D LongTensor of token ids).

    Returns (x, y), both (batch_size, block_size) on `device`: y is x shifted left by one, so
    y[b, t] is the token that follows x[b, :t + 1].
    """
    starts = torch.randint(len(data) - block_size, (batch_size,)).tolist()
    x = torch.stack([data[s : s + block_size] for s in starts])
    y = torch.stack([data[s + 1 : s + 1 + block_size] for s in starts])
    return x.to(device), y.to(device)


def lr_at(step, config):
    """Linear warm-up over `warmup_iters` steps, then a cosine from `learning_rate` down to `min_lr`
    at `max_iters`; `min_lr` after that."""
    peak, floor = config["learning_rate"], config["min_lr"]
    warmup, total = config["warmup_iters"], config["max_iters"]
    if step < warmup:
        return peak * step / warmup
    if step >= total:
        return floor
    progress = (step - warmup) / max(1, total - warmup)
    return floor + 0.5 * (1.0 + math.cos(math.pi * progress)) * (peak - floor)


def make_optimizer(model, config):
    # Weight decay only on matrices (Linear weights, embeddings); not on biases or LayerNorm gains.
    matrices = [p for p in model.parameters() if p.requires_grad and p.dim() >= 2]
    vectors = [p for p in model.parameters() if p.requires_grad and p.dim() < 2]
    groups = [{"params": matrices, "weight_decay": config["weight_decay"]}, {"params": vectors, "weight_decay": 0.0}]
    return torch.optim.AdamW(groups, lr=config["learning_rate"], betas=(config["beta1"], config["beta2"]))


def train(model, get_batch, config, log):
    """Train `model` in place for config["max_iters"] steps on get_batch("train") batches and
    report the training loss with log(step, loss) every config["log_interval"] steps."""
    optimizer = make_optimizer(model, config)
    model.train()
    for step in range(config["max_iters"]):
        lr = lr_at(step, config)
        for group in optimizer.param_groups:
            group["lr"] = lr
        x, y = get_batch("train")
        _, loss = model(x, y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if config["grad_clip"] > 0:
            torch.nn.utils.clip_grad_norm_(model.parameters(), config["grad_clip"])
        optimizer.step()
        if step % config["log_interval"] == 0:
            log(step, loss.item())
    return model
