import torch

from diagnostics import Tanh, build_deep_mlp, forward_backward, layer_stats, train, update_ratios
from names_data import build_dataset, load_words, split, vocabulary

stoi, itos = vocabulary()


def stats_batch(check, block_size, n, seed):
    """n examples drawn at random from the first 2,000 training names (always the same ones for a seed)."""
    train_words, _, _ = split(load_words(check.data("names.txt")))
    X, Y = build_dataset(train_words[:2000], block_size, stoi)
    ix = torch.randint(0, X.shape[0], (n,), generator=torch.Generator().manual_seed(seed))
    return X[ix], Y[ix]


def tanh_outputs(model):
    """The recorded output of every Tanh layer of the last forward pass (the test's own view)."""
    return [t for layer, t in zip(model.layers, model.outs) if isinstance(layer, Tanh)]


def show(check, model, stats):
    """Draw every layer's activations and gradients on the page (never graded) and print a table."""
    outs = tanh_outputs(model)
    grads = [t.grad for t in outs if t.grad is not None]
    reach = 3 * max((g.std().item() for g in grads), default=1.0) or 1.0  # one range for all layers
    for i, t in enumerate(outs, start=1):
        check.histogram(f"layer {i} activations", t, bins=40, range=(-1, 1))
        if t.grad is not None:
            check.histogram(f"layer {i} gradients", t.grad, bins=40, range=(-reach, reach))
    for i, s in enumerate(stats, start=1):
        print(f"layer {i}: mean {s['mean']:+.3f}  std {s['std']:.3f}  saturated {s['saturated']:5.2f}%  "
              f"grad mean {s['grad_mean']:+.2e}  grad std {s['grad_std']:.3e}")


def check_stats(check, stats, n_layers, what, msgs):
    check(f"{what}: number of layers", len(stats), exact=True,
          msg="layer_stats returns one dict per Tanh layer, in order (not per Linear, not the output layer)")
    for i, s in enumerate(stats[:n_layers], start=1):
        check(f"{what}: layer {i} activation mean", s["mean"], tol=1e-5, msg=msgs["mean"])
        check(f"{what}: layer {i} activation std", s["std"], tol=1e-5, rtol=1e-5, msg=msgs["std"])
        check(f"{what}: layer {i} saturated %", s["saturated"], tol=0.01, msg=msgs["saturated"])
        check(f"{what}: layer {i} gradient mean", s["grad_mean"], tol=1e-11, rtol=1e-3, msg=msgs["grad_mean"])
        check(f"{what}: layer {i} gradient std", s["grad_std"], tol=1e-11, rtol=1e-4, msg=msgs["grad_std"])


MSGS = {
    "mean": "the mean of the Tanh layer's output over the whole batch: t.mean()",
    "std": "the standard deviation of the Tanh output t (all its numbers): t.std(); if every layer differs, "
           "check build_deep_mlp's scaling first (test_build)",
    "saturated": "saturated % is 100 * the share of Tanh OUTPUTS with |t| > 0.97 (both tails: use abs, and the "
                 "tanh output, not the pre-activation)",
    "grad_mean": "the gradient statistics are those of the Tanh output's .grad after loss.backward()",
    "grad_std": "grad std is t.grad.std() for the Tanh output t; call t.retain_grad() on every recorded output "
                "before backward(), and reset the parameters' gradients first",
}


def test_build(check):
    g = torch.Generator().manual_seed(check.seed)
    model = build_deep_mlp(27, 3, 10, 100, n_layers=5, generator=g)
    check("layers (no BatchNorm)", [type(layer).__name__ for layer in model.layers], exact=True,
          msg="5 blocks of Linear, Tanh, then the output Linear: 11 layers")
    check("weight shapes", [list(lin.weight.shape) for lin in model.linears()], exact=True,
          msg="the first Linear sees block_size * n_embd inputs, the hidden ones n_hidden, the last one outputs vocab_size")
    check("bias of every Linear", [lin.bias is not None for lin in model.linears()], exact=True,
          msg="without BatchNorm every Linear keeps its bias")
    check("std of every weight (kaiming, gain 5/3)", [lin.weight.std().item() for lin in model.linears()],
          tol=1e-6, msg="hidden weights are randn * gain / sqrt(fan_in) with fan_in = weight.shape[0]; the output "
                        "weight is randn * 0.1 / sqrt(fan_in), without the gain")
    check("first Linear's weight", model.linears()[0].weight, tol=1e-6,
          msg="draw C first, then each Linear in order, all from the generator; then scale the weights")
    check("every parameter requires grad", [p.requires_grad for p in model.parameters()], exact=True,
          msg="call requires_grad_(True) on every parameter after scaling")
    bad = build_deep_mlp(27, 3, 10, 100, n_layers=5, init="bad", generator=torch.Generator().manual_seed(check.seed))
    check("std of every weight (bad init)", [lin.weight.std().item() for lin in bad.linears()], tol=1e-6,
          msg='init="bad" leaves every weight at its plain randn scale (std about 1): no gain, no 1/sqrt(fan_in)')
    bn = build_deep_mlp(27, 3, 10, 64, n_layers=3, batchnorm=True, generator=torch.Generator().manual_seed(check.seed))
    check("layers (with BatchNorm)", [type(layer).__name__ for layer in bn.layers], exact=True,
          msg="with batchnorm=True each block is Linear, BatchNorm1d, Tanh")
    check("bias of every Linear (with BatchNorm)", [lin.bias is not None for lin in bn.linears()], exact=True,
          msg="with BatchNorm the hidden Linears have bias=False (beta does that job); the output Linear keeps its bias")
    check("number of parameters (with BatchNorm)", sum(p.numel() for p in bn.parameters()), exact=True,
          msg="C, the weights, BatchNorm's gamma and beta, and the output bias")


def test_layer_stats(check):
    """Kaiming init (gain 5/3), no BatchNorm: the statistics of every layer for one fixed batch."""
    X, Y = stats_batch(check, 3, 256, check.seed)
    model = build_deep_mlp(27, 3, 10, 100, n_layers=5, generator=torch.Generator().manual_seed(check.seed))
    loss = forward_backward(model, X, Y)
    check("loss", loss, tol=1e-5, msg="forward_backward returns F.cross_entropy(model(X), Y).item()")
    outs = tanh_outputs(model)
    check("gradients kept", [t.grad is not None for t in outs], exact=True,
          msg="the layer outputs are not leaves: call retain_grad() on every tensor in model.outs before backward()")
    stats = layer_stats(model)
    show(check, model, stats)
    check_stats(check, stats, 5, "kaiming 5/3", MSGS)


def test_saturation(check):
    """The naive init saturates most tanh units; Kaiming's gain / sqrt(fan_in) keeps most of them alive."""
    X, Y = stats_batch(check, 3, 256, check.seed)
    bad = build_deep_mlp(27, 3, 10, 100, init="bad", generator=torch.Generator().manual_seed(check.seed))
    forward_backward(bad, X, Y)
    good = build_deep_mlp(27, 3, 10, 100, init="kaiming", generator=torch.Generator().manual_seed(check.seed))
    forward_backward(good, X, Y)
    bad_sat = [s["saturated"] for s in layer_stats(bad)]
    good_sat = [s["saturated"] for s in layer_stats(good)]
    for i, t in enumerate(tanh_outputs(bad), start=1):
        check.histogram(f"layer {i} activations, bad init", t, bins=40, range=(-1, 1))
    for i, t in enumerate(tanh_outputs(good), start=1):
        check.histogram(f"layer {i} activations, kaiming", t, bins=40, range=(-1, 1))
    print("saturated % (bad init):", " ".join(f"{s:5.1f}" for s in bad_sat))
    print("saturated % (kaiming): ", " ".join(f"{s:5.1f}" for s in good_sat))
    cfg = check.config
    for i, (b, k) in enumerate(zip(bad_sat, good_sat), start=1):
        check.at_least(f"layer {i} saturated %, bad init (at least)", b, cfg["bad_saturation_min"],
                       msg="with plain randn weights the pre-activations are huge and most tanh outputs sit at +-1; "
                           "if yours are not, check init='bad' and that saturation counts |t| > 0.97 on the Tanh output")
        check.at_most(f"layer {i} saturated %, kaiming (at most)", k, cfg["kaiming_saturation_max"][i - 1],
                      msg="Kaiming init should leave few tanh units saturated: hidden weights * (5/3) / sqrt(fan_in)")
        check(f"layer {i} saturated %, bad init", b, tol=0.01,
              msg="100 * the share of Tanh outputs with |t| > 0.97, for the model built with init='bad'")
        check(f"layer {i} saturated %, kaiming", k, tol=0.01,
              msg="100 * the share of Tanh outputs with |t| > 0.97, for the model built with init='kaiming'")


def test_update_ratios(check):
    X, Y = stats_batch(check, 3, 256, check.seed)
    model = build_deep_mlp(27, 3, 10, 100, n_layers=5, generator=torch.Generator().manual_seed(check.seed))
    forward_backward(model, X, Y)
    ratios = update_ratios(model, 0.1)
    print("log10 update:data at lr 0.1:", " ".join(f"{r:+.3f}" for r in ratios))
    check("number of ratios", len(ratios), exact=True, msg="one ratio per Linear weight, the output layer included")
    msg = ("log10(lr * weight.grad.std() / weight.std()) for each Linear's weight: the std of the weight's "
           "GRADIENT (not of the layer's output gradient), times lr, over the std of the weight, in log10")
    for i, r in enumerate(ratios, start=1):
        check(f"layer {i} update:data (log10) at lr 0.1", r, tol=1e-4, msg=msg)
    small = update_ratios(model, 0.001)
    check("lr 0.001 minus lr 0.1, per layer", [a - b for a, b in zip(small, ratios)], tol=1e-4,
          msg="the update is lr * grad: a learning rate 100 times smaller moves log10(ratio) down by exactly 2")


def test_train_steps(check):
    """Six exact steps of a small model, with the ratios recorded every other step."""
    X, Y = stats_batch(check, 3, 500, check.seed)
    model = build_deep_mlp(27, 3, 10, 32, n_layers=3, generator=torch.Generator().manual_seed(check.seed))
    seen = []
    losses, records = train(model, X, Y, steps=6, batch_size=16, lr=0.1,
                            generator=torch.Generator().manual_seed(check.seed + 1), every=2,
                            on_record=lambda step, ratios: seen.append(step))
    check("losses", losses, tol=1e-5,
          msg="each step: one torch.randint minibatch from the generator, forward_backward, then p -= lr * p.grad "
              "for every parameter")
    check("recorded steps", [step for step, _ in records], exact=True,
          msg="record at every step where step % every == 0, starting with step 0")
    check("recorded ratios", [ratios for _, ratios in records], tol=1e-4,
          msg="record update_ratios(model, lr) right after backward and BEFORE that step's update")
    check("on_record calls", seen, exact=True, msg="call on_record(step, ratios) each time you record")
    check("last layer's weight after training", model.linears()[-1].weight, tol=1e-5,
          msg="update every parameter, C and biases included, with p -= lr * p.grad under torch.no_grad()")


def test_short_run(check):
    """The graded run: the update:data ratio of every layer, drawn live."""
    cfg = check.config
    train_words, _, _ = split(load_words(check.data("names.txt")))
    Xtr, Ytr = build_dataset(train_words, cfg["block_size"], stoi)
    model = build_deep_mlp(27, cfg["block_size"], cfg["n_embd"], cfg["n_hidden"], n_layers=cfg["n_layers"],
                           generator=torch.Generator().manual_seed(check.seed))

    def on_record(step, ratios):
        for i, r in enumerate(ratios, start=1):
            check.metric(f"layer {i} update:data (log10)", step, r)
        # this step's activations and gradients, one histogram per layer (the page lets you step through them)
        outs = tanh_outputs(model)
        reach = 3 * max((t.grad.std().item() for t in outs if t.grad is not None), default=1.0) or 1.0
        for i, t in enumerate(outs, start=1):
            check.histogram(f"layer {i} activations", t, step=step, bins=40, range=(-1, 1))
            if t.grad is not None:
                check.histogram(f"layer {i} gradients", t.grad, step=step, bins=40, range=(-reach, reach))
        check.progress((step + 1) / cfg["steps"], f"step {step} of {cfg['steps']}")

    losses, records = train(model, Xtr, Ytr, steps=cfg["steps"], batch_size=cfg["batch_size"], lr=cfg["lr"],
                            generator=torch.Generator().manual_seed(check.seed + 1), every=cfg["every"],
                            on_record=on_record)
    late = [r for step, r in records if step >= cfg["steps"] // 2]
    means = [sum(col) / len(col) for col in zip(*late)] if late else []
    tail = losses[-100:]
    print(f"first loss {losses[0] if losses else float('nan'):.4f}, mean of the last 100 "
          f"{sum(tail) / max(len(tail), 1):.4f}")
    print("mean log10 update:data over the second half:", " ".join(f"{m:+.2f}" for m in means))
    check("number of layers with a ratio", len(means), exact=True,
          msg="train records update_ratios(model, lr) every `every` steps: one ratio per Linear weight")
    for i, (m, lo, hi) in enumerate(zip(means, cfg["ratio_lo"], cfg["ratio_hi"]), start=1):
        band = ("the update:data ratio should settle in the band where this network learns well; look at the "
                "chart: if it drifts away, check that the update is lr * grad and the ratio uses the weight's gradient")
        check.at_least(f"layer {i} mean update:data (log10), lower bound", m, lo, msg=band)
        check.at_most(f"layer {i} mean update:data (log10), upper bound", m, hi, msg=band)
        check(f"layer {i} mean update:data (log10)", m, tol=0.05, msg=band)
    check("mean loss of the last 100 steps", sum(tail) / max(len(tail), 1), tol=0.05,
          msg="the loss should fall as in the reference run: check the update of every parameter")
