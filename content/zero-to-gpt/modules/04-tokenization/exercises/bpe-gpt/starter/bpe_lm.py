"""A GPT on BPE tokens or on characters, measured in bits per byte.

The model is your model.py from the `gpt` exercise and the tokenizer your minbpe from the `bpe`
exercise. A tokenizer here is anything with encode(text) -> list of ids and vocab = {id: bytes}:
your BasicTokenizer, or the CharTokenizer in char_tokenizer.py.
"""

import math

import torch
import torch.nn.functional as F

from minbpe import BasicTokenizer


def bits_per_byte(total_nats, n_bytes):
    """Turn a total loss in nats, summed over a text, into bits per UTF-8 byte of that text."""
    # TODO: one line; a nat is 1 / ln 2 bits
    return total_nats


def token_bytes(tokenizer):
    """A LongTensor with one entry per token id: how many UTF-8 bytes that token stands for."""
    # TODO: read the bytes of every id 0 .. len(tokenizer.vocab) - 1 from tokenizer.vocab
    return torch.ones(len(tokenizer.vocab), dtype=torch.long)


def split_text(text, val_fraction=0.1):
    """(train_text, val_text), cut by bytes, not by tokens, so every tokenizer gets the same two texts.

    The cut is at byte int(n_bytes * (1 - val_fraction)) of the UTF-8 encoding, moved back to the
    first byte of the character it falls inside.
    """
    # TODO: encode, find the cut, step back over continuation bytes (0b10xxxxxx), decode both sides
    return text, text


def encode_text(text, tokenizer):
    """The token ids of `text` as a 1-D LongTensor."""
    # TODO
    return torch.zeros(1, dtype=torch.long)


def train_bpe(text, vocab_size, max_chars, val_fraction=0.1):
    """A BasicTokenizer with `vocab_size` tokens, trained on the first `max_chars` characters of the
    training part of `text` (never on the validation part: the model is judged there)."""
    tokenizer = BasicTokenizer()
    # TODO: train it on the right piece of text
    return tokenizer


def prepare(text, tokenizer, val_fraction=0.1):
    """(train_ids, val_ids): split the text by bytes first, then encode each part on its own."""
    # TODO
    ids = encode_text(text, tokenizer)
    return ids, ids


def get_batch(data, block_size, batch_size, device="cpu"):
    """`batch_size` random windows of `data`; y is x moved one token to the right."""
    # TODO: random starts with torch.randint(len(data) - block_size, (batch_size,)), as in train-shakespeare
    x = data[:block_size].repeat(batch_size, 1)  # placeholder: always the same window
    y = data[1 : block_size + 1].repeat(batch_size, 1)
    return x.to(device), y.to(device)


@torch.no_grad()
def evaluate(model, val_ids, byte_counts, batch_size=64):
    """Score every token of val_ids but the first, each exactly once.

    The stream is cut into consecutive windows of block_size tokens (the last one may be shorter).
    Returns (nats per token, bits per byte): the same total loss, divided by the number of
    predicted tokens, or by the number of bytes those tokens stand for (and ln 2).
    """
    T = model.config.block_size
    # TODO: eval mode; windows x = val_ids[s : s + T], y = val_ids[s + 1 : s + T + 1] for s = 0, T, 2T, ...,
    # batch_size windows at a time (the last, shorter window on its own); add up the summed cross-entropy
    # (F.cross_entropy(..., reduction="sum")) and the bytes of the targets (byte_counts[y]).
    x, y = val_ids[:T].view(1, -1), val_ids[1 : T + 1].view(1, -1)  # placeholder: the first window only
    _, loss = model(x, y)
    return loss.item(), loss.item()


def train(model, train_ids, config, log):
    """AdamW at a constant learning rate for config["max_iters"] steps on random windows of
    train_ids; log(step, loss) after the update whenever step % config["log_interval"] == 0."""
    T = model.config.block_size
    optimizer = torch.optim.AdamW(model.parameters(), lr=config["learning_rate"], betas=(0.9, 0.99), weight_decay=0.0)
    for step in range(config["max_iters"]):
        # TODO: train mode, a batch from get_batch, forward, zero_grad, backward, clip to config["grad_clip"], step
        if step % config["log_interval"] == 0:
            log(step, float("nan"))
    return model
