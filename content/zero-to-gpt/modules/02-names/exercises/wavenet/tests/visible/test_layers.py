import math

import torch
import torch.nn.functional as F

from names_data import build_dataset, load_words, split, vocabulary
from wavenet import BatchNorm1d, FlattenConsecutive, build_wavenet, train

stoi, itos = vocabulary()


def test_flatten_consecutive(check):
    x = torch.arange(2 * 8 * 3, dtype=torch.float32).view(2, 8, 3)
    out = FlattenConsecutive(2)(x)
    check("FlattenConsecutive(2) on (2, 8, 3): shape", list(out.shape),
          msg="(B, T, C) -> (B, T // n, C * n): here (2, 4, 6)")
    check("FlattenConsecutive(2) on (2, 8, 3): first fused position", out[0, 0], tol=0,
          msg="a fused position is position 0's 3 channels followed by position 1's: [x[0, 0], x[0, 1]] concatenated")
    check("FlattenConsecutive(2) on (2, 8, 3): values", out, tol=0,
          msg="fuse CONSECUTIVE positions (0 with 1, 2 with 3, ...): x.view(B, T // n, C * n) does exactly that")
    out4 = FlattenConsecutive(4)(x)
    check("FlattenConsecutive(4) on (2, 8, 3): values", out4, tol=0,
          msg="with n = 4, positions 0-3 become one vector of 12 numbers, positions 4-7 the next")
    last = FlattenConsecutive(2)(torch.arange(2 * 2 * 5, dtype=torch.float32).view(2, 2, 5))
    check("FlattenConsecutive(2) on (2, 2, 5): shape", list(last.shape),
          msg="when only one position is left, squeeze the time dimension away: (B, 1, C * n) -> (B, C * n)")
    check("FlattenConsecutive(2) on (2, 2, 5): values", last, tol=0,
          msg="when only one position is left, return (B, C * n): x.squeeze(1)")
    shapes, h = [], torch.randn(4, 8, 5)
    for _ in range(3):
        h = FlattenConsecutive(2)(h)
        shapes.append(list(h.shape))
    check("shapes through three FlattenConsecutive(2)", shapes,
          msg="8 positions -> 4 -> 2 -> 1, and the last one is squeezed: (4, 4, 10), (4, 2, 20), (4, 40)")


def test_batchnorm_3d(check):
    bn = BatchNorm1d(4)
    # every position has its own offset, so normalising each position separately gives other numbers
    x = torch.randn(8, 5, 4) * 2.0 + torch.linspace(-3.0, 3.0, 5).view(1, 5, 1)
    out = bn(x)
    check("output shape on (8, 5, 4)", list(out.shape), msg="BatchNorm1d keeps the shape of its input")
    check("output on (8, 5, 4)", out, tol=1e-5, rtol=1e-5,
          msg="on a (B, T, C) input the statistics of each channel are taken over dims (0, 1), all B * T "
              "vectors; over dim 0 alone you normalise each position separately")
    check("mean of the output over (0, 1)", out.mean((0, 1)), tol=1e-4,
          msg="each channel of the output should have mean 0 over the batch AND the time dimension")
    check("running_mean shape", list(bn.running_mean.shape),
          msg="running_mean and running_var keep the shape (dim,): one number per channel, not per position")
    check("running_var shape", list(bn.running_var.shape),
          msg="running_mean and running_var keep the shape (dim,): one number per channel, not per position")
    check("running_mean after one (8, 5, 4) batch", bn.running_mean, tol=1e-5, rtol=1e-5,
          msg="running_mean = 0.9 * running_mean + 0.1 * (the channel mean over dims (0, 1))")
    check("running_var after one (8, 5, 4) batch", bn.running_var, tol=1e-5, rtol=1e-5,
          msg="running_var = 0.9 * running_var + 0.1 * the UNBIASED variance over dims (0, 1), n = B * T = 40")
    bn2 = BatchNorm1d(3)
    y = torch.randn(16, 3) * 3.0 + 1.0
    check("output on a 2-D (16, 3) batch", bn2(y), tol=1e-5, rtol=1e-5,
          msg="a 2-D input is normalised over dim 0, as before, with the biased variance")
    check("running_var after a 2-D batch", bn2.running_var, tol=1e-5, rtol=1e-5,
          msg="for a 2-D input the running statistics use dim 0 (unbiased variance, n = batch size)")


def test_batchnorm_eval(check):
    bn = BatchNorm1d(4)
    for _ in range(3):
        bn(torch.randn(8, 5, 4) * 2.0 + 1.0)
    bn.training = False
    x = torch.randn(3, 5, 4) + 4.0  # unlike the training batches
    check("eval output on (3, 5, 4)", bn(x), tol=1e-5, rtol=1e-5,
          msg="with training = False, normalise with running_mean and running_var, not this batch's statistics")
    check("running_mean after an eval call", bn.running_mean, tol=1e-5, rtol=1e-5,
          msg="only training-mode calls update the running statistics; eval mode only reads them")
    check("running_var after an eval call", bn.running_var, tol=1e-5, rtol=1e-5,
          msg="only training-mode calls update the running statistics; eval mode only reads them")
    check("eval output for one sequence", bn(x[:1]), tol=1e-5, rtol=1e-5,
          msg="in eval mode one sequence at a time must give the same result as inside a batch")


def layer_shapes(model, X):
    shapes, h = [], X
    for layer in model.layers:
        h = layer(h)
        shapes.append(list(h.shape))
    return shapes


def test_model_shapes(check):
    model = build_wavenet(27, 8, 10, 32, generator=torch.Generator().manual_seed(check.seed))
    check("layer types", [type(layer).__name__ for layer in model.layers],
          msg="Embedding, then three times FlattenConsecutive(2), Linear (no bias), BatchNorm1d, Tanh, then the output Linear")
    check("output shape of every layer for a (4, 8) batch", layer_shapes(model, torch.randint(0, 27, (4, 8))),
          msg="(4, 8, 10) after the embedding; each level halves the positions: 8 -> 4 -> 2 -> 1 (squeezed); (4, 27) at the end")
    check("parameter shapes", [list(p.shape) for p in model.parameters()],
          msg="the hidden Linear layers have no bias (BatchNorm's beta does that job); parameters() lists the "
              "layers' parameters in order: weight (and bias) for Linear, gamma and beta for BatchNorm1d")
    big = build_wavenet(27, 8, 24, 128, generator=torch.Generator().manual_seed(1))
    check("number of parameters (n_embd 24, n_hidden 128)", sum(p.numel() for p in big.parameters()),
          msg="27*24 + 48*128 + 3*2*128 + 2*(256*128) + 128*27 + 27: hidden Linears without bias")
    check("every parameter requires grad", all(p.requires_grad for p in big.parameters()),
          msg="call p.requires_grad_(True) on every parameter at the end of build_wavenet")


def test_init(check):
    model = build_wavenet(27, 8, 24, 128, generator=torch.Generator().manual_seed(check.seed))
    train_words, _, _ = split(load_words(check.data("names.txt")))
    X, Y = build_dataset(train_words[:1000], 8, stoi)
    with torch.no_grad():
        loss = F.cross_entropy(model(X), Y).item()
    print(f"loss at initialisation {loss:.4f} (ln 27 = {math.log(27):.4f})")
    out = model.layers[-1]
    hidden = model.layers[2]
    msg = "the untrained model should guess almost uniformly, a loss near ln 27: multiply the output layer's weight by 0.1"
    check.at_most("loss at initialisation", loss, 3.35, msg=msg)
    check("loss at initialisation (the reference's)", loss, tol=0.05, msg=msg)
    check("std of the output weight * sqrt(fan_in)", out.weight.std().item() * out.weight.shape[0] ** 0.5, tol=0.02,
          msg="the last Linear's weight is randn / sqrt(fan_in), then multiplied by 0.1 (under torch.no_grad())")
    check("std of the first hidden weight * sqrt(fan_in)", hidden.weight.std().item() * hidden.weight.shape[0] ** 0.5,
          tol=0.1, msg="Linear draws its weight from randn / sqrt(fan_in): keep that scale for the hidden layers")
    check("output bias", out.bias, tol=0, msg="the output Linear keeps its bias, starting at zeros")


def set_parameters(model, gen, scale=0.5):
    """Overwrite every parameter with the test's own numbers, so the check does not depend on the order
    in which build_wavenet drew its random numbers."""
    for layer in model.layers:
        for name in ("weight", "bias", "gamma", "beta"):
            p = getattr(layer, name, None)
            if p is not None:
                base = 1.0 if name == "gamma" else 0.0
                setattr(layer, name, (base + torch.randn(p.shape, generator=gen) * scale).requires_grad_(True))


def test_train_steps(check):
    # the model's own draws don't matter (set_parameters replaces them), so they get a generator of their own
    model = build_wavenet(27, 8, 6, 16, generator=torch.Generator().manual_seed(0))
    gen = torch.Generator().manual_seed(check.seed)
    set_parameters(model, gen)
    train_words, _, _ = split(load_words(check.data("names.txt")))
    X, Y = build_dataset(train_words[:300], 8, stoi)
    seen = []
    losses = train(model, X, Y, steps=5, batch_size=32, lr_schedule=lambda s: 0.1 if s < 3 else 0.05,
                   generator=gen, on_step=lambda step, loss: seen.append(step))
    check("number of losses", len(losses), msg="return a list with the loss of every step")
    check("loss of the first step", losses[0] if losses else None, tol=1e-5,
          msg="the first minibatch already differs: draw ix = torch.randint(0, X.shape[0], (batch_size,), "
              "generator=generator), nothing else random, and use F.cross_entropy(model(X[ix]), Y[ix])")
    check("losses of 5 steps", losses, tol=1e-5,
          msg="the first loss matches but later ones don't: reset every gradient before backward() and use "
              "lr_schedule(step) for the step you are on")
    check("on_step calls", seen, msg="call on_step(step, loss) once per step, with step = 0, 1, 2, ...")
    check("parameters after 5 steps", [p.detach() for p in model.parameters()], tol=1e-5,
          msg="update every parameter of model.parameters() in place: p -= lr * p.grad")
    bns = [layer for layer in model.layers if isinstance(layer, BatchNorm1d)]
    check("running means after 5 steps", [bn.running_mean for bn in bns], tol=1e-5,
          msg="every training step updates each BatchNorm1d's running statistics once")
