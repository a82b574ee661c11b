import torch

from model import GPT, GPTConfig
from names_data import load_words, split, vocabulary
from names_gpt import build_examples, train

stoi, itos = vocabulary()


def test_short_run(check):
    """300 steps of the graded model on all the training names (the full run is checked on Submit)."""
    cfg = check.config
    train_words, _, _ = split(load_words(check.data("names.txt")))
    X, Y = build_examples(train_words, stoi, cfg["block_size"])
    model = GPT(GPTConfig(block_size=cfg["block_size"], vocab_size=27, n_layer=cfg["n_layer"], n_head=cfg["n_head"],
                          n_embd=cfg["n_embd"], dropout=cfg["dropout"], bias=True))
    config = dict(max_steps=300, batch_size=cfg["batch_size"], learning_rate=cfg["learning_rate"],
                  min_lr=cfg["min_lr"], weight_decay=cfg["weight_decay"])
    every, window = 10, []

    def log(step, loss):
        window.append(loss)
        if (step + 1) % every == 0:
            check.metric("train loss", step + 1, sum(window) / len(window))
            window.clear()

    losses = train(model, X, Y, config, torch.Generator().manual_seed(check.seed), log=log)
    tail = sum(losses[-100:]) / 100 if len(losses) == 300 else float("inf")
    print(f"first loss {losses[0] if losses else float('nan'):.4f} (ln 27 = 3.2958), mean of steps 201-300 {tail:.4f}")
    check("loss of the first step", losses[0] if losses else None, tol=0.1,
          msg="an untrained GPT guesses almost uniformly: its first loss should be near ln 27 = 3.30. Far from it, "
              "loss_fn is not the mean over the real targets")
    msg = ("after 300 steps the loss should be well below the bigram model's 2.45: look at the chart; a flat curve "
           "means the weights are not updated with the scheduled learning rate")
    check.at_most("mean loss of steps 201-300", tail, 2.45, msg=msg)
    check("mean loss of steps 201-300 (the reference's)", tail, tol=0.15, msg=msg)
