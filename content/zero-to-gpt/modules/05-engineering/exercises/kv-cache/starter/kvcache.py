"""Generation with a KV-cache for the TinyGPT in tinygpt.py."""

import math

import torch
import torch.nn.functional as F


class KVCache:
    """Keys and values of every position processed so far, one pair of tensors per layer.

    keys[layer] and values[layer] are (B, n_head, T, head_dim) tensors, or None before the first
    append.
    """

    def __init__(self, n_layer):
        self.keys = [None] * n_layer
        self.values = [None] * n_layer

    @property
    def length(self):
        """How many positions are cached (those of layer 0)."""
        # TODO: 0 for an empty cache, else the size of the time axis of keys[0]
        return 0

    def append(self, layer, k, v):
        """Add the new positions' k, v (B, n_head, T_new, head_dim) to the layer's cache and
        return the layer's full keys and values, (B, n_head, T_cached + T_new, head_dim)."""
        # TODO: store k, v the first time; afterwards concatenate them after the cached ones
        raise NotImplementedError("KVCache.append")


def attention_step(attn, x, cache, layer):
    """Causal self-attention for the NEW positions only.

    attn is a CausalSelfAttention, x (B, T_new, C) the new positions' inputs to it. Their keys and
    values are appended to cache[layer]; each new query attends to every cached position up to and
    including its own. Returns (B, T_new, C), like attn(x) would for those positions.
    """
    q, k, v = attn.qkv(x)  # each (B, n_head, T_new, head_dim)
    # TODO: 1. append k, v to the cache of this layer and get all keys/values so far
    #       2. scores of the new queries against ALL keys, scaled by 1/sqrt(head_dim)
    #       3. mask: the new query i sits at position (T_total - T_new + i); it sees keys up to there
    #       4. softmax, weighted sum of the values, merge the heads, c_proj
    raise NotImplementedError("attention_step")


def forward_cached(model, idx, cache):
    """Logits (B, T_new, vocab_size) for the new tokens idx (B, T_new), which come right after the
    cache.length positions already in the cache. Extends the cache by T_new positions."""
    # TODO: the positions of the new tokens start at cache.length (not at 0)
    # TODO: embeddings, then for each block:
    #           x = x + attention_step(block.attn, block.ln_1(x), cache, layer)
    #           x = x + block.mlp(block.ln_2(x))
    #       then model.ln_f and model.lm_head
    raise NotImplementedError("forward_cached")


@torch.no_grad()
def generate_cached(model, idx, max_new_tokens):
    """Greedy decoding with a KV-cache: the prompt is processed once, then one token per step.

    Returns (idx, step_logits) exactly like tinygpt.generate_uncached: idx is (B, T + max_new_tokens)
    and step_logits[i] is the (B, vocab_size) logits the i-th new token was chosen from.
    """
    # TODO: a fresh KVCache; run the whole prompt through forward_cached once (prefill); then
    # repeatedly take the argmax of the last logits, append it to idx, and feed ONLY that token.
    raise NotImplementedError("generate_cached")
