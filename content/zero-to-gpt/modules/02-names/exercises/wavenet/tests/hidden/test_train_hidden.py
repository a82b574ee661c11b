import torch
import torch.nn.functional as F

from names_data import build_dataset, load_words, split, vocabulary
from wavenet import build_wavenet, train

stoi, itos = vocabulary()


def test_dev_loss(check):
    cfg = check.config
    block = cfg["block_size"]
    train_words, dev_words, _ = split(load_words(check.data("names.txt")))
    Xtr, Ytr = build_dataset(train_words, block, stoi)
    Xdev, Ydev = build_dataset(dev_words, block, stoi)
    gen = torch.Generator().manual_seed(check.seed)
    model = build_wavenet(27, block, cfg["n_embd"], cfg["n_hidden"], generator=gen)
    steps, every = cfg["steps"], 100
    window = []

    def on_step(step, loss):
        window.append(loss)
        if (step + 1) % every == 0:
            check.metric("train loss", step + 1, sum(window) / len(window))
            window.clear()
        if (step + 1) % 500 == 0:
            check.progress((step + 1) / steps, f"step {step + 1} of {steps}")

    def lr_schedule(step):
        return cfg["lr"] if step < cfg["decay_step"] else cfg["lr_final"]

    losses = train(model, Xtr, Ytr, steps=steps, batch_size=cfg["batch_size"], lr_schedule=lr_schedule,
                   generator=gen, on_step=on_step)
    for layer in model.layers:
        layer.training = False  # BatchNorm1d uses its running statistics from here on
    with torch.no_grad():
        train_loss = F.cross_entropy(model(Xtr), Ytr).item()
        dev_loss = F.cross_entropy(model(Xdev), Ydev).item()
    check.metric("dev loss", steps, dev_loss)
    print(f"after {steps} steps: train {train_loss:.4f}, dev {dev_loss:.4f} "
          f"(bigram model about 2.45, the MLP of mlp-lm about 2.13)")
    check("loss of the first step (the reference's)", losses[0] if losses else None, tol=0.05,
          msg="the very first minibatch loss should be near ln 27 = 3.30: scale the output layer's weight by 0.1")
    msg = (f"the trained WaveNet should reach a dev loss of {cfg['dev_loss_max']} or less; look at the loss "
           "chart, and make sure BatchNorm1d normalises 3-D inputs over dims (0, 1)")
    check.at_most("dev_loss", dev_loss, cfg["dev_loss_max"], msg=msg)
    # The bound is the prompt's; the grader also compares the dev loss with the reference's, within a
    # tolerance that admits every loss the bound admits (parameters drawn in another order train just as
    # well, so the exact value may differ).
    check("dev loss (the reference's)", dev_loss, tol=0.12, msg=msg)
