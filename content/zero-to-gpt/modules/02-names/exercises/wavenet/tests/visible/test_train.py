import torch

from names_data import build_dataset, load_words, split, vocabulary
from wavenet import build_wavenet, train

stoi, itos = vocabulary()


def test_short_run(check):
    """The first 400 steps of the graded training run (the whole run is checked on Submit)."""
    cfg = check.config
    block = cfg["block_size"]
    train_words, _, _ = split(load_words(check.data("names.txt")))
    Xtr, Ytr = build_dataset(train_words, block, stoi)
    gen = torch.Generator().manual_seed(check.seed)
    model = build_wavenet(27, block, cfg["n_embd"], cfg["n_hidden"], generator=gen)
    steps, every = 400, 20
    window = []

    def on_step(step, loss):
        window.append(loss)
        if (step + 1) % every == 0:
            check.metric("train loss", step + 1, sum(window) / len(window))
            window.clear()

    losses = train(model, Xtr, Ytr, steps=steps, batch_size=cfg["batch_size"], lr_schedule=lambda s: cfg["lr"],
                   generator=gen, on_step=on_step)
    last = sum(losses[-100:]) / 100 if len(losses) == steps else float("inf")
    print(f"first loss {losses[0] if losses else float('nan'):.4f}, mean of steps 301-400 {last:.4f}")
    check("loss of the first step", losses[0] if losses else None, tol=0.05,
          msg="the first minibatch loss should be close to ln 27 = 3.30: scale the output layer's weight by 0.1")
    msg = ("after 400 steps the minibatch loss should be well on its way down: look at the chart, and check that "
           "every parameter (embedding, Linear weights, gamma and beta) is updated with the learning rate")
    check.at_most("mean loss of steps 301-400", last, 2.55, msg=msg)
    check("mean loss of steps 301-400 (the reference's)", last, tol=0.25, msg=msg)
