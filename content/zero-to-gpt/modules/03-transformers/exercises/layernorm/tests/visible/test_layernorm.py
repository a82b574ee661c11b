import io
import tokenize

import torch

from layernorm import LayerNorm


def randn(check, *shape, salt=0):
    g = torch.Generator().manual_seed(check.seed + salt)
    return torch.randn(*shape, generator=g)


def set_params(ln, check, salt=100):
    """Non-trivial gain and bias, the same for every implementation."""
    with torch.no_grad():
        ln.weight.copy_(1.0 + 0.5 * randn(check, *ln.weight.shape, salt=salt))
        if ln.bias is not None:
            ln.bias.copy_(0.5 * randn(check, *ln.bias.shape, salt=salt + 1))


def test_parameters(check):
    ln = LayerNorm(8)
    check("weight", ln.weight, exact=True, msg="self.weight should be nn.Parameter(torch.ones(ndim)): the gain starts at 1")
    check("bias", ln.bias, exact=True, msg="self.bias should be nn.Parameter(torch.zeros(ndim)): the shift starts at 0")
    check("parameter names", sorted(name for name, _ in ln.named_parameters()), exact=True,
          msg="weight and bias must be nn.Parameter attributes named weight and bias, so the optimizer sees them")
    no_bias = LayerNorm(8, bias=False)
    check("bias with bias=False", no_bias.bias, exact=True, msg="with bias=False set self.bias = None")
    check("parameter names without bias", sorted(name for name, _ in no_bias.named_parameters()), exact=True,
          msg="with bias=False the only parameter is weight")


def test_normalises_last_axis(check):
    x = randn(check, 4, 5, 16) * 3 + 2
    out = LayerNorm(16)(x)
    check("shape", list(out.shape), msg="the output has the same shape as the input")
    check("mean over the last axis", out.mean(dim=-1), tol=1e-5,
          msg="every vector along the LAST axis (dim=-1, its features) should have mean 0 -- not along the batch axis (dim=0)")
    check("variance over the last axis", out.var(dim=-1, unbiased=False), tol=1e-4,
          msg="every vector should have (biased) variance 1: divide by n, not n - 1 (x.var(dim=-1, unbiased=False), "
              "or ((x - mean) ** 2).mean(dim=-1)), and take its square root")
    check("output", out, tol=1e-4,
          msg="the output differs: (x - mean) / sqrt(var + eps), with the mean and biased variance over dim=-1")


def test_worked_example(check):
    out = LayerNorm(4)(torch.tensor([[1.0, 2.0, 3.0, 4.0]]))
    check("LayerNorm(4)([1, 2, 3, 4])", out, tol=1e-4,
          msg="mean 2.5, biased variance 1.25, so the result is (x - 2.5) / sqrt(1.25 + 1e-5)")


def test_matches_functional(check):
    x = randn(check, 3, 7, 16) * 2 - 1
    ln = LayerNorm(16)
    set_params(ln, check)
    # The reference's output is what torch.nn.functional.layer_norm gives with the same weight and bias.
    check("output", ln(x), tol=1e-4,
          msg="with a gain other than 1 and a bias other than 0 the output differs: return x_hat * self.weight + self.bias")


def test_tiny_variance(check):
    x = 5.0 + 1e-3 * randn(check, 4, 32)  # the variance (1e-6) is smaller than eps (1e-5)
    ln = LayerNorm(32)
    check("output", ln(x), tol=1e-4,
          msg="vectors with a tiny variance come out wrong: eps goes INSIDE the square root, (x - mean) / sqrt(var + eps)")


def test_no_bias(check):
    x = randn(check, 6, 16)
    ln = LayerNorm(16, bias=False)
    set_params(ln, check)
    check("output", ln(x), tol=1e-5, msg="with bias=False the output is just x_hat * self.weight")


def test_gradients(check):
    x = randn(check, 3, 5, 16).requires_grad_()
    ln = LayerNorm(16)
    set_params(ln, check)
    (ln(x) * randn(check, 3, 5, 16, salt=7)).sum().backward()
    check("grad of x", x.grad, tol=1e-5, msg="gradients with respect to the input differ: build the output from torch operations only")
    check("grad of weight", ln.weight.grad, tol=1e-5, msg="the gain gets no (or the wrong) gradient: is self.weight an nn.Parameter used in forward?")
    check("grad of bias", ln.bias.grad, tol=1e-5, msg="the bias gets no (or the wrong) gradient: is self.bias an nn.Parameter used in forward?")


def test_no_builtin_layer_norm(check):
    banned = {"layer_norm", "native_layer_norm", "group_norm", "rms_norm", "batch_norm", "instance_norm"}
    used, prev = set(), None
    with open("layernorm.py", encoding="utf-8") as fh:
        for tok in tokenize.generate_tokens(io.StringIO(fh.read()).readline):
            if tok.type == tokenize.NAME and (tok.string in banned or (tok.string == "LayerNorm" and prev in (".", "import", ","))):
                used.add(tok.string)
            if tok.type in (tokenize.NAME, tokenize.OP):
                prev = tok.string
    check("built-in normalisations used", sorted(used), exact=True,
          msg="write the normalisation yourself: layernorm.py may not call F.layer_norm or nn.LayerNorm")
