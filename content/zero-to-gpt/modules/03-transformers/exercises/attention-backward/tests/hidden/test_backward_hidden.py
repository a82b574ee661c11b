import math

import torch

from backward import attention_backward, layernorm_backward, self_attention_backward
from forward import attention_forward, causal_mask, layernorm_forward, self_attention_forward

TOL = dict(tol=1e-8, rtol=1e-5)
SA_KEYS = ["dy", "dw_proj", "db_proj", "dq", "dk", "dv", "dqkv", "dx", "dw_attn", "db_attn"]


def randn(check, *shape, salt=0):
    g = torch.Generator().manual_seed(check.seed + salt)
    return torch.randn(*shape, generator=g, dtype=torch.float64)


def test_layernorm_other_shapes(check):
    for i, (shape, scale) in enumerate([((1, 7), 1.0), ((3, 1, 5), 20.0), ((2, 2, 3, 9), 0.01), ((4, 1), 1.0), ((5, 33), 3.0)]):
        C = shape[-1]
        x = randn(check, *shape, salt=10 * i) * scale + 1.5
        w = 1 + 0.5 * randn(check, C, salt=10 * i + 1)
        b = 0.5 * randn(check, C, salt=10 * i + 2)
        dout = randn(check, *shape, salt=10 * i + 3)
        with torch.no_grad():
            _, cache = layernorm_forward(x, w, b)
            dx, dw, db = layernorm_backward(dout, cache)
        check(f"dx #{i}", dx, **TOL, msg="dx is wrong for another shape or scale: every mean is over the last axis, "
                                         "and dx needs both the mean-of-dxhat and the xhat * mean(dxhat * xhat) terms")
        check(f"dweight #{i}", dw, **TOL, msg="dweight (shape (C,)) must sum dout * xhat over every leading axis, whatever the rank")
        check(f"dbias #{i}", db, **TOL, msg="dbias (shape (C,)) must sum dout over every leading axis, whatever the rank")


def test_attention_other_shapes(check):
    shapes = [((1, 3), 1.0), ((7, 2), 1.0), ((2, 4, 1, 5), 1.0), ((3, 2, 9, 6), 0.5), ((5, 12, 3), 4.0)]
    for i, (shape, scale) in enumerate(shapes):
        q, k, v = (randn(check, *shape, salt=100 + 10 * i + s) * scale for s in (1, 2, 3))
        dy = randn(check, *shape, salt=100 + 10 * i + 4)
        with torch.no_grad():
            _, cache = attention_forward(q, k, v)
            g = attention_backward(dy, cache)
        T = shape[-2]
        check(f"|dpreatt| above the diagonal #{i}", g["dpreatt"][..., causal_mask(T)].abs(), exact=True,
              msg="masked positions (key after query) must get exactly zero gradient")
        for key in ("datt", "dpreatt", "dq", "dk", "dv"):
            check(f"{key} #{i}", g[key], **TOL,
                  msg=f"{key} is wrong for another shape (T = 1, T different from hs, more leading axes, or larger "
                      "scores): transpose only the last two axes and scale by the head size of this call")


def test_self_attention_other_sizes(check):
    for i, (B, T, C, n_head) in enumerate([(1, 1, 8, 2), (3, 7, 12, 1), (2, 9, 24, 6)]):
        x = randn(check, B, T, C, salt=200 + 10 * i)
        w_attn = randn(check, 3 * C, C, salt=200 + 10 * i + 1) / math.sqrt(C)
        b_attn = 0.1 * randn(check, 3 * C, salt=200 + 10 * i + 2)
        w_proj = randn(check, C, C, salt=200 + 10 * i + 3) / math.sqrt(C)
        b_proj = 0.1 * randn(check, C, salt=200 + 10 * i + 4)
        dout = randn(check, B, T, C, salt=200 + 10 * i + 5)
        with torch.no_grad():
            _, cache = self_attention_forward(x, w_attn, b_attn, w_proj, b_proj, n_head)
            g = self_attention_backward(dout, cache)
        for key in SA_KEYS:
            check(f"{key} #{i}", g[key], **TOL,
                  msg=f"{key} is wrong for other sizes: take B, T, C from x and hs = C // n_head from the cache, "
                      "and split/merge heads with view(B, T, n_head, hs) and transpose(1, 2)")
