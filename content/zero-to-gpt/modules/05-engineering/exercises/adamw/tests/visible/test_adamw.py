"""Visible tests for the hand-written AdamW. Run them with the Run button.

Your parameters are compared with the reference solution's, which match torch.optim.AdamW's.
test_matches_torch also trains a twin with torch.optim.AdamW and prints how far yours drifts from it.
"""

import copy

import torch
import torch.nn.functional as F

from optim import AdamW

TOL = dict(tol=1e-6, rtol=1e-5)


def make_problem():
    """A tiny classifier (float64) and a fixed batch of data."""
    model = torch.nn.Sequential(
        torch.nn.Linear(4, 8), torch.nn.LayerNorm(8), torch.nn.Tanh(), torch.nn.Linear(8, 3)
    ).double()
    x = torch.randn(16, 4, dtype=torch.float64)
    y = torch.randint(0, 3, (16,))
    return model, x, y


def train(model, opt, x, y, steps):
    losses = []
    for _ in range(steps):
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses


def max_diff(model_a, model_b):
    return max((a - b).abs().max().item() for a, b in zip(model_a.parameters(), model_b.parameters()))


def test_single_step(check):
    # No weight decay: only the Adam part of the update.
    p = torch.tensor([1.0, -2.0, 0.5, 3.0], dtype=torch.float64, requires_grad=True)
    opt = AdamW([p], lr=0.1, weight_decay=0.0)
    p.grad = torch.tensor([0.1, -0.3, 0.02, 2.0], dtype=torch.float64)
    opt.step()
    check("p after one step (weight_decay=0)", p.detach().clone(), **TOL,
          msg="without weight decay the first step moves each weight by lr * sign(grad): bias correction "
              "turns m into g and v into g^2 (divide m by 1 - beta1**t and v by 1 - beta2**t, with t = 1)")

    # A zero gradient: the Adam part is 0, so only the weight decay acts.
    q = torch.tensor([1.0, -2.0, 0.5, 3.0], dtype=torch.float64, requires_grad=True)
    opt = AdamW([q], lr=0.1, weight_decay=0.1)
    q.grad = torch.zeros(4, dtype=torch.float64)
    opt.step()
    check("q after one step with a zero gradient (weight_decay=0.1)", q.detach().clone(), **TOL,
          msg="with a zero gradient only the decoupled decay acts: q * (1 - lr * weight_decay). Don't add "
              "weight_decay * q to the gradient (that is L2 regularisation), and don't forget the factor lr")

    # Both together, then a second step: the state (m, v, t) must carry over.
    r = torch.tensor([1.0, -2.0, 0.5, 3.0], dtype=torch.float64, requires_grad=True)
    opt = AdamW([r], lr=0.1, weight_decay=0.1)
    r.grad = torch.tensor([0.1, -0.3, 0.0, 2.0], dtype=torch.float64)
    opt.step()
    check("r after one step (weight_decay=0.1)", r.detach().clone(), **TOL,
          msg="first decay (r * (1 - lr * weight_decay)), then the Adam step lr * m_hat / (sqrt(v_hat) + eps)")
    r.grad = torch.tensor([0.1, -0.3, 0.0, 2.0], dtype=torch.float64)
    opt.step()
    check("r after a second step with the same gradient", r.detach().clone(), **TOL,
          msg="the moments m and v must persist between steps (keep them in per-parameter state) and the "
              "step counter t must go up to 2 for the bias correction")
    wraps_torch = isinstance(opt, (torch.optim.Adam, torch.optim.AdamW)) or any(
        isinstance(value, torch.optim.Optimizer) for value in vars(opt).values())
    # Whose code does the update is a property, not a value: the reference reports True too.
    check.true("the update is your own code, not torch.optim.Adam/AdamW", not wraps_torch,
               msg="write the arithmetic yourself: don't subclass or wrap torch.optim.Adam / torch.optim.AdamW")


def test_matches_torch(check):
    model, x, y = make_problem()
    twin = copy.deepcopy(model)
    opt = AdamW(model.parameters(), lr=1e-2, betas=(0.9, 0.99), eps=1e-8, weight_decay=0.1)
    opt_torch = torch.optim.AdamW(twin.parameters(), lr=1e-2, betas=(0.9, 0.99), eps=1e-8, weight_decay=0.1)
    losses = train(model, opt, x, y, 20)
    train(twin, opt_torch, x, y, 20)
    check("losses over 20 steps", losses, **TOL,
          msg="the loss curve differs from the reference: compare your update with the AdamW formula step by step")
    for name, p in model.named_parameters():
        check(f"{name} after 20 steps", p.detach().clone(), **TOL,
              msg="this parameter ends somewhere else than with the reference AdamW: check that eps is added "
                  "after the square root (sqrt(v_hat) + eps) and that m, v and t live in per-parameter state")
    diff = max_diff(model, twin)
    print(f"largest difference from torch.optim.AdamW: {diff:.3g}")


def test_param_groups(check):
    model, x, y = make_problem()

    def groups(m):
        decay = [p for p in m.parameters() if p.dim() >= 2]  # the two weight matrices
        no_decay = [p for p in m.parameters() if p.dim() < 2]  # biases and the LayerNorm gain/bias
        return [{"params": decay, "weight_decay": 0.1}, {"params": no_decay, "weight_decay": 0.0}]

    opt = AdamW(groups(model), lr=2e-2)
    train(model, opt, x, y, 20)
    for name, p in model.named_parameters():
        kind = "decayed weight" if p.dim() >= 2 else "no-decay parameter"
        check(f"{name} ({kind}) after 20 steps", p.detach().clone(), **TOL,
              msg="each group uses ITS OWN weight_decay (0.1 for the matrices, 0.0 for biases and LayerNorm); "
                  "the constructor's value is only the default for groups that don't set one")
