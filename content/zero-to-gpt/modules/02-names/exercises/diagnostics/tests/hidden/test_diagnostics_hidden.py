import torch

from diagnostics import Tanh, build_deep_mlp, forward_backward, layer_stats, train, update_ratios
from names_data import build_dataset, load_words, split, vocabulary

stoi, itos = vocabulary()


def stats_batch(check, block_size, n, seed):
    train_words, _, _ = split(load_words(check.data("names.txt")))
    X, Y = build_dataset(train_words[-2000:], block_size, stoi)
    ix = torch.randint(0, X.shape[0], (n,), generator=torch.Generator().manual_seed(seed))
    return X[ix], Y[ix]


def tanh_outputs(model):
    return [t for layer, t in zip(model.layers, model.outs) if isinstance(layer, Tanh)]


def diagnose(check, X, Y, tag, **kwargs):
    """Build a model, run forward_backward on (X, Y), draw its activations and return layer_stats."""
    model = build_deep_mlp(generator=torch.Generator().manual_seed(check.seed), **kwargs)
    forward_backward(model, X, Y)
    for i, t in enumerate(tanh_outputs(model), start=1):
        check.histogram(f"layer {i} activations, {tag}", t, bins=40, range=(-1, 1))
    return model, layer_stats(model)


STAT_MSG = {
    "mean": "activation mean: t.mean() of each Tanh output",
    "std": "activation std: t.std() of each Tanh output; check the scaling of build_deep_mlp for this init and gain",
    "saturated": "saturation: 100 * share of Tanh outputs with |t| > 0.97 (abs, and the Tanh output itself)",
    "grad_mean": "gradient mean: the Tanh output's .grad after backward, kept with retain_grad()",
    "grad_std": "gradient std: t.grad.std() of each Tanh output (not of a weight, not of a pre-activation)",
}
TOLS = {"mean": {"tol": 1e-5}, "std": {"tol": 1e-5, "rtol": 1e-5}, "saturated": {"tol": 0.01},
        "grad_mean": {"tol": 1e-11, "rtol": 1e-3}, "grad_std": {"tol": 1e-11, "rtol": 1e-4}}


def check_stats(check, stats, tag, keys=("mean", "std", "saturated", "grad_mean", "grad_std")):
    check(f"{tag}: number of layers", len(stats), exact=True, msg="one dict per Tanh layer, in order")
    for i, s in enumerate(stats, start=1):
        for k in keys:
            check(f"{tag}: layer {i} {k}", s[k], msg=STAT_MSG[k], **TOLS[k])


def test_stats_other_configs(check):
    """Per-layer statistics of other initialisations, sizes and batches."""
    X, Y = stats_batch(check, 3, 200, check.seed)
    for gain in (1.0, 3.0):
        _, stats = diagnose(check, X, Y, f"gain {gain:g}", vocab_size=27, block_size=3, n_embd=10, n_hidden=100,
                            n_layers=5, gain=gain)
        check_stats(check, stats, f"kaiming, gain {gain:g}")
    _, stats = diagnose(check, X, Y, "bad init", vocab_size=27, block_size=3, n_embd=10, n_hidden=100,
                        n_layers=5, init="bad")
    check_stats(check, stats, "bad init")
    X4, Y4 = stats_batch(check, 4, 150, check.seed + 1)
    _, stats = diagnose(check, X4, Y4, "4 layers of 64", vocab_size=27, block_size=4, n_embd=8, n_hidden=64,
                        n_layers=4)
    check_stats(check, stats, "block 4, embd 8, 4 layers of 64")


def test_gradients_per_layer(check):
    """Too small a gain: activations shrink and gradients grow layer by layer; the naive init: the reverse."""
    X, Y = stats_batch(check, 3, 256, check.seed)
    _, small = diagnose(check, X, Y, "gain 0.5", vocab_size=27, block_size=3, n_embd=10, n_hidden=100,
                        n_layers=5, gain=0.5)
    _, bad = diagnose(check, X, Y, "bad init", vocab_size=27, block_size=3, n_embd=10, n_hidden=100,
                      n_layers=5, init="bad")
    for tag, stats in (("gain 0.5", small), ("bad init", bad)):
        check(f"{tag}: number of layers", len(stats), exact=True, msg="one dict per Tanh layer, in order")
        for i, s in enumerate(stats, start=1):
            check(f"{tag}: layer {i} gradient std", s["grad_std"], tol=1e-11, rtol=1e-4, msg=STAT_MSG["grad_std"])
            check(f"{tag}: layer {i} activation std", s["std"], tol=1e-5, rtol=1e-5, msg=STAT_MSG["std"])
        if stats:
            # how much the gradient grows from the first to the last hidden layer
            check(f"{tag}: last / first layer gradient std", stats[-1]["grad_std"] / stats[0]["grad_std"], rtol=1e-3,
                  msg="the gradients of the Tanh outputs, layer by layer: t.grad.std()")


def test_batchnorm_robust(check):
    """With BatchNorm after every Linear, activations and gradients no longer depend on the gain."""
    X, Y = stats_batch(check, 3, 256, check.seed)
    gains = (0.5, 1.0, 5 / 3, 3.0)
    with_bn, without, ratios = [], [], []
    for gain in gains:
        model, stats = diagnose(check, X, Y, f"BatchNorm, gain {gain:.2f}", vocab_size=27, block_size=3, n_embd=10,
                                n_hidden=100, n_layers=5, batchnorm=True, gain=gain)
        with_bn.append(stats)
        ratios.append(update_ratios(model, 0.1))
        _, plain = diagnose(check, X, Y, f"no BatchNorm, gain {gain:.2f}", vocab_size=27, block_size=3, n_embd=10,
                            n_hidden=100, n_layers=5, gain=gain)
        without.append(plain)
    stds_bn = [[s["std"] for s in stats] for stats in with_bn]
    stds = [[s["std"] for s in stats] for stats in without]
    spread_bn = [max(col) - min(col) for col in zip(*stds_bn)] if all(stds_bn) else []
    spread = [max(col) - min(col) for col in zip(*stds)] if all(stds) else []
    print("spread of each layer's activation std across gains, with BatchNorm:", " ".join(f"{x:.1e}" for x in spread_bn))
    print("... and without:", " ".join(f"{x:.3f}" for x in spread))
    mode_msg = ("with BatchNorm the statistics must not depend on the gain: diagnose the model in TRAINING mode "
                "(model.train() in forward_backward), so that BatchNorm normalises with the batch's own statistics")
    check("number of layers with a spread", len(spread_bn), exact=True,
          msg="layer_stats must return one dict per Tanh layer, BatchNorm networks included")
    for i, s in enumerate(spread_bn, start=1):
        check.at_most(f"layer {i}: spread of the activation std across gains, with BatchNorm", s, 1e-3, msg=mode_msg)
    check("spread without BatchNorm, per layer", spread, tol=1e-4,
          msg="without BatchNorm the activation std of each layer depends on the gain: build_deep_mlp must apply it")
    bn_msg = {k: m + "; with BatchNorm: Linear(bias=False) -> BatchNorm1d -> Tanh, diagnosed in training mode"
              for k, m in STAT_MSG.items()}
    for gain, stats, r in zip(gains, with_bn, ratios):
        tag = f"BatchNorm, gain {gain:.2f}"
        for i, st in enumerate(stats, start=1):
            for k in ("mean", "std", "saturated", "grad_mean", "grad_std"):
                check(f"{tag}: layer {i} {k}", st[k], msg=bn_msg[k], **TOLS[k])
        check(f"{tag}: update:data (log10) at lr 0.1", r, tol=1e-4,
              msg="log10(lr * weight.grad.std() / weight.std()) per Linear; with BatchNorm the weights' scale "
                  "still sets the size of their updates")
    # A model left in eval mode (say, after measuring a dev loss) must still be diagnosed in training mode.
    model = build_deep_mlp(27, 3, 10, 100, n_layers=5, batchnorm=True, gain=3.0,
                           generator=torch.Generator().manual_seed(check.seed))
    model.eval()
    forward_backward(model, X, Y)
    check("after model.eval(): layer stds", [s["std"] for s in layer_stats(model)], tol=1e-5, rtol=1e-5,
          msg="forward_backward diagnoses the model in training mode (model.train()): BatchNorm uses the batch's "
              "own statistics, the ones the gradient flows through")


def test_too_small_lr(check):
    """A learning rate 10 times too small: every layer's update:data ratio falls far below the healthy band."""
    cfg = check.config
    train_words, _, _ = split(load_words(check.data("names.txt")))
    Xtr, Ytr = build_dataset(train_words, cfg["block_size"], stoi)
    model = build_deep_mlp(27, cfg["block_size"], cfg["n_embd"], cfg["n_hidden"], n_layers=cfg["n_layers"],
                           generator=torch.Generator().manual_seed(check.seed))
    lr = cfg["lr"] / 10

    def on_record(step, ratios):
        for i, r in enumerate(ratios, start=1):
            check.metric(f"layer {i} update:data (log10), lr / 10", step, r)

    losses, records = train(model, Xtr, Ytr, steps=cfg["steps"], batch_size=cfg["batch_size"], lr=lr,
                            generator=torch.Generator().manual_seed(check.seed + 1), every=cfg["every"],
                            on_record=on_record)
    late = [r for step, r in records if step >= cfg["steps"] // 2]
    means = [sum(col) / len(col) for col in zip(*late)] if late else []
    print("mean log10 update:data over the second half at lr / 10:", " ".join(f"{m:+.2f}" for m in means))
    check("number of layers with a ratio", len(means), exact=True, msg="one ratio per Linear weight")
    for i, (m, hi) in enumerate(zip(means, cfg["slow_ratio_hi"]), start=1):
        msg = "with lr / 10 every ratio must drop well below the band of the good learning rate (the update is lr * grad)"
        check.at_most(f"layer {i} mean update:data (log10) at lr / 10, upper bound", m, hi, msg=msg)
        check(f"layer {i} mean update:data (log10) at lr / 10", m, tol=0.05, msg=msg)
    tail = losses[-100:]
    check("mean loss of the last 100 steps at lr / 10", sum(tail) / max(len(tail), 1), tol=0.05,
          msg="a learning rate 10 times too small learns visibly slower: follow the same training loop as before")
