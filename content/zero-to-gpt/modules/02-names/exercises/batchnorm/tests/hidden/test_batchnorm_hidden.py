import random

import torch

from layers import BatchNorm1d


def test_matches_torch_random(check):
    rng = random.Random(check.seed)
    for case in range(3):
        dim = rng.randint(3, 12)
        # The reference's values here are torch.nn.BatchNorm1d's on the same inputs.
        mine = BatchNorm1d(dim)
        with torch.no_grad():
            mine.gamma.copy_(torch.rand(dim) + 0.5)
            mine.beta.copy_(torch.randn(dim))
        for step in range(8):
            n = rng.randint(2, 40)
            x = torch.randn(n, dim) * rng.uniform(0.01, 5.0) + rng.uniform(-3.0, 3.0)
            if step in (3, 7):
                mine.eval()
            else:
                mine.train()
            out = mine(x)
            check(f"case {case} step {step} output", out, tol=1e-5, rtol=1e-5,
                  msg="output differs: training mode uses batch mean and biased variance, eval mode the running stats; "
                      "then gamma * xhat + beta")
        check(f"case {case} running_mean", mine.running_mean, tol=1e-5, rtol=1e-5,
              msg="running_mean: (1 - 0.1) * old + 0.1 * batch_mean after every TRAINING call only")
        check(f"case {case} running_var", mine.running_var, tol=1e-5, rtol=1e-5,
              msg="running_var: (1 - 0.1) * old + 0.1 * unbiased batch variance after every TRAINING call only")


def test_gradients_flow(check):
    bn = BatchNorm1d(6)
    with torch.no_grad():
        bn.gamma.copy_(torch.rand(6) + 0.5)
        bn.beta.copy_(torch.randn(6))
    x = (torch.randn(24, 6) * 2.0 + 1.0).requires_grad_()
    w = torch.randn(24, 6)
    for _ in range(2):
        out = bn(x)
    (out * w).sum().backward()
    check("x.grad", x.grad, tol=1e-5, rtol=1e-5,
          msg="the gradient must flow through the batch mean and variance too: do not .detach() them "
              "and do not compute the normalisation under torch.no_grad()")
    check("gamma.grad", bn.gamma.grad, tol=1e-5, rtol=1e-5, msg="gamma must be used as gamma * xhat so it gets a gradient")
    check("beta.grad", bn.beta.grad, tol=1e-5, rtol=1e-5, msg="beta must be added to the output so it gets a gradient")
    check("requires_grad of running_mean and running_var", [bn.running_mean.requires_grad, bn.running_var.requires_grad],
          exact=True, msg="update running_mean/running_var inside `with torch.no_grad():` (or from detached statistics): "
                   "they are buffers, and otherwise every batch's graph stays alive")


def test_constructor_arguments(check):
    bn = BatchNorm1d(3, eps=1e-2, momentum=0.5)
    x = torch.randn(10, 3) * 0.2
    check("output with eps=1e-2", bn(x), tol=1e-5, rtol=1e-5, msg="use the eps passed to the constructor, not a hard-coded 1e-5")
    check("running_mean with momentum=0.5", bn.running_mean, tol=1e-5, rtol=1e-5,
          msg="use the momentum passed to the constructor, not a hard-coded 0.1")
    check("running_var with momentum=0.5", bn.running_var, tol=1e-5, rtol=1e-5,
          msg="use the momentum passed to the constructor, not a hard-coded 0.1")
