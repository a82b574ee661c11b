import torch
import torch.nn.functional as F

from bigram_nn import bigram_dataset, forward_loss, train_bigram_nn
from names_data import bigrams, load_words, split, vocabulary

stoi, itos = vocabulary()


def pairs(words):
    """The test's own (xs, ys), so forward_loss and training are checked on their own."""
    xs = torch.tensor([stoi[a] for a, _ in bigrams(words)])
    ys = torch.tensor([stoi[b] for _, b in bigrams(words)])
    return xs, ys


def test_dataset(check):
    xs, ys = bigram_dataset(["emma"], stoi)
    check("number of examples in 'emma'", len(xs),
          msg="'.emma.' gives 5 examples (.->e, e->m, m->m, m->a, a->.): '.' starts AND ends every name")
    check("xs for 'emma'", xs.tolist(), msg="xs are the PREVIOUS characters: . e m m a (the name starts after '.')")
    check("ys for 'emma'", ys.tolist(), msg="ys are the NEXT characters: e m m a . (the name ends with '.')")
    check("xs and ys are integer tensors", xs.dtype == torch.int64 and ys.dtype == torch.int64,
          msg="store indices as torch.int64 (torch.tensor of Python ints does this): they are used to index W")
    train, dev, _ = split(load_words(check.data("names.txt")))
    xs, ys = bigram_dataset(train, stoi)
    check("number of training examples", int(xs.shape[0]), msg="one example per bigram: 182,625 in the train split")
    xs, ys = bigram_dataset(dev, stoi)
    check("dev xs", xs, exact=True)
    check("dev ys", ys, exact=True)


def test_forward_loss(check):
    xs, ys = pairs(["emma", "olivia", "ava", "isabella", "sophia"])
    W = torch.randn((27, 27))
    loss = forward_loss(W, xs, ys)
    check("the loss is a scalar tensor", isinstance(loss, torch.Tensor) and loss.dim() == 0,
          msg="return the loss as a 0-dimensional tensor (not a float) so that .backward() can run")
    check("loss for W = 0", float(forward_loss(torch.zeros((27, 27)), xs, ys)), tol=1e-5,
          msg="all-zero logits give a uniform softmax, so the loss must be ln 27 = 3.2958")
    check("loss for a random W", float(loss), tol=1e-5,
          msg="softmax over each ROW of the logits (dim=1), then the mean of -log p[i, ys[i]] over the examples")
    check("loss with reg=0.1", float(forward_loss(W, xs, ys, reg=0.1)), tol=1e-5,
          msg="the regularisation term is reg * (W**2).mean(), added to the mean NLL")


def test_gradient(check):
    _, dev, _ = split(load_words(check.data("names.txt")))
    xs, ys = pairs(dev)
    W = torch.randn((27, 27), requires_grad=True)
    loss = forward_loss(W, xs, ys, reg=0.01)
    loss.backward()
    check("dL/dW", W.grad, tol=1e-6, msg="the loss must be built from W with differentiable torch operations (no .item(), .data, .detach() or numpy in between)")


def test_training(check):
    cfg = check.config
    train, _, _ = split(load_words(check.data("names.txt")))
    xs, ys = pairs(train)
    # The count model's loss on the same data: the best a bigram model can do on it.
    counts = torch.bincount(xs * 27 + ys, minlength=27 * 27).view(27, 27).float()
    P = counts / counts.sum(dim=1, keepdim=True)
    count_loss = float(-P[xs, ys].log().mean())
    g = torch.Generator().manual_seed(check.seed)
    W, losses = train_bigram_nn(xs, ys, steps=cfg["steps"], lr=cfg["lr"], reg=0.0, generator=g)
    for i, value in enumerate(losses):
        check.metric("train loss", i, value)
    check("one loss per step", len(losses), msg="append the loss of every step (before its update) to the list you return")
    check("loss before the first step", losses[0], tol=1e-5,
          msg="start from W = torch.randn((27, 27), generator=generator) and record each step's loss before its update")
    check("loss at the last step", losses[-1], tol=1e-3, rtol=1e-3,
          msg="the loss must fall as the reference's does: step AGAINST the gradient, W -= lr * W.grad, "
              "and reset the gradient every step")
    final = float(F.cross_entropy(W[xs], ys))
    print(f"count model: {count_loss:.4f}   your network after {len(losses)} steps: {final:.4f}")
    check.at_most("train loss after training", final, count_loss + 0.02,
                  msg="after training the network should be within 0.02 of the count model's loss (2.4541)")
