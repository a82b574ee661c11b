import io
import math
import tokenize

import torch

from backward import attention_backward, layernorm_backward, self_attention_backward
from forward import attention_forward, causal_mask, layernorm_forward, self_attention_forward

# float64 everywhere: a correct hand-written gradient agrees with autograd to about 1e-15.
TOL = dict(tol=1e-8, rtol=1e-5)
SA_KEYS = ["dy", "dw_proj", "db_proj", "dq", "dk", "dv", "dqkv", "dx", "dw_attn", "db_attn"]


def randn(check, *shape, salt=0):
    g = torch.Generator().manual_seed(check.seed + salt)
    return torch.randn(*shape, generator=g, dtype=torch.float64)


def pick(grads, key, fn):
    if not isinstance(grads, dict) or key not in grads:
        raise KeyError(f"{fn} must return a dict with the key {key!r} (see the prompt for the full list)")
    return grads[key]


def ln_grads(check, shape, salt=0):
    """LayerNorm with a non-trivial gain and bias, and your backward on a random dout (no autograd)."""
    C = shape[-1]
    x = randn(check, *shape, salt=salt) * 2 + 0.5
    w = 1 + 0.5 * randn(check, C, salt=salt + 1)
    b = 0.5 * randn(check, C, salt=salt + 2)
    dout = randn(check, *shape, salt=salt + 3)
    with torch.no_grad():
        _, cache = layernorm_forward(x, w, b)
        dx, dw, db = layernorm_backward(dout, cache)
    return dx, dw, db


def attn_grads(check, shape, salt=0, scale=1.0):
    q, k, v = (randn(check, *shape, salt=salt + s) * scale for s in (1, 2, 3))
    dy = randn(check, *shape, salt=salt + 4)
    with torch.no_grad():
        _, cache = attention_forward(q, k, v)
        return attention_backward(dy, cache)


def sa_setup(check, B, T, C, n_head, salt=0):
    x = randn(check, B, T, C, salt=salt)
    w_attn = randn(check, 3 * C, C, salt=salt + 1) / math.sqrt(C)
    b_attn = 0.1 * randn(check, 3 * C, salt=salt + 2)
    w_proj = randn(check, C, C, salt=salt + 3) / math.sqrt(C)
    b_proj = 0.1 * randn(check, C, salt=salt + 4)
    dout = randn(check, B, T, C, salt=salt + 5)
    return (x, w_attn, b_attn, w_proj, b_proj), dout


def sa_grads(check, B, T, C, n_head, salt=0):
    params, dout = sa_setup(check, B, T, C, n_head, salt)
    with torch.no_grad():
        _, cache = self_attention_forward(*params, n_head)
        return self_attention_backward(dout, cache)


def test_layernorm_dweight_dbias(check):
    _, dw, db = ln_grads(check, (6, 10))
    check("dweight", dw, **TOL,
          msg="dweight = (dout * xhat) summed over the rows, with xhat = (x - mean) * rstd: the gain multiplies xhat, not x")
    check("dbias", db, **TOL, msg="dbias = dout summed over the rows: the bias is added to every row")


def test_layernorm_dx(check):
    dx, _, _ = ln_grads(check, (6, 10))
    check("dx row sums", dx.sum(dim=-1), **TOL,
          msg="each row of dx should sum to 0 (adding a constant to x does not change LayerNorm's output): "
              "subtract the row mean of dxhat, the path through the mean")
    check("dx", dx, **TOL,
          msg="dx = rstd * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat)), means over the last axis, "
              "with dxhat = dout * weight: all three terms are needed")


def test_layernorm_3d(check):
    dx, dw, db = ln_grads(check, (2, 5, 12), salt=10)
    check("dx (B, T, C)", dx, **TOL, msg="dx for a (B, T, C) input: every mean is over the last axis only (dim=-1, keepdim=True)")
    check("dweight (B, T, C)", dw, **TOL,
          msg="dweight has shape (C,): weight is broadcast over B AND T, so sum over every leading axis, "
              "e.g. (dout * xhat).reshape(-1, C).sum(0), not .sum(0)")
    check("dbias (B, T, C)", db, **TOL, msg="dbias has shape (C,): sum dout over every leading axis, not only dim 0")


def test_attention_single_head_value(check):
    g = attn_grads(check, (6, 4))
    check("datt", pick(g, "datt", "attention_backward"), **TOL, msg="y = att @ v, so datt = dy @ v^T, shape (T, T)")
    check("dv", pick(g, "dv", "attention_backward"), **TOL,
          msg="y = att @ v, so dv = att^T @ dy (transpose the last two axes of the cached att)")


def test_attention_softmax(check):
    g = attn_grads(check, (6, 4))
    dpreatt = pick(g, "dpreatt", "attention_backward")
    above = causal_mask(6)
    check("|dpreatt| where the mask hid a key", dpreatt[..., above].abs(), exact=True,
          msg="gradient leaks into masked positions: a hidden key had weight exactly 0, so its score gets gradient "
              "exactly 0. Use the cached att (with its zeros), not weights recomputed without the mask")
    check("dpreatt row sums", dpreatt.sum(dim=-1), **TOL,
          msg="each row of dpreatt should sum to 0 (the softmax ignores a constant added to a row): subtract "
              "the row's (datt * att).sum(-1, keepdim=True)")
    check("dpreatt", dpreatt, **TOL,
          msg="through the softmax each row needs the full Jacobian, not just its diagonal att * (1 - att): "
              "dpreatt = att * (datt - (datt * att).sum(-1, keepdim=True))")


def test_attention_scores(check):
    g = attn_grads(check, (6, 4))
    check("dq", pick(g, "dq", "attention_backward"), **TOL,
          msg="preatt = (q @ k^T) / sqrt(hs): dq = (dpreatt @ k) / sqrt(hs). Did you forget the 1/sqrt(hs)?")
    check("dk", pick(g, "dk", "attention_backward"), **TOL,
          msg="dk = (dpreatt^T @ q) / sqrt(hs): key j collects the gradient of column j of the scores, so transpose "
              "dpreatt (last two axes); dpreatt @ q has the right shape but the wrong numbers")


def test_attention_multi_head(check):
    g = attn_grads(check, (2, 3, 5, 8), salt=20)
    for key in ("datt", "dpreatt", "dq", "dk", "dv"):
        check(f"{key} (B, nh, T, hs)", pick(g, key, "attention_backward"), **TOL,
              msg=f"{key} is wrong with leading (batch, head) axes: transpose with .transpose(-2, -1), never .T, "
                  "and reduce only over the last axis")


def test_self_attention(check):
    g = sa_grads(check, 2, 6, 16, 4, salt=30)
    msgs = {
        "dy": "out = y @ w_proj.T + b_proj, so dy = dout @ w_proj",
        "dw_proj": "dw_proj has nn.Linear's layout (out, in): dout^T @ y over all B*T rows, "
                   "dout.reshape(-1, C).T @ y.reshape(-1, C) (not y^T @ dout)",
        "db_proj": "db_proj = dout summed over B and T",
        "dq": "undo the merge of the heads before attention_backward: dy.view(B, T, n_head, hs).transpose(1, 2)",
        "dk": "undo the merge of the heads before attention_backward: dy.view(B, T, n_head, hs).transpose(1, 2)",
        "dv": "undo the merge of the heads before attention_backward: dy.view(B, T, n_head, hs).transpose(1, 2)",
        "dqkv": "merge each of dq, dk, dv back with .transpose(1, 2).reshape(B, T, C), then torch.cat in the order q, k, v on dim 2",
        "dx": "qkv = x @ w_attn.T + b_attn, so dx = dqkv @ w_attn",
        "dw_attn": "dw_attn = dqkv.reshape(-1, 3C).T @ x.reshape(-1, C), shape (3C, C)",
        "db_attn": "db_attn = dqkv summed over B and T, shape (3C,)",
    }
    for key in SA_KEYS:
        check(key, pick(g, key, "self_attention_backward"), **TOL, msg=msgs[key])


def test_against_autograd(check):
    """Your gradients next to out.backward(dout)'s (read the printed table, top to bottom)."""
    B, T, C, n_head = 2, 5, 12, 3
    params, dout = sa_setup(check, B, T, C, n_head, salt=40)
    leaves = [p.clone().requires_grad_() for p in params]
    out, auto = self_attention_forward(*leaves, n_head, retain_grad=True)
    out.backward(dout)
    with torch.no_grad():
        _, cache = self_attention_forward(*params, n_head)
        mine = self_attention_backward(dout, cache)
    a = auto["attn"]
    ref = {"dy": auto["y"].grad, "dw_proj": leaves[3].grad, "db_proj": leaves[4].grad,
           "datt": a["att"].grad, "dpreatt": a["preatt"].grad, "dq": a["q"].grad, "dk": a["k"].grad,
           "dv": a["v"].grad, "dqkv": auto["qkv"].grad, "dx": leaves[0].grad, "dw_attn": leaves[1].grad,
           "db_attn": leaves[2].grad}
    with torch.no_grad():
        inner = attention_backward(mine["dy"].reshape(B, T, n_head, C // n_head).transpose(1, 2), cache["attn"]) \
            if isinstance(mine, dict) and "dy" in mine else {}
    print(f"{'gradient':<9} {'allclose':<9} max |difference|")
    for key, want in ref.items():
        got = inner.get(key) if key in ("datt", "dpreatt") else mine.get(key)
        same = torch.is_tensor(got) and got.shape == want.shape
        ok = same and torch.allclose(got, want, rtol=1e-5, atol=1e-8)
        diff = (got - want).abs().max().item() if same else float("nan")
        print(f"{key:<9} {str(ok):<9} {diff:.2e}")
    # The table is for you; what is graded is your gradients next to the reference's, which are autograd's.
    check("every gradient", {k: mine.get(k) for k in SA_KEYS}, **TOL,
          msg="at least one gradient differs from autograd's: the printed table shows which (start from the top)")


def test_no_autograd(check):
    # Which names backward.py uses is a property of its source, not a value; the gradients below
    # are what the reference judges.
    dx, dw, db = ln_grads(check, (3, 7), salt=50)
    check("LayerNorm gradients", {"dx": dx, "dweight": dw, "dbias": db}, **TOL,
          msg="the LayerNorm gradients differ on a (3, 7) input")
    banned, found, prev = {"autograd", "enable_grad", "set_grad_enabled", "requires_grad", "requires_grad_",
                           "retain_grad", "functorch", "vjp", "jvp", "jacrev", "jacfwd"}, set(), None
    with open("backward.py", encoding="utf-8") as fh:
        for tok in tokenize.generate_tokens(io.StringIO(fh.read()).readline):
            if tok.type == tokenize.NAME and (tok.string in banned or (prev == "." and tok.string in ("backward", "grad", "func"))):
                found.add(tok.string)
            if tok.type in (tokenize.NAME, tokenize.OP):
                prev = tok.string
    check.true("backward.py does not use autograd", not found,
               msg=f"write the gradients yourself: backward.py may not use {', '.join(sorted(found))} "
                   "(no .backward(), torch.autograd, .grad or torch.func)")
