"""LayerNorm and causal self-attention, backward by hand (reference solution).

No autograd here: every gradient is written out with tensor operations.
"""

import math

import torch


def layernorm_backward(dout, cache):
    """Gradients of LayerNorm (see forward.layernorm_forward). Returns (dx, dweight, dbias)."""
    x, weight, mean, rstd = cache["x"], cache["weight"], cache["mean"], cache["rstd"]
    C = x.shape[-1]
    xhat = (x - mean) * rstd
    dxhat = dout * weight
    # every input reaches the output directly, through the mean and through the variance
    dx = rstd * (dxhat - dxhat.mean(dim=-1, keepdim=True) - xhat * (dxhat * xhat).mean(dim=-1, keepdim=True))
    # weight and bias are broadcast over every leading axis: sum over all of them
    dweight = (dout * xhat).reshape(-1, C).sum(0)
    dbias = dout.reshape(-1, C).sum(0)
    return dx, dweight, dbias


def attention_backward(dy, cache):
    """Gradients of causal attention (see forward.attention_forward) on (..., T, hs) tensors.

    Returns a dict: datt and dpreatt (..., T, T), dq, dk, dv (..., T, hs).
    """
    q, k, v, att = cache["q"], cache["k"], cache["v"], cache["att"]
    hs = q.shape[-1]
    # y = att @ v
    datt = dy @ v.transpose(-2, -1)
    dv = att.transpose(-2, -1) @ dy
    # att = softmax(preatt) row by row: the Jacobian-vector product of each row
    dpreatt = att * (datt - (datt * att).sum(dim=-1, keepdim=True))
    # masked entries: att is exactly 0 there, so dpreatt is too
    # preatt = scores / sqrt(hs)
    dscores = dpreatt / math.sqrt(hs)
    # scores = q @ k^T
    dq = dscores @ k
    dk = dscores.transpose(-2, -1) @ q
    return {"datt": datt, "dpreatt": dpreatt, "dq": dq, "dk": dk, "dv": dv}


def self_attention_backward(dout, cache):
    """Gradients of multi-head causal self-attention (see forward.self_attention_forward).

    Returns a dict: dy, dw_proj, db_proj, dq, dk, dv, dqkv, dx, dw_attn, db_attn.
    """
    x, w_attn, w_proj, y, n_head = cache["x"], cache["w_attn"], cache["w_proj"], cache["y"], cache["n_head"]
    B, T, C = x.shape
    hs = C // n_head
    # out = y @ w_proj.T + b_proj
    dy = dout @ w_proj
    dw_proj = dout.reshape(-1, C).transpose(0, 1) @ y.reshape(-1, C)
    db_proj = dout.reshape(-1, C).sum(0)
    # y = yh.transpose(1, 2).reshape(B, T, C): undo the merge
    dyh = dy.reshape(B, T, n_head, hs).transpose(1, 2)
    g = attention_backward(dyh, cache["attn"])
    # q, k, v = split + view + transpose of qkv: merge each gradient back, side by side
    dqkv = torch.cat([g[name].transpose(1, 2).reshape(B, T, C) for name in ("dq", "dk", "dv")], dim=2)
    # qkv = x @ w_attn.T + b_attn
    dx = dqkv @ w_attn
    dw_attn = dqkv.reshape(-1, 3 * C).transpose(0, 1) @ x.reshape(-1, C)
    db_attn = dqkv.reshape(-1, 3 * C).sum(0)
    return {"dy": dy, "dw_proj": dw_proj, "db_proj": db_proj, "dq": g["dq"], "dk": g["dk"], "dv": g["dv"],
            "dqkv": dqkv, "dx": dx, "dw_attn": dw_attn, "db_attn": db_attn}
