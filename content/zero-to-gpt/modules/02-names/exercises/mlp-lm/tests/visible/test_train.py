import torch
import torch.nn.functional as F

from mlp import forward, init_params, train
from names_data import build_dataset, load_words, split, vocabulary

stoi, itos = vocabulary()


def test_dev_loss(check):
    cfg = check.config
    train_words, dev_words, _ = split(load_words(check.data("names.txt")))
    Xtr, Ytr = build_dataset(train_words, cfg["block_size"], stoi)
    Xdev, Ydev = build_dataset(dev_words, cfg["block_size"], stoi)
    gen = torch.Generator().manual_seed(check.seed)
    params = init_params(27, cfg["block_size"], cfg["n_embd"], cfg["n_hidden"], gen)
    steps, every = cfg["steps"], 100
    window = []

    def on_step(step, loss):
        window.append(loss)
        if (step + 1) % every == 0:
            check.metric("train loss", step + 1, sum(window) / len(window))
            window.clear()
        if (step + 1) % 1000 == 0:
            check.progress((step + 1) / steps, f"step {step + 1} of {steps}")

    def lr_schedule(step):
        return cfg["lr"] if step < cfg["decay_step"] else cfg["lr_final"]

    train(params, Xtr, Ytr, steps=steps, batch_size=cfg["batch_size"], lr_schedule=lr_schedule, generator=gen, on_step=on_step)
    with torch.no_grad():
        train_loss = F.cross_entropy(forward(params, Xtr), Ytr).item()
        dev_loss = F.cross_entropy(forward(params, Xdev), Ydev).item()
    check.metric("dev loss", steps, dev_loss)
    draw_embedding(check, params)
    print(f"after {steps} steps: train {train_loss:.4f}, dev {dev_loss:.4f} (bigram model: about 2.45)")
    msg = "the trained MLP should reach a dev loss of 2.20 or less; look at the loss chart for where training goes wrong"
    check.at_most("dev_loss", dev_loss, 2.20, msg=msg)
    # The bound is the prompt's; the grader also compares the dev loss with the reference's, within a
    # tolerance that admits every loss the bound admits (an initialisation drawn in another order
    # trains just as well, so the exact value may differ).
    check("dev loss (the reference's)", dev_loss, tol=0.25, msg=msg)



def draw_embedding(check, params):
    """Your trained embedding table on the results page, each character at its coordinates along
    the two directions in which the table varies most (principal components). Never graded."""
    try:
        C = params["C"].detach().double()
        C = C - C.mean(dim=0)
        _, _, V = torch.linalg.svd(C, full_matrices=False)
        check.scatter("your embedding table (two main directions)", C @ V[:2].T,
                      labels=[itos[i] if itos[i] != "." else "·" for i in range(C.shape[0])])
    except Exception:
        pass
