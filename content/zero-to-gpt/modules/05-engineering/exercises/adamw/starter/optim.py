"""AdamW written by hand. It must make the same updates as torch.optim.AdamW."""

import math

import torch


class AdamW:
    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2):
        """`params` is either an iterable of tensors or a list of dicts ("param groups"), each with
        a "params" list and optionally its own "lr", "betas", "eps" or "weight_decay"."""
        self.defaults = {"lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay}
        params = list(params)  # model.parameters() is a generator: keep a list
        if params and not isinstance(params[0], dict):
            params = [{"params": params}]
        self.param_groups = []
        for group in params:
            group = dict(group)
            group["params"] = list(group["params"])
            # TODO: fill in the hyperparameters the group does not set from self.defaults
            self.param_groups.append(group)
        self.state = {}  # per-parameter state: step count, first moment m, second moment v

    def zero_grad(self):
        # TODO: clear the gradient of every parameter in every group (set p.grad = None)
        pass

    @torch.no_grad()
    def step(self):
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                # TODO: the AdamW update for p, using this group's lr, betas, eps, weight_decay:
                #   1. decoupled weight decay: p <- p * (1 - lr * weight_decay)
                #   2. m <- beta1 * m + (1 - beta1) * g ;  v <- beta2 * v + (1 - beta2) * g * g
                #   3. bias-correct m and v with the step count t of this parameter
                #   4. p <- p - lr * m_hat / (sqrt(v_hat) + eps)
                # For now this is plain SGD, which is not what the tests expect.
                p.add_(p.grad, alpha=-group.get("lr", self.defaults["lr"]))
