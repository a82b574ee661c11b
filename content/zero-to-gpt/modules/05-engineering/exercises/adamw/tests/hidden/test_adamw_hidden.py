"""Hidden tests for AdamW: random hyperparameters, a large eps, group overrides, unused parameters."""

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


def test_random_hyperparameters(check):
    rng = random.Random(check.seed)
    for trial in range(3):
        hp = dict(lr=10 ** rng.uniform(-3, -1.5), betas=(rng.uniform(0.8, 0.95), rng.uniform(0.95, 0.9999)),
                  eps=10 ** rng.uniform(-9, -6), weight_decay=rng.uniform(0.0, 0.3))
        model, x, y = make_problem()
        losses = train(model, AdamW(model.parameters(), **hp), x, y, 20)
        check(f"trial {trial}: losses over 20 steps", losses, **TOL,
              msg="with other lr / betas / eps / weight_decay the loss curve differs: use the hyperparameters "
                  "you were given (no hard-coded 0.9 or 0.999)")
        check(f"trial {trial}: all parameters after 20 steps", torch.cat([p.detach().flatten() for p in model.parameters()]),
              **TOL, msg="the parameters differ from the reference AdamW after 20 steps")


def test_large_eps_small_gradients(check):
    # Gradients of about 1e-4 and eps = 1e-4: where eps goes in the formula matters a lot here.
    model, x, y = make_problem()
    hp = dict(lr=1e-2, eps=1e-4, weight_decay=0.05)
    train(model, AdamW(model.parameters(), **hp), x, y, 20, scale=1e-4)
    check("all parameters after 20 steps (eps = 1e-4, tiny gradients)",
          torch.cat([p.detach().flatten() for p in model.parameters()]), **TOL,
          msg="eps is added OUTSIDE the square root: denominator = sqrt(v_hat) + eps, not sqrt(v_hat + eps)")


def test_group_overrides_and_unused_parameter(check):
    model, x, y = make_problem()
    unused = torch.nn.Parameter(torch.randn(3, dtype=torch.float64))  # never gets a gradient

    def groups(m, extra):
        first, last = list(m[0].parameters()), list(m[3].parameters())
        norm = list(m[1].parameters())
        return [
            {"params": first},  # uses every default
            {"params": last, "lr": 3e-2, "betas": (0.8, 0.95), "weight_decay": 0.2},
            {"params": norm + [extra], "weight_decay": 0.0},
        ]

    defaults = dict(lr=1e-2, weight_decay=0.05)
    train(model, AdamW(groups(model, unused), **defaults), x, y, 20)
    check("all parameters after 20 steps (groups with their own lr, betas, weight_decay)",
          torch.cat([p.detach().flatten() for p in model.parameters()]), **TOL,
          msg="a group's own lr / betas / weight_decay override the constructor's defaults for that group only")
    check("a parameter that never gets a gradient", unused.detach().clone(), exact=True,
          msg="a parameter without a gradient must stay exactly as it was: skip it when p.grad is None "
              "(no Adam update and no weight decay either)")


def test_zero_grad(check):
    model, x, y = make_problem()
    opt = AdamW(model.parameters())
    F.cross_entropy(model(x), y).backward()
    opt.step()
    opt.zero_grad()
    # None and zeros are both fine, so the check records which parameters were cleared.
    check("parameters whose gradient zero_grad cleared", [p.grad is None or not p.grad.any() for p in model.parameters()],
          exact=True, msg="zero_grad must reset the .grad of every parameter in every group (to None or to zeros)")
    # a generator (model.parameters()) must be accepted and kept: a second step must still update
    F.cross_entropy(model(x), y).backward()
    opt.step()
    check("parameters after a second step", torch.cat([p.detach().flatten() for p in model.parameters()]), **TOL,
          msg="store the parameters as a list: model.parameters() is a generator that is empty the second "
                   "time you loop over it")


def test_parameter_joins_late(check):
    # A second head that only joins the loss after LATE steps: until then its .grad is None and
    # AdamW skips it. PyTorch counts steps per parameter, so its first update uses t = 1.
    late = 5
    model, x, y = make_problem()
    head = torch.nn.Linear(5, 4).double()
    opt = AdamW(list(model.parameters()) + list(head.parameters()), lr=2e-2, betas=(0.9, 0.99), weight_decay=0.1)
    losses = []
    for step in range(late + 6):
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        if step >= late:
            loss = loss + F.cross_entropy(head(x), y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    check("the late head after its first update and five more",
          torch.cat([p.detach().flatten() for p in head.parameters()]), **TOL,
          msg="a parameter that first gets a gradient late starts its own step count at 1: keep t in "
              "self.state[p] and increase it only when p is updated, not once per call of step()")
    check("the other parameters after all steps", torch.cat([p.detach().flatten() for p in model.parameters()]),
          **TOL, msg="the parameters that had a gradient from the start differ from the reference AdamW")
    check("losses, before and after the head joins", losses, **TOL,
          msg="the loss curve differs: check the update of the parameters that join late (their own t) and of the others")
