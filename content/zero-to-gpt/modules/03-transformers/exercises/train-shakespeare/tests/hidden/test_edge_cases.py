import math
import zlib

import torch

from model import GPT, GPTConfig
from train import get_batch, lr_at, train


def fill_weights(model, seed=0):
    params = dict(model.named_parameters(remove_duplicate=False))
    with torch.no_grad():
        for name in sorted(params):
            p = params[name]
            g = torch.Generator().manual_seed(seed + zlib.crc32(name.encode()))
            r = torch.randn(p.shape, generator=g)
            if p.dim() >= 2:
                p.copy_(r * (0.5 / math.sqrt(p.shape[-1])))
            elif name.endswith("weight"):
                p.copy_(1.0 + 0.1 * r)
            else:
                p.copy_(0.1 * r)


def test_get_batch_covers_the_data(check):
    data = torch.arange(20)
    starts = set()
    for i in range(4):
        x, y = get_batch(data, 8, 500, "cpu")
        check.true(f"windows fit #{i}", bool(y.max() <= 19) and bool((y == x + 1).all()),
                   msg="a window and its shifted copy must fit inside the data")
        starts |= set(x[:, 0].tolist())
    check.true("the first window can be drawn", 0 in starts, msg="start positions begin at 0")
    check.true("nearly every window can be drawn", set(range(11)) <= starts,
               msg="starts should range over 0 .. len(data) - block_size - 1: torch.randint(len(data) - block_size, ...)")


def test_lr_without_warmup(check):
    config = dict(learning_rate=6e-4, min_lr=6e-5, warmup_iters=0, max_iters=50)
    check("rates", [lr_at(s, config) for s in (0, 1, 25, 49, 50, 80)], tol=1e-12, rtol=1e-9,
          msg="with warmup_iters = 0 the cosine starts at step 0 at the full learning_rate")


def test_log_interval(check):
    model = GPT(GPTConfig(block_size=8, vocab_size=65, n_layer=1, n_head=2, n_embd=16, dropout=0.0, bias=False))
    fill_weights(model)
    g = torch.Generator().manual_seed(check.seed)
    batch = (torch.randint(65, (2, 8), generator=g), torch.randint(65, (2, 8), generator=g))
    steps = []
    config = dict(max_iters=7, learning_rate=1e-3, min_lr=1e-4, warmup_iters=2, weight_decay=0.1, beta1=0.9,
                  beta2=0.99, grad_clip=1.0, log_interval=3)
    train(model, lambda split: batch, config, lambda step, loss: steps.append(int(step)))
    check("logged steps", steps, exact=True, msg="log exactly when step % log_interval == 0: steps 0, 3, 6 for 7 steps")
