import math
import zlib

import torch
import torch.nn as nn
import torch.nn.functional as F

from model import GPT, GPTConfig
from names_data import bigrams, load_words, split, vocabulary
from names_gpt import build_examples, dev_loss, loss_fn, lr_at, sample, train

stoi, itos = vocabulary()


def fill_weights(model, seed=0):
    """The same weights for every implementation of model.py: one seeded draw per parameter name."""
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


def tiny_gpt(dropout=0.0, seed=0):
    # bias=False: a key bias gets no gradient in exact arithmetic, only rounding noise that Adam
    # would blow up differently for every correct model.py (see train-shakespeare's tests).
    model = GPT(GPTConfig(block_size=16, vocab_size=27, n_layer=1, n_head=2, n_embd=16, dropout=dropout, bias=False))
    fill_weights(model, seed)
    return model


def names(check):
    return split(load_words(check.data("names.txt")))


class BigramStub(nn.Module):
    """Stands in for a GPT when testing `sample`: the next character depends on the last token only
    (smoothed bigram counts of the names it is given). It records every input it is called with."""

    def __init__(self, words, block_size=16):
        super().__init__()
        pairs = torch.tensor([(stoi[a], stoi[b]) for a, b in bigrams(words)])
        counts = torch.bincount(pairs[:, 0] * 27 + pairs[:, 1], minlength=27 * 27).view(27, 27) + 1
        self.table = counts.float().log()
        self.block_size = block_size
        self.inputs = []

    def forward(self, idx, targets=None):
        self.inputs.append(idx[0].tolist())
        logits = self.table[idx]
        if targets is None:
            return logits[:, -1:, :], None
        return logits, F.cross_entropy(logits.view(-1, 27), targets.view(-1))


def test_build_examples(check):
    X, Y = build_examples(["emma", "bo", "a"], stoi, 6)
    check("x and y shapes for 3 names, block_size 6", [list(X.shape), list(Y.shape)],
          msg="one row per name and block_size columns: x and y are both (len(words), block_size)")
    check("dtypes", [str(X.dtype), str(Y.dtype)], exact=True, msg="token ids are integers: torch.long")
    check("x for 'emma'", X[0], exact=True,
          msg="x is the start token 0, then the name's characters, then 0s up to block_size: [0, 5, 13, 13, 1, 0]")
    check("y for 'emma'", Y[0], exact=True,
          msg="y[t] is the character that follows x[:t + 1]: the name, then the end token 0, then -1 for every "
              "position past the end: [5, 13, 13, 1, 0, -1]")
    check("x for 'bo' and 'a'", X[1:], exact=True,
          msg="every name starts at position 0 of its own row, with the start token; the rest of the row is 0")
    check("y for 'bo' and 'a'", Y[1:], exact=True,
          msg="each row's targets are its own name and one end token; past that, -1")
    train_words, _, _ = names(check)
    X, Y = build_examples(train_words[:50], stoi, 16)
    check("targets per name for 50 training names", (Y != -1).sum(1), exact=True,
          msg="a name of n letters has n + 1 targets that count (its letters and the end token); the rest are -1")
    check("x for 50 training names, block_size 16", X, exact=True, msg="x: start token, name, 0s")
    check("y for 50 training names, block_size 16", Y, exact=True, msg="y: name, end token 0, then -1s")


def test_loss_ignores_padding(check):
    g = torch.Generator().manual_seed(check.seed)
    logits = torch.randn(3, 6, 27, generator=g) * 2
    targets = torch.tensor([[5, 13, 13, 1, 0, -1], [2, 15, 0, -1, -1, -1], [1, 0, -1, -1, -1, -1]])
    pad = targets == -1
    check("loss", loss_fn(logits, targets).item(), tol=1e-6,
          msg="the mean cross-entropy over the 9 positions whose target is not -1: "
              "F.cross_entropy(logits.view(-1, 27), targets.view(-1), ignore_index=-1)")
    changed = logits.clone()
    changed[pad] = torch.randn(int(pad.sum()), 27, generator=g) * 10
    check("loss with other logits at the padding", loss_fn(changed, targets).item(), tol=1e-6,
          msg="the logits at positions whose target is -1 must not change the loss")
    leaf = logits.clone().requires_grad_(True)
    loss_fn(leaf, targets).backward()
    check("gradient at the padding", leaf.grad[pad], tol=0,
          msg="positions whose target is -1 get no gradient at all")
    check("gradient at the 9 real targets", leaf.grad[~pad], tol=1e-6,
          msg="the mean is over the real targets only: dividing by all 18 positions makes every gradient too small")


def test_lr_schedule(check):
    config = dict(learning_rate=1e-3, min_lr=1e-4, max_steps=101)
    check("learning rate at step 0 and at the last step (100)", [lr_at(0, config), lr_at(100, config)],
          tol=1e-12, rtol=1e-9, msg="step 0 trains with learning_rate, the last step (max_steps - 1) with min_lr")
    check("learning rate at steps 1, 25, 50, 99", [lr_at(s, config) for s in (1, 25, 50, 99)], tol=1e-12, rtol=1e-9,
          msg="a straight line in between: learning_rate + (min_lr - learning_rate) * step / (max_steps - 1); "
              "halfway, at step 50, it is 5.5e-4")


def test_train_steps(check):
    model = tiny_gpt()
    train_words, _, _ = names(check)
    X, Y = build_examples(train_words[:300], stoi, 16)
    gen = torch.Generator().manual_seed(check.seed)
    config = dict(max_steps=5, batch_size=8, learning_rate=1e-2, min_lr=2e-3, weight_decay=0.1)
    logged = []
    losses = train(model, X, Y, config, gen, log=lambda step, loss: logged.append(int(step)))
    check("number of losses", len(losses), msg="train returns the list of the losses of all max_steps steps")
    check("loss of step 0", losses[0] if losses else None, tol=1e-4,
          msg="the loss before any update differs: draw the batch with ONE torch.randint(0, X.shape[0], (batch_size,), "
              "generator=generator) per step and take the loss with loss_fn, which skips the padding")
    check("losses of the 5 steps", losses, tol=1e-4,
          msg="the first loss matches but later ones don't: every step sets each param group's lr to lr_at(step, "
              "config), clears the gradients, calls backward() and optimizer.step()")
    check("log calls", logged, exact=True, msg="call log(step, loss) after every step, with step = 0, 1, 2, ...")
    params = {n: p.detach() for n, p in sorted(model.named_parameters())}
    check("parameters after 5 steps", params, tol=1e-4,
          msg="after the last step the weights differ from the reference's: is optimizer.step() part of every step?")


def test_dev_loss(check):
    model = tiny_gpt(dropout=0.3)
    _, dev_words, _ = names(check)
    X, Y = build_examples(dev_words[:700], stoi, 16)
    model.train()
    value = dev_loss(model, X, Y)
    check("dev loss of a fixed model with dropout 0.3, 700 dev names", value, tol=1e-5,
          msg="measure in eval mode (dropout off) under torch.no_grad(), as the mean over every character of "
              "every name: sum the losses of all real targets, then divide by their number")
    check("mode after dev_loss (it was in train mode)", model.training, exact=True,
          msg="dev_loss must leave the model in the mode it found it in: train mode here, or training goes on "
              "without dropout")
    model.eval()
    again = dev_loss(model, X, Y)
    check("mode after dev_loss (it was in eval mode)", model.training, exact=True,
          msg="a model that came in eval mode stays in eval mode")
    check("dev loss, called in eval mode", again, tol=1e-5, msg="the same number whatever mode the model came in")


def test_sample(check):
    train_words, _, _ = names(check)
    stub = BigramStub(train_words)
    got = sample(stub, itos, 20, 16, torch.Generator().manual_seed(check.seed))
    check("number of names", len(got), msg="sample returns a list of num names")
    check("names with '.' in them", [w for w in got if "." in w], exact=True,
          msg="the start and end tokens are not part of a name: start the context with token 0 but don't put it in "
              "the name, and stop at the first 0 you draw without adding it")
    check("20 names from a bigram stand-in", got, exact=True,
          msg="per step: the model's logits of the last position, divided by temperature, softmax, ONE "
              "torch.multinomial(probs, num_samples=1, generator=generator); stop when it draws the end token 0")
    check("first token of every input the model saw", sorted({x[0] for x in stub.inputs}), exact=True,
          msg="every name starts from a context holding just the start token 0")
    check("longest input the model saw", max((len(x) for x in stub.inputs), default=0),
          msg="the context grows by one token per step, and never past block_size")
    check("mode after sampling", stub.training, exact=True, msg="sample leaves the model in the mode it found it in")
