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
        return 0 if self.keys[0] is None else self.keys[0].size(2)

    def append(self, layer, k, v):
        """Add the new positions' k, v (B, n_head, T_new, head_dim) to the layer's cache and
        return the layer's full keys and values, (B, n_head, T_cached + T_new, head_dim)."""
        if self.keys[layer] is None:
            self.keys[layer], self.values[layer] = k, v
        else:
            self.keys[layer] = torch.cat([self.keys[layer], k], dim=2)
            self.values[layer] = torch.cat([self.values[layer], v], dim=2)
        return self.keys[layer], self.values[layer]


def attention_step(attn, x, cache, layer):
    """Causal self-attention for the NEW positions only.

    attn is a CausalSelfAttention, x (B, T_new, C) the new positions' inputs to it. Their keys and
    values are appended to cache[layer]; each new query attends to every cached position up to and
    including its own. Returns (B, T_new, C), like attn(x) would for those positions.
    """
    q, k, v = attn.qkv(x)  # (B, n_head, T_new, head_dim)
    T_new = q.size(2)
    k_all, v_all = cache.append(layer, k, v)  # (B, n_head, T_total, head_dim)
    T_total = k_all.size(2)
    att = (q @ k_all.transpose(-2, -1)) / math.sqrt(attn.head_dim)  # (B, n_head, T_new, T_total)
    # new query i sits at absolute position T_total - T_new + i and may see keys 0..that position
    q_pos = torch.arange(T_total - T_new, T_total, device=x.device)
    k_pos = torch.arange(T_total, device=x.device)
    visible = k_pos[None, :] <= q_pos[:, None]  # (T_new, T_total)
    # one new query can see everything in the cache, so no mask is needed
    att = F.softmax(att, dim=-1)
    return attn.c_proj(attn.merge_heads(att @ v_all))


def forward_cached(model, idx, cache):
    """Logits (B, T_new, vocab_size) for the new tokens idx (B, T_new), which come right after the
    cache.length positions already in the cache. Extends the cache by T_new positions."""
    start = cache.length  # read before any layer appends
    T_new = idx.size(1)
    if start + T_new > model.config.block_size:
        raise ValueError(f"{start + T_new} positions do not fit in block_size {model.config.block_size}")
    pos = torch.arange(start, start + T_new, device=idx.device)
    x = model.wte(idx) + model.wpe(pos)
    for layer, block in enumerate(model.blocks):
        x = x + attention_step(block.attn, block.ln_1(x), cache, layer)
        x = x + block.mlp(block.ln_2(x))
    return model.lm_head(model.ln_f(x))


@torch.no_grad()
def generate_cached(model, idx, max_new_tokens):
    """Greedy decoding with a KV-cache: the prompt is processed once, then one token per step.

    Returns (idx, step_logits) exactly like tinygpt.generate_uncached.
    """
    cache = KVCache(len(model.blocks))
    step_logits = []
    logits = forward_cached(model, idx, cache)[:, -1, :]  # prefill: the whole prompt at once
    for i in range(max_new_tokens):
        step_logits.append(logits)
        nxt = logits.argmax(dim=-1, keepdim=True)
        idx = torch.cat([idx, nxt], dim=1)
        if i + 1 < max_new_tokens:
            logits = forward_cached(model, nxt, cache)[:, -1, :]  # only the new token
    return idx, step_logits
