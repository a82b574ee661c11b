import torch

from layernorm import LayerNorm


def randn(check, *shape, salt=0):
    g = torch.Generator().manual_seed(check.seed + salt)
    return torch.randn(*shape, generator=g)


def set_params(ln, check, salt=100):
    with torch.no_grad():
        ln.weight.copy_(1.0 + 0.5 * randn(check, *ln.weight.shape, salt=salt))
        if ln.bias is not None:
            ln.bias.copy_(0.5 * randn(check, *ln.bias.shape, salt=salt + 1))


def test_other_shapes(check):
    for i, shape in enumerate([(5, 8), (1, 6), (2, 3, 4, 10), (7, 1), (3, 2, 64)]):
        x = randn(check, *shape, salt=i) * (i + 1)
        ln = LayerNorm(shape[-1])
        set_params(ln, check, salt=50 + i)
        check(f"output #{i}", ln(x), tol=1e-5, msg=f"an input of shape {shape} gives the wrong result: normalise over dim=-1 whatever the rank")


def test_constant_vectors(check):
    x = torch.full((3, 12), 4.0)
    ln = LayerNorm(12)
    set_params(ln, check)
    out = ln(x)
    check("finite", torch.isfinite(out), exact=True, msg="a constant vector has variance 0: eps inside the square root avoids dividing by zero")
    check("output", out, tol=1e-5, msg="a constant vector normalises to 0, so the output is the bias")


def test_float64(check):
    x = randn(check, 4, 9).double() * 10
    ln = LayerNorm(9).double()
    set_params(ln, check)
    out = ln(x)
    check("dtype", str(out.dtype), exact=True, msg="a float64 input and module should give a float64 output")
    check("output", out, tol=1e-9, msg="float64 results differ: avoid constants that force float32")


def test_no_bias_gradients(check):
    x = randn(check, 2, 4, 8).requires_grad_()
    ln = LayerNorm(8, bias=False)
    set_params(ln, check)
    ln(x).pow(2).sum().backward()
    check("grad of x", x.grad, tol=1e-5, msg="gradients differ with bias=False")
    check("grad of weight", ln.weight.grad, tol=1e-5, msg="the gain's gradient differs with bias=False")
