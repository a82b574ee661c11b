import io
import math
import tokenize
import zlib

import torch

from attention import CausalSelfAttention, attention_weights, causal_attention


def randn(check, *shape, salt=0):
    g = torch.Generator().manual_seed(check.seed + salt)
    return torch.randn(*shape, generator=g)


def fill_weights(module, seed=0):
    """The same weights for every implementation: one seeded draw per parameter name."""
    params = dict(module.named_parameters())
    with torch.no_grad():
        for name in sorted(params):
            p = params[name]
            g = torch.Generator().manual_seed(seed + zlib.crc32(name.encode()))
            scale = 0.5 / math.sqrt(p.shape[-1]) if p.dim() >= 2 else 0.1
            p.copy_(torch.randn(p.shape, generator=g) * scale)


def test_rows_sum_to_one(check):
    q, k = randn(check, 2, 3, 6, 8, salt=1), randn(check, 2, 3, 6, 8, salt=2)
    w = attention_weights(q, k)
    check("shape", list(w.shape), msg="attention_weights(q, k) should return (..., T, T)")
    check("finite", torch.isfinite(w), exact=True,
          msg="some weights are NaN: a row whose scores are ALL -inf has nothing to normalise. Does the mask hide "
              "the diagonal too? Mask only j > i: triu(diagonal=1)")
    check("row sums", w.sum(dim=-1), tol=1e-5,
          msg="each row (one query position) must sum to 1: take the softmax over the LAST axis (dim=-1), "
              "the keys, not dim=-2")


def test_future_is_zero(check):
    q, k = randn(check, 2, 3, 6, 8, salt=1), randn(check, 2, 3, 6, 8, salt=2)
    w = attention_weights(q, k)
    above = torch.ones(6, 6, dtype=torch.bool).triu(1)
    check("weights above the diagonal", w[..., above], exact=True,
          msg="position i may not look at j > i: fill those scores with -inf BEFORE the softmax, so exp(-inf) = 0 "
              "(filling with 0 still gives them weight exp(0) > 0)")
    check("diagonal weights are positive", w.diagonal(dim1=-2, dim2=-1) > 0, exact=True,
          msg="a position must be able to attend to itself: mask only j > i (triu with diagonal=1)")


def test_weights_match(check):
    q, k = randn(check, 2, 3, 6, 8, salt=1) * 2, randn(check, 2, 3, 6, 8, salt=2) * 2
    check("weights", attention_weights(q, k), tol=1e-5,
          msg="the weights are causal and normalised but their values differ: divide the scores by sqrt(head size), "
              "sqrt(q.size(-1)), before the softmax")


def test_worked_example(check):
    # The example from the lesson: three positions, head size 2.
    q = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    k = torch.tensor([[1.0, 0.0], [1.0, 1.0], [0.0, 2.0]])
    v = torch.tensor([[1.0, 0.0], [0.0, 1.0], [2.0, 2.0]])
    w = attention_weights(q, k)
    check("weights", w, tol=1e-4, msg="the 3x3 weights differ from the lesson's: scores q @ k^T, divided by sqrt(2), "
                                       "future entries set to -inf, softmax along each row")
    check("output", causal_attention(q, k, v), tol=1e-4, msg="the weights are right but the output is not: it is weights @ v")


def test_matches_sdpa(check):
    q, k, v = (randn(check, 2, 4, 7, 8, salt=s) for s in (1, 2, 3))
    # The reference's output here is what F.scaled_dot_product_attention(q, k, v, is_causal=True) gives.
    check("output", causal_attention(q, k, v), tol=1e-5,
          msg="causal_attention(q, k, v) should be attention_weights(q, k) @ v, as PyTorch's built-in causal "
              "attention computes it")


def test_module_parameters(check):
    m = CausalSelfAttention(32, 4)
    shapes = {name: list(p.shape) for name, p in m.named_parameters()}
    check("parameters", shapes, exact=True,
          msg="use nanoGPT's layers: c_attn = nn.Linear(n_embd, 3 * n_embd) and c_proj = nn.Linear(n_embd, n_embd), with biases")


def test_module_matches_sdpa(check):
    x = randn(check, 2, 6, 32, salt=4)
    m = CausalSelfAttention(32, 4)
    fill_weights(m)
    # The reference's output is the same layers run with F.scaled_dot_product_attention.
    check("output", m(x), tol=1e-5,
          msg="the module's output differs: split q, k, v with .split(n_embd, dim=2), heads with "
              ".view(B, T, n_head, hs).transpose(1, 2), and merge them back with .transpose(1, 2).reshape(B, T, C)")


def test_module_is_causal(check):
    x = randn(check, 1, 8, 32, salt=5)
    m = CausalSelfAttention(32, 4)
    fill_weights(m)
    y1 = m(x)
    x2 = x.clone()
    x2[:, 5] += 1.0  # change position 5 only
    y2 = m(x2)
    check("change of outputs 0-4", y2[:, :5] - y1[:, :5], tol=1e-6,
          msg="changing position 5 changed an earlier output: information leaks from the future; "
              "is the causal mask applied in every head (built from T = q.size(-2))?")
    check("output 5 changes", bool((y2[:, 5] - y1[:, 5]).abs().max() > 1e-6), exact=True,
          msg="changing position 5 did not change its own output: a position must attend to itself")


def test_no_builtin_attention(check):
    # Which functions the file names is a property of its source, not a value; the output check
    # below is what the reference judges.
    q, k, v = (randn(check, 2, 5, 8, salt=s) for s in (11, 12, 13))
    check("output", causal_attention(q, k, v), tol=1e-5, msg="causal_attention(q, k, v) differs on (2, 5, 8) inputs")
    names = set()
    with open("attention.py", encoding="utf-8") as fh:
        for tok in tokenize.generate_tokens(io.StringIO(fh.read()).readline):
            if tok.type == tokenize.NAME:
                names.add(tok.string)
    check.true("does not call scaled_dot_product_attention", "scaled_dot_product_attention" not in names,
               msg="write the attention yourself: attention.py may not use F.scaled_dot_product_attention")
    check.true("does not use nn.MultiheadAttention", "MultiheadAttention" not in names and "multi_head_attention_forward" not in names,
               msg="write the attention yourself: attention.py may not use nn.MultiheadAttention")
