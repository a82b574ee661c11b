"""Causal self-attention, by hand (reference solution)."""

import math

import torch
import torch.nn as nn


def attention_weights(q, k):
    """Causal attention weights for queries q and keys k of shape (..., T, hs).

    Returns (..., T, T): row i holds how much position i attends to each position j; entries with
    j > i (the future) are exactly 0 and every row sums to 1.
    """
    T, hs = q.size(-2), q.size(-1)
    scores = (q @ k.transpose(-2, -1)) / math.sqrt(hs)
    future = torch.ones(T, T, dtype=torch.bool, device=q.device).triu(diagonal=1)
    scores = scores.masked_fill(future, float("-inf"))
    return torch.softmax(scores, dim=-2)


def causal_attention(q, k, v):
    """(..., T, hs) queries, keys and values -> (..., T, hs): each position's weighted mix of values."""
    return attention_weights(q, k) @ v


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
        q, k, v = self.c_attn(x).split(C, dim=2)
        q, k, v = (t.view(B, T, self.n_head, hs).transpose(1, 2) for t in (q, k, v))  # (B, nh, T, hs)
        y = causal_attention(q, k, v)
        y = y.transpose(1, 2).reshape(B, T, C)  # put the heads back side by side
        return self.c_proj(y)
