"""Hidden tests for AdamW: random hyperparameters, a large eps, group overrides, unused parameters."""

import copy
import random

import torch
import torch.nn.functional as F

from optim import AdamW

TOL = dict(tol=1e-6, rtol=1e-5)


def make_problem(width=8):
    model = torch.nn.Sequential(
        torch.nn.Linear(5, width), torch.nn.LayerNorm(width), torch.nn.GELU(), torch.nn.Linear(width, 4)
    ).double()
    x = torch.randn(24, 5, dtype=torch.float64)
    y = torch.randint(0, 4, (24,))
    return model, x, y


def train(model, opt, x, y, steps, scale=1.0):
    losses = []
    for _ in range(steps):
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y) * scale
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses


def same_as_torch(a, b):
    return all(torch.allclose(p, q, rtol=1e-5, atol=1e-6) for p, q in zip(a.parameters(), b.parameters()))


def test_random_hyperparameters(check):
    rng = random.Random(check.seed)
    for trial in range(3):
        hp = dict(lr=10 ** rng.uniform(-3, -1.5), betas=(rng.uniform(0.8, 0.95), rng.uniform(0.95, 0.9999)),
                  eps=10 ** rng.uniform(-9, -6), weight_decay=rng.uniform(0.0, 0.3))
        model, x, y = make_problem()
        twin = copy.deepcopy(model)
        losses = train(model, AdamW(model.parameters(), **hp), x, y, 20)
        train(twin, torch.optim.AdamW(twin.parameters(), **hp), x, y, 20)
        check(f"trial {trial}: losses over 20 steps", losses, **TOL,
              msg="with other lr / betas / eps / weight_decay the loss curve differs: use the hyperparameters "
                  "you were given (no hard-coded 0.9 or 0.999)")
        check(f"trial {trial}: all parameters after 20 steps", torch.cat([p.detach().flatten() for p in model.parameters()]),
              **TOL, msg="the parameters differ from the reference AdamW after 20 steps")
        check.true(f"trial {trial}: matches torch.optim.AdamW", same_as_torch(model, twin),
                   msg="your parameters drift away from torch.optim.AdamW's")


def test_large_eps_small_gradients(check):
    # Gradients of about 1e-4 and eps = 1e-4: where eps goes in the formula matters a lot here.
    model, x, y = make_problem()
    twin = copy.deepcopy(model)
    hp = dict(lr=1e-2, eps=1e-4, weight_decay=0.05)
    train(model, AdamW(model.parameters(), **hp), x, y, 20, scale=1e-4)
    train(twin, torch.optim.AdamW(twin.parameters(), **hp), x, y, 20, scale=1e-4)
    check("all parameters after 20 steps (eps = 1e-4, tiny gradients)",
          torch.cat([p.detach().flatten() for p in model.parameters()]), **TOL,
          msg="eps is added OUTSIDE the square root: denominator = sqrt(v_hat) + eps, not sqrt(v_hat + eps)")
    check.true("matches torch.optim.AdamW", same_as_torch(model, twin),
               msg="with a large eps your parameters drift away from torch.optim.AdamW's")


def test_group_overrides_and_unused_parameter(check):
    model, x, y = make_problem()
    unused = torch.nn.Parameter(torch.randn(3, dtype=torch.float64))  # never gets a gradient
    twin = copy.deepcopy(model)
    unused_twin = unused.detach().clone().requires_grad_(True)

    def groups(m, extra):
        first, last = list(m[0].parameters()), list(m[3].parameters())
        norm = list(m[1].parameters())
        return [
            {"params": first},  # uses every default
            {"params": last, "lr": 3e-2, "betas": (0.8, 0.95), "weight_decay": 0.2},
            {"params": norm + [extra], "weight_decay": 0.0},
        ]

    defaults = dict(lr=1e-2, weight_decay=0.05)
    before = unused.detach().clone()
    train(model, AdamW(groups(model, unused), **defaults), x, y, 20)
    train(twin, torch.optim.AdamW(groups(twin, unused_twin), **defaults), x, y, 20)
    check("all parameters after 20 steps (groups with their own lr, betas, weight_decay)",
          torch.cat([p.detach().flatten() for p in model.parameters()]), **TOL,
          msg="a group's own lr / betas / weight_decay override the constructor's defaults for that group only")
    check("a parameter that never gets a gradient", unused.detach().clone(), **TOL,
          msg="skip parameters whose .grad is None: no Adam update and no weight decay either")
    check.true("the unused parameter did not change", torch.equal(unused.detach(), before),
               msg="a parameter without a gradient must stay exactly as it was (skip it when p.grad is None)")
    check.true("matches torch.optim.AdamW", same_as_torch(model, twin),
               msg="with per-group settings your parameters drift away from torch.optim.AdamW's")


def test_zero_grad(check):
    model, x, y = make_problem()
    opt = AdamW(model.parameters())
    F.cross_entropy(model(x), y).backward()
    opt.step()
    opt.zero_grad()
    check.true("zero_grad clears every gradient",
               all(p.grad is None or not p.grad.any() for p in model.parameters()),
               msg="zero_grad must reset the .grad of every parameter in every group (to None or to zeros)")
    # a generator (model.parameters()) must be accepted and kept: a second step must still update
    before = [p.detach().clone() for p in model.parameters()]
    F.cross_entropy(model(x), y).backward()
    opt.step()
    check.true("a second step still updates the parameters",
               all(not torch.equal(a, p.detach()) for a, p in zip(before, model.parameters())),
               msg="store the parameters as a list: model.parameters() is a generator that is empty the second "
                   "time you loop over it")
