"""A GPT on BPE tokens or on characters, measured in bits per byte (reference solution).

The model is model.py from the `gpt` exercise and the tokenizer is minbpe from the `bpe` exercise.
A tokenizer here is anything with encode(text) -> list of ids and vocab = {id: bytes}.
"""

import math

import torch
import torch.nn.functional as F

from minbpe import BasicTokenizer


def bits_per_byte(total_nats, n_bytes):
    """Turn a total loss in nats, summed over a text, into bits per UTF-8 byte of that text."""
    return total_nats / (math.log(2) * n_bytes)


def token_bytes(tokenizer):
    """A LongTensor with one entry per token id: how many UTF-8 bytes that token stands for."""
    return torch.tensor([len(tokenizer.vocab[i]) for i in range(len(tokenizer.vocab))], dtype=torch.long)


def split_text(text, val_fraction=0.1):
    """(train_text, val_text), cut by bytes, not by tokens, so every tokenizer gets the same two texts.

    The cut is at byte int(n_bytes * (1 - val_fraction)) of the UTF-8 encoding, moved back to the
    first byte of the character it falls inside.
    """
    data = text.encode("utf-8")
    cut = int(len(data) * (1 - val_fraction))
    # continuation bytes look like 0b10xxxxxx: step back until the cut is at a character's first byte
    while 0 < cut < len(data) and data[cut] & 0xC0 == 0x80:
        cut -= 1
    return data[:cut].decode("utf-8"), data[cut:].decode("utf-8")


def encode_text(text, tokenizer):
    """The token ids of `text` as a 1-D LongTensor."""
    return torch.tensor(tokenizer.encode(text), dtype=torch.long)


def train_bpe(text, vocab_size, max_chars, val_fraction=0.1):
    """A BasicTokenizer with `vocab_size` tokens, trained on the first `max_chars` characters of the
    training part of `text` (never on the validation part: the model is judged there)."""
    train_text, _ = split_text(text, val_fraction)
    tokenizer = BasicTokenizer()
    tokenizer.train(train_text[:max_chars], vocab_size)
    return tokenizer


def prepare(text, tokenizer, val_fraction=0.1):
    """(train_ids, val_ids): split the text by bytes first, then encode each part on its own."""
    train_text, val_text = split_text(text, val_fraction)
    return encode_text(train_text, tokenizer), encode_text(val_text, tokenizer)


def get_batch(data, block_size, batch_size, device="cpu"):
    """`batch_size` random windows of `data`; y is x moved one token to the right."""
    starts = torch.randint(len(data) - block_size, (batch_size,)).tolist()
    x = torch.stack([data[s : s + block_size] for s in starts])
    y = torch.stack([data[s + 1 : s + 1 + block_size] for s in starts])
    return x.to(device), y.to(device)


@torch.no_grad()
def evaluate(model, val_ids, byte_counts, batch_size=64):
    """Score every token of val_ids but the first, each exactly once.

    The stream is cut into consecutive windows of block_size tokens (the last one may be shorter).
    Returns (nats per token, bits per byte): the same total loss, divided by the number of
    predicted tokens, or by the number of bytes those tokens stand for (and ln 2).
    """
    model.eval()
    device = next(model.parameters()).device
    T = model.config.block_size
    n = len(val_ids) - 1  # the tokens to predict: val_ids[1:]
    full = n // T * T
    pieces = list(zip(val_ids[:full].view(-1, T).split(batch_size), val_ids[1 : full + 1].view(-1, T).split(batch_size)))
    if full < n:
        pieces.append((val_ids[full:n].view(1, -1), val_ids[full + 1 : n + 1].view(1, -1)))
    total_nats, n_bytes = 0.0, 0
    for x, y in pieces:
        logits, _ = model(x.to(device), y.to(device))
        # summed, not averaged: batches of different sizes must count in proportion to their tokens
        total_nats += F.cross_entropy(logits.flatten(0, 1), y.flatten().to(device), reduction="sum").item()
        n_bytes += byte_counts[y].sum().item()
    return total_nats / n, bits_per_byte(total_nats, n_bytes)


def train(model, train_ids, config, log):
    """AdamW at a constant learning rate for config["max_iters"] steps on random windows of
    train_ids; log(step, loss) after the update whenever step % config["log_interval"] == 0."""
    device = next(model.parameters()).device
    T = model.config.block_size
    optimizer = torch.optim.AdamW(model.parameters(), lr=config["learning_rate"], betas=(0.9, 0.99), weight_decay=0.0)
    model.train()
    for step in range(config["max_iters"]):
        x, y = get_batch(train_ids, T, config["batch_size"], device)
        _, loss = model(x, y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), config["grad_clip"])
        optimizer.step()
        if step % config["log_interval"] == 0:
            log(step, loss.item())
    return model
