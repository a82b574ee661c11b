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


def small_gpt(block_size=16, n_layer=1, n_embd=16, dropout=0.0, seed=0):
    model = GPT(GPTConfig(block_size=block_size, vocab_size=27, n_layer=n_layer, n_head=2, n_embd=n_embd,
                          dropout=dropout, bias=False))
    fill_weights(model, seed)
    return model


def names(check):
    return split(load_words(check.data("names.txt")))


class Stub(nn.Module):
    """A stand-in for a GPT with a fixed table of next-token logits (the last token picks the row)."""

    def __init__(self, table):
        super().__init__()
        self.table = table
        self.lengths = []

    def forward(self, idx, targets=None):
        self.lengths.append(idx.size(1))
        logits = self.table[idx]
        return (logits[:, -1:, :], None) if targets is None else (logits, None)


def test_build_examples_other(check):
    _, dev_words, _ = names(check)
    X, Y = build_examples(dev_words, stoi, 16)
    check("x for every dev name", X, exact=True, msg="x: the start token 0, the name, then 0s")
    check("y for every dev name", Y, exact=True, msg="y: the name, the end token 0, then -1s")
    small = {".": 0, "x": 1, "y": 2, "z": 3}
    X, Y = build_examples(["xyz", "zzzzzzz", "y"], small, 8)
    check("another vocabulary, block_size 8, a name that fills the row", [X, Y], exact=True,
          msg="look characters up in the stoi you are given; a name of block_size - 1 letters fills the whole row "
              "(start token + letters in x, letters + end token in y)")
    try:
        build_examples(["abcdefghijklmnop"], stoi, 16)
        raised = "nothing"
    except ValueError:
        raised = "ValueError"
    except Exception as exc:  # noqa: BLE001 - reported, not hidden
        raised = type(exc).__name__
    check("a 16-letter name with block_size 16", raised, exact=True,
          msg="a name of n letters needs n + 1 positions; raise ValueError when it does not fit")


def test_loss_other(check):
    g = torch.Generator().manual_seed(check.seed)
    logits = torch.randn(4, 16, 27, generator=g) * 3
    targets = torch.randint(0, 27, (4, 16), generator=g)
    for row, end in enumerate((1, 4, 9, 16)):
        targets[row, end:] = -1
    leaf = logits.clone().requires_grad_(True)
    loss = loss_fn(leaf, targets)
    loss.backward()
    check("loss on rows of 1, 4, 9 and 16 real targets", loss.item(), tol=1e-6,
          msg="the mean over real targets only, however many each row has")
    check("gradient", leaf.grad, tol=1e-6, msg="padding gets no gradient; real targets share the mean equally")


def test_lr_other(check):
    config = dict(learning_rate=6e-3, min_lr=0.0, max_steps=7)
    check("7 steps down to 0", [lr_at(s, config) for s in range(7)], tol=1e-12, rtol=1e-9,
          msg="learning_rate + (min_lr - learning_rate) * step / (max_steps - 1), for any rates and lengths")
    check("past the last step", [lr_at(s, config) for s in (7, 20)], tol=1e-12, rtol=1e-9,
          msg="after the last step the rate stays at min_lr")
    one = dict(learning_rate=2e-3, min_lr=1e-4, max_steps=1)
    check("a run of a single step", lr_at(0, one), tol=1e-12, rtol=1e-9,
          msg="with max_steps = 1 the only step uses learning_rate (max_steps - 1 is 0: don't divide by it)")


def test_train_other(check):
    model = small_gpt(n_layer=2, n_embd=24, seed=5)
    _, dev_words, _ = names(check)
    X, Y = build_examples(dev_words[:200], stoi, 16)
    gen = torch.Generator().manual_seed(check.seed + 1)
    config = dict(max_steps=6, batch_size=5, learning_rate=2e-2, min_lr=1e-3, weight_decay=0.5)
    losses = train(model, X, Y, config, gen)
    check("losses of 6 steps (batch 5, weight decay 0.5)", losses, tol=1e-4,
          msg="follow config for every setting (batch size, rates, number of steps); nothing from the visible test "
              "hard-coded")
    check("parameters after 6 steps", {n: p.detach() for n, p in sorted(model.named_parameters())}, tol=1e-4,
          msg="every step: lr_at(step) into every param group, a fresh batch, loss_fn, zero_grad, backward, step")
    check("draws left in the generator", torch.rand(3, generator=gen), tol=0,
          msg="draw exactly one torch.randint(..., generator=generator) per step and nothing else from the generator")


def test_train_mode(check):
    model = small_gpt(dropout=0.1)
    train_words, _, _ = names(check)
    X, Y = build_examples(train_words[:100], stoi, 16)
    seen = []
    model.register_forward_pre_hook(lambda module, args: seen.append((module.training, torch.is_grad_enabled())))
    model.eval()  # as if someone had just measured the dev loss
    train(model, X, Y, dict(max_steps=3, batch_size=4, learning_rate=1e-3, min_lr=1e-4, weight_decay=0.0),
          torch.Generator().manual_seed(check.seed))
    modes = [mode for mode, grad in seen if grad]
    check("training forward passes with gradients (up to 3)", min(len(modes), 3), exact=True,
          msg="the training forward passes need gradients: not inside torch.no_grad()")
    check("all of them in train mode", all(modes), exact=True,
          msg="call model.train() before the loop: the model may come in eval mode, with dropout off")


def test_dev_loss_other(check):
    model = small_gpt(n_layer=2, n_embd=24, dropout=0.5, seed=2)
    _, _, test_words = names(check)
    X, Y = build_examples(test_words[:1234], stoi, 16)
    model.train()
    check("loss per character of 1,234 names, dropout 0.5", dev_loss(model, X, Y), tol=1e-5,
          msg="dropout off while measuring, and one mean over every real target of every name (batches of "
              "different sizes must not be averaged as equals)")
    check("mode afterwards", model.training, exact=True, msg="the model goes back to train mode")
    few = build_examples(test_words[:3], stoi, 16)
    check("loss per character of 3 names", dev_loss(model, *few), tol=1e-5,
          msg="a set smaller than one batch works too")


def test_sample_gpt(check):
    model = small_gpt(n_layer=2, n_embd=24, seed=9)
    model.train()
    got = sample(model, itos, 12, 16, torch.Generator().manual_seed(check.seed), temperature=0.8)
    check("12 names from a GPT, temperature 0.8", got, exact=True,
          msg="logits of the last position divided by the temperature, softmax, one multinomial draw with the "
              "generator per character; stop at the end token")
    check("mode after sampling", model.training, exact=True, msg="sample leaves the model in the mode it found it in")


def test_sample_full_context(check):
    table = torch.randn(27, 27, generator=torch.Generator().manual_seed(check.seed))
    table[:, 0] = float("-inf")  # this model never ends a name
    stub = Stub(table)
    got = sample(stub, itos, 3, 8, torch.Generator().manual_seed(check.seed + 1))
    check("names from a model that never draws the end token, block_size 8", got, exact=True,
          msg="when no end token comes, stop once the context is full: block_size draws, a name of block_size letters")
    check("context lengths the model saw", stub.lengths, exact=True,
          msg="feed the start token and every character drawn so far, never more than block_size tokens")
    train_words, _, _ = names(check)
    pairs = torch.tensor([(stoi[a], stoi[b]) for a, b in bigrams(train_words)])
    counts = torch.bincount(pairs[:, 0] * 27 + pairs[:, 1], minlength=27 * 27).view(27, 27) + 1
    stub = Stub(counts.float().log())
    got = sample(stub, itos, 30, 16, torch.Generator().manual_seed(check.seed + 2), temperature=1.5)
    check("30 names from a bigram stand-in at temperature 1.5", got, exact=True,
          msg="divide the logits by the temperature before the softmax")
