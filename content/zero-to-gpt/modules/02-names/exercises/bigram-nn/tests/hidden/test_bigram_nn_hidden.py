import random

import torch

from bigram_nn import forward_loss, train_bigram_nn


def test_few_steps(check):
    rng = random.Random(check.seed)
    n = rng.randint(200, 2000)
    xs = torch.randint(0, 27, (n,))
    ys = torch.randint(0, 27, (n,))
    seed = rng.randrange(2**31)
    W0, losses0 = train_bigram_nn(xs, ys, steps=0, lr=1.0, reg=0.0, generator=torch.Generator().manual_seed(seed))
    check("W before any step", W0, tol=1e-6, msg="start from W = torch.randn((27, 27), generator=generator): no other random draws")
    check("no steps, no losses", losses0)
    W, losses = train_bigram_nn(xs, ys, steps=4, lr=5.0, reg=0.05, generator=torch.Generator().manual_seed(seed))
    check("losses of 4 steps", losses, tol=1e-5)
    check("W after 4 steps", W, tol=1e-5,
          msg="each step: loss, W.grad = None (or zero it), loss.backward(), then W -= lr * W.grad; gradients must not pile up across steps")


def test_forward_random(check):
    rng = random.Random(check.seed)
    for i in range(3):
        n = rng.randint(1, 500)
        xs = torch.randint(0, 27, (n,))
        ys = torch.randint(0, 27, (n,))
        W = torch.randn((27, 27)) * rng.uniform(0.1, 5.0)
        reg = round(rng.uniform(0, 0.5), 3)
        check(f"loss #{i} (n={n}, reg={reg})", float(forward_loss(W, xs, ys, reg=reg)), tol=1e-5, rtol=1e-6)
