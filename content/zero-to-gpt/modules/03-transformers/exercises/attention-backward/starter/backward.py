"""LayerNorm and causal self-attention, backward by hand.

forward.py (read-only) has the forward passes and documents each cache. Write every gradient
with tensor operations: no .backward(), no torch.autograd. The tests call these functions under
torch.no_grad() on tensors that do not require grad.
"""

import math

import torch


def layernorm_backward(dout, cache):
    """Gradients of LayerNorm (see forward.layernorm_forward). Returns (dx, dweight, dbias).

    dout and cache["x"] have shape (..., C); dweight and dbias have shape (C,).
    """
    x, weight, mean, rstd = cache["x"], cache["weight"], cache["mean"], cache["rstd"]
    # TODO 1: xhat = (x - mean) * rstd, and dxhat = dout * weight
    # TODO 2: dx from dxhat, xhat and rstd (the compact formula of the lesson)
    # TODO 3: dweight and dbias: weight and bias are broadcast over every leading axis
    return torch.zeros_like(x), torch.zeros_like(weight), torch.zeros_like(weight)


def attention_backward(dy, cache):
    """Gradients of causal attention (see forward.attention_forward) on (..., T, hs) tensors.

    Returns a dict: datt and dpreatt (..., T, T), dq, dk, dv (..., T, hs).
    """
    q, k, v, att = cache["q"], cache["k"], cache["v"], cache["att"]
    hs = q.shape[-1]
    # TODO 1: y = att @ v                       -> datt, dv
    # TODO 2: att = softmax(preatt, dim=-1)     -> dpreatt (row-wise; zero where the mask hid a key)
    # TODO 3: preatt = (q @ k^T) / sqrt(hs)     -> dq, dk
    T = q.shape[-2]
    zeros_tt = torch.zeros(q.shape[:-1] + (T,), dtype=q.dtype)
    return {"datt": zeros_tt, "dpreatt": zeros_tt.clone(), "dq": torch.zeros_like(q),
            "dk": torch.zeros_like(k), "dv": torch.zeros_like(v)}


def self_attention_backward(dout, cache):
    """Gradients of multi-head causal self-attention (see forward.self_attention_forward).

    Returns a dict: dy, dw_proj, db_proj, dq, dk, dv, dqkv, dx, dw_attn, db_attn.
    """
    x, w_attn, w_proj, y, n_head = cache["x"], cache["w_attn"], cache["w_proj"], cache["y"], cache["n_head"]
    B, T, C = x.shape
    hs = C // n_head
    q = cache["attn"]["q"]  # (B, n_head, T, hs)
    # TODO 1: out = y @ w_proj.T + b_proj            -> dy, dw_proj, db_proj
    # TODO 2: undo the merge of the heads: (B, T, C) -> (B, n_head, T, hs), then attention_backward
    # TODO 3: merge dq, dk, dv back to (B, T, C) each and put them side by side -> dqkv (B, T, 3C)
    # TODO 4: qkv = x @ w_attn.T + b_attn            -> dx, dw_attn, db_attn
    return {"dy": torch.zeros_like(y), "dw_proj": torch.zeros_like(w_proj), "db_proj": torch.zeros(C, dtype=x.dtype),
            "dq": torch.zeros_like(q), "dk": torch.zeros_like(q), "dv": torch.zeros_like(q),
            "dqkv": torch.zeros(B, T, 3 * C, dtype=x.dtype), "dx": torch.zeros_like(x),
            "dw_attn": torch.zeros_like(w_attn), "db_attn": torch.zeros(3 * C, dtype=x.dtype)}
