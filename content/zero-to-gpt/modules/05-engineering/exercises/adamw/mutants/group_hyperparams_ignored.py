"""AdamW written by hand: the same update as torch.optim.AdamW (without amsgrad/maximize)."""

import math

import torch


class AdamW:
    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2):
        self.defaults = {"lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay}
        params = list(params)
        if not params:
            raise ValueError("AdamW got an empty parameter list")
        if not isinstance(params[0], dict):
            params = [{"params": params}]
        self.param_groups = []
        for group in params:
            group = dict(group)
            group["params"] = list(group["params"])
            for key, value in self.defaults.items():
                group.setdefault(key, value)
            self.param_groups.append(group)
        self.state = {}  # parameter -> {"step", "exp_avg", "exp_avg_sq"}

    def zero_grad(self):
        for group in self.param_groups:
            for p in group["params"]:
                p.grad = None

    @torch.no_grad()
    def step(self):
        for group in self.param_groups:
            lr, eps, wd = self.defaults["lr"], self.defaults["eps"], group["weight_decay"]
            beta1, beta2 = self.defaults["betas"]
            for p in group["params"]:
                if p.grad is None:
                    continue  # no gradient, no update (not even weight decay)
                g = p.grad
                state = self.state.get(p)
                if state is None:
                    state = {"step": 0, "exp_avg": torch.zeros_like(p), "exp_avg_sq": torch.zeros_like(p)}
                    self.state[p] = state
                state["step"] += 1
                t = state["step"]
                m, v = state["exp_avg"], state["exp_avg_sq"]

                # decoupled weight decay: shrink the weights directly, before the Adam step
                p.mul_(1 - lr * wd)

                # running averages of the gradient and of its square
                m.mul_(beta1).add_(g, alpha=1 - beta1)
                v.mul_(beta2).addcmul_(g, g, value=1 - beta2)

                # bias correction, folded into the step size and the denominator
                bias1 = 1 - beta1 ** t
                bias2 = 1 - beta2 ** t
                denom = (v.sqrt() / math.sqrt(bias2)).add_(eps)
                p.addcdiv_(m, denom, value=-lr / bias1)
