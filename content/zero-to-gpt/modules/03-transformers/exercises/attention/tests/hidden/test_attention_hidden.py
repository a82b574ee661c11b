import math
import zlib

import torch

from attention import CausalSelfAttention, attention_weights, causal_attention


def randn(check, *shape, salt=0):
    g = torch.Generator().manual_seed(check.seed + salt)
    return torch.randn(*shape, generator=g)


def fill_weights(module, seed=0):
    params = dict(module.named_parameters())
    with torch.no_grad():
        for name in sorted(params):
            p = params[name]
            g = torch.Generator().manual_seed(seed + zlib.crc32(name.encode()))
            scale = 0.5 / math.sqrt(p.shape[-1]) if p.dim() >= 2 else 0.1
            p.copy_(torch.randn(p.shape, generator=g) * scale)


def test_many_shapes(check):
    for i, (shape, scale) in enumerate([((1, 1, 1, 4), 1.0), ((3, 5, 4), 1.0), ((2, 2, 9, 16), 3.0), ((4, 12, 2), 0.1)]):
        q, k, v = (randn(check, *shape, salt=10 * i + s) * scale for s in (1, 2, 3))
        y = causal_attention(q, k, v)
        check(f"weights #{i}", attention_weights(q, k), tol=1e-5,
              msg="attention_weights must work for any leading axes (...) and any T, including T = 1")
        check(f"output #{i}", y, tol=1e-5, msg="causal_attention(q, k, v) must equal weights @ v for any shape, as "
                                               "F.scaled_dot_product_attention(is_causal=True) computes it")


def test_large_scores_stay_finite(check):
    q, k, v = (randn(check, 1, 2, 6, 8, salt=s) * 40 for s in (1, 2, 3))
    w = attention_weights(q, k)
    check("finite", torch.isfinite(w), exact=True,
          msg="large scores overflowed: use torch.softmax (it subtracts the row maximum) rather than exp() / sum")
    check("weights", w, tol=1e-5, msg="weights on large scores differ")


def test_module_other_sizes(check):
    for i, (C, nh, B, T) in enumerate([(48, 6, 3, 10), (16, 1, 2, 5), (24, 3, 1, 1)]):
        x = randn(check, B, T, C, salt=20 + i)
        m = CausalSelfAttention(C, nh)
        fill_weights(m, seed=i)
        check(f"output #{i}", m(x), tol=1e-5,
              msg=f"CausalSelfAttention({C}, {nh}) on a ({B}, {T}, {C}) input differs: split the heads with "
                  "view(B, T, n_head, hs).transpose(1, 2) for any n_head and T")


def test_module_gradients(check):
    x = randn(check, 2, 5, 32, salt=7).requires_grad_()
    m = CausalSelfAttention(32, 4)
    fill_weights(m)
    (m(x) ** 2).sum().backward()
    check("grad of x", x.grad, tol=1e-4, msg="gradients through the module differ: is everything done with differentiable torch ops?")
    check("grad of c_attn.weight", m.c_attn.weight.grad, tol=1e-4, msg="gradients of c_attn.weight differ")
