import random

import torch

from names_data import build_dataset, load_words, split, vocabulary
from wavenet import BatchNorm1d, FlattenConsecutive, build_wavenet, train

stoi, itos = vocabulary()


def test_flatten_other_shapes(check):
    rng = random.Random(check.seed)
    for case in range(3):
        n = rng.choice([2, 3, 4])
        B, T, C = rng.randint(1, 5), n * rng.randint(1, 4), rng.randint(1, 6)
        x = torch.randn(B, T, C)
        out = FlattenConsecutive(n)(x)
        check(f"case {case}: shape", list(out.shape),
              msg="(B, T, C) -> (B, T // n, C * n), and (B, C * n) when a single position is left")
        check(f"case {case}: values", out, tol=0,
              msg="fuse n CONSECUTIVE positions, each keeping its channels in order (a plain view, no permute)")
    x = torch.randn(3, 4, 2, requires_grad=True)
    w = torch.randn(3, 8)
    (FlattenConsecutive(4)(x) * w).sum().backward()
    check("gradient through a full flatten", x.grad, tol=1e-6,
          msg="the layer must stay differentiable and fuse the positions in order")


def test_batchnorm_against_torch(check):
    rng = random.Random(check.seed)
    for case in range(3):
        dim = rng.randint(2, 7)
        eps, momentum = rng.choice([1e-5, 1e-3]), rng.choice([0.1, 0.3])
        # The reference's values here are torch.nn.BatchNorm1d's, which wants (B, C, T): see the reference.
        mine = BatchNorm1d(dim, eps=eps, momentum=momentum)
        mine.gamma = (torch.rand(dim) + 0.5).requires_grad_(True)
        mine.beta = torch.randn(dim).requires_grad_(True)
        for step in range(6):
            shape = (rng.randint(2, 6), rng.randint(2, 6), dim) if step % 2 == 0 else (rng.randint(2, 20), dim)
            x = torch.randn(*shape) * rng.uniform(0.1, 4.0) + rng.uniform(-3.0, 3.0)
            mine.training = step not in (2, 5)
            check(f"case {case} step {step} output", mine(x), tol=1e-5, rtol=1e-5,
                  msg="3-D inputs use the statistics over dims (0, 1), 2-D over dim 0; biased variance to normalise; "
                      "in eval mode the running statistics")
        check(f"case {case} running_mean", mine.running_mean, tol=1e-5, rtol=1e-5,
              msg="running_mean: one number per channel, updated after every TRAINING call with the constructor's momentum")
        check(f"case {case} running_var", mine.running_var, tol=1e-5, rtol=1e-5,
              msg="running_var: the UNBIASED variance over all B * T vectors of a 3-D batch, after every TRAINING call only")
    bn = BatchNorm1d(5)
    bn.gamma = (torch.rand(5) + 0.5).requires_grad_(True)
    bn.beta = torch.randn(5).requires_grad_(True)
    x = (torch.randn(4, 6, 5) * 2.0 + 1.0).requires_grad_(True)
    (bn(x) * torch.randn(4, 6, 5)).sum().backward()
    check("x.grad through a 3-D batch", x.grad, tol=1e-5, rtol=1e-5,
          msg="the batch mean and variance are part of the graph: do not detach them; only the running update is no_grad")
    check("gamma.grad", bn.gamma.grad, tol=1e-5, rtol=1e-5, msg="gamma multiplies the normalised input")


def set_parameters(model, gen, scale=0.5):
    for layer in model.layers:
        for name in ("weight", "bias", "gamma", "beta"):
            p = getattr(layer, name, None)
            if p is not None:
                base = 1.0 if name == "gamma" else 0.0
                setattr(layer, name, (base + torch.randn(p.shape, generator=gen) * scale).requires_grad_(True))


def test_model_other_sizes(check):
    rng = random.Random(check.seed)
    vocab, block = rng.randint(5, 30), rng.choice([4, 16])
    n_embd, n_hidden = rng.randint(2, 12), rng.randint(4, 40)
    model = build_wavenet(vocab, block, n_embd, n_hidden, generator=torch.Generator().manual_seed(0))
    gen = torch.Generator().manual_seed(rng.randrange(2**31))
    label = f"vocab {vocab}, block {block}, n_embd {n_embd}, n_hidden {n_hidden}"
    check(f"layer types ({label})", [type(layer).__name__ for layer in model.layers],
          msg="one FlattenConsecutive(2) / Linear / BatchNorm1d / Tanh level per halving of block_size")
    check(f"parameter shapes ({label})", [list(p.shape) for p in model.parameters()],
          msg="the sizes must follow the arguments: the first Linear takes 2 * n_embd, the others 2 * n_hidden")
    set_parameters(model, gen)
    X = torch.randint(0, vocab, (rng.randint(3, 12), block), generator=gen)
    check(f"logits in training mode ({label})", model(X), tol=1e-4, rtol=1e-4,
          msg="the forward pass of the hierarchical model, with BatchNorm1d over dims (0, 1) at the 3-D levels")
    for layer in model.layers:
        layer.training = False
    check(f"logits in eval mode ({label})", model(X[:2]), tol=1e-4, rtol=1e-4,
          msg="in eval mode each BatchNorm1d normalises with its running statistics")


def test_train_other_schedule(check):
    rng = random.Random(check.seed)
    model = build_wavenet(27, 4, 5, 12, generator=torch.Generator().manual_seed(0))
    gen = torch.Generator().manual_seed(rng.randrange(2**31))
    set_parameters(model, gen)
    words, _, _ = split(load_words(check.data("names.txt")))
    X, Y = build_dataset(words[-200:], 4, stoi)
    lrs = [round(rng.uniform(0.01, 0.3), 3) for _ in range(6)]
    batch = rng.choice([2, 9, 50])
    losses = train(model, X, Y, steps=6, batch_size=batch, lr_schedule=lambda s: lrs[s], generator=gen)
    check(f"losses (batch {batch}, learning rates {lrs})", losses, tol=1e-5,
          msg="one minibatch per step from the generator, the learning rate of that step, gradients reset each step")
    check("parameters after 6 steps", [p.detach() for p in model.parameters()], tol=1e-5,
          msg="every parameter of model.parameters() is updated in place")
    bns = [layer for layer in model.layers if isinstance(layer, BatchNorm1d)]
    check("running statistics after 6 steps", [[bn.running_mean, bn.running_var] for bn in bns], tol=1e-5,
          msg="each training step updates every BatchNorm1d's running statistics once")
