"""Causal self-attention, by hand.

Do not call torch.nn.functional.scaled_dot_product_attention here: the tests compare your
result with it.
"""

import math

import torch
import torch.nn as nn


def attention_weights(q, k):
    """Causal attention weights for queries q and keys k of shape (..., T, hs).

    Returns (..., T, T): row i holds how much position i attends to each position j; entries with
    j > i (the future) must be exactly 0 and every row must sum to 1.
    """
    T, hs = q.size(-2), q.size(-1)
    # TODO 1: the scores q @ k^T, scaled by 1 / sqrt(hs)
    # TODO 2: set the scores of future positions (j > i) to -inf
    # TODO 3: softmax, so that every row sums to 1
    return torch.full(q.shape[:-1] + (T,), 1.0 / T)  # placeholder: uniform, and not causal


def causal_attention(q, k, v):
    """(..., T, hs) queries, keys and values -> (..., T, hs): each position's weighted mix of values."""
    # TODO: combine attention_weights(q, k) with v
    return torch.zeros_like(v)


class CausalSelfAttention(nn.Module):
    """Multi-head causal self-attention with nanoGPT's layer names."""

    def __init__(self, n_embd, n_head):
        super().__init__()
        if n_embd % n_head:
            raise ValueError("n_embd must be divisible by n_head")
        self.n_embd, self.n_head = n_embd, n_head
        self.c_attn = nn.Linear(n_embd, 3 * n_embd)  # queries, keys and values, side by side
        self.c_proj = nn.Linear(n_embd, n_embd)

    def forward(self, x):
        B, T, C = x.shape
        hs = C // self.n_head
        q, k, v = self.c_attn(x).split(C, dim=2)  # each (B, T, C)
        # TODO 1: split each of q, k, v into heads: (B, T, C) -> (B, n_head, T, hs)
        # TODO 2: y = causal_attention(q, k, v), shape (B, n_head, T, hs)
        # TODO 3: merge the heads back: (B, n_head, T, hs) -> (B, T, C)
        y = v  # placeholder
        return self.c_proj(y)
