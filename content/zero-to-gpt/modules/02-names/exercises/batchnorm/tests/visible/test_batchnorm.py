import torch

from layers import BatchNorm1d


def batch(n, dim, scale=3.0, shift=2.0):
    """A batch whose features are far from mean 0 / std 1, so normalising visibly changes it."""
    return torch.randn(n, dim) * scale + shift


def test_fresh_layer(check):
    bn = BatchNorm1d(6)
    check("gamma", bn.gamma, tol=0, msg="gamma starts as torch.ones(dim): at first the layer only normalises")
    check("beta", bn.beta, tol=0, msg="beta starts as torch.zeros(dim)")
    check("running_mean", bn.running_mean, tol=0, msg="running_mean starts as torch.zeros(dim)")
    check("running_var", bn.running_var, tol=0, msg="running_var starts as torch.ones(dim)")
    check("training", bn.training, exact=True, msg="a new layer is in training mode: self.training = True")
    params = bn.parameters()
    check("len(parameters())", len(params), exact=True,
          msg="parameters() returns exactly [gamma, beta]; running_mean/running_var are buffers, not trained")
    check("parameters()", list(params), tol=0, msg="parameters() returns [gamma, beta], in that order")
    # Being the very same tensor objects is a property, not a value: the reference reports True too.
    check.true("parameters() are gamma and beta", len(params) == 2 and params[0] is bn.gamma and params[1] is bn.beta,
               msg="parameters() must return the layer's own gamma and beta tensors, in that order")
    check("requires_grad of gamma and beta", [bn.gamma.requires_grad, bn.beta.requires_grad], exact=True,
          msg="create gamma and beta with requires_grad=True so the optimiser can train them")


def test_train_output(check):
    bn = BatchNorm1d(8)
    x = batch(32, 8)
    check("output, fresh layer", bn(x), tol=1e-5, rtol=1e-5,
          msg="training mode normalises with the batch's own mean and BIASED variance (divide by n, not n - 1): "
              "(x - mean) / sqrt(var + eps)")
    with torch.no_grad():
        bn.gamma.copy_(torch.linspace(0.5, 2.0, 8))
        bn.beta.copy_(torch.linspace(-1.0, 1.0, 8))
    check("output with gamma and beta set", bn(x), tol=1e-5, rtol=1e-5,
          msg="after normalising, scale by gamma and shift by beta: gamma * xhat + beta")


def test_small_variance(check):
    bn = BatchNorm1d(5)
    x = batch(32, 5, scale=0.003, shift=1.0)
    x[:, 2] = 0.5  # a constant feature: its variance is exactly 0
    out = bn(x)
    check("output for tiny variances", out, tol=1e-5, rtol=1e-5,
          msg="eps belongs INSIDE the square root: (x - mean) / torch.sqrt(var + eps); "
              "without eps a constant feature divides 0 by 0")


def test_running_stats(check):
    bn = BatchNorm1d(4)
    bn(batch(32, 4))
    check("running_mean after 1 batch", bn.running_mean, tol=1e-5, rtol=1e-5,
          msg="running_mean = (1 - momentum) * running_mean + momentum * batch_mean, with momentum = 0.1 "
              "weighting the NEW batch")
    check("running_var after 1 batch", bn.running_var, tol=1e-5, rtol=1e-5,
          msg="running_var is updated with the UNBIASED batch variance (divide by n - 1), like PyTorch, "
              "and momentum 0.1 on the new batch")
    for _ in range(4):
        bn(batch(32, 4))
    check("running_mean after 5 batches", bn.running_mean, tol=1e-5, rtol=1e-5,
          msg="each training call blends the new batch mean in: (1 - 0.1) * old + 0.1 * new")
    check("running_var after 5 batches", bn.running_var, tol=1e-5, rtol=1e-5,
          msg="each training call blends the new unbiased batch variance in: (1 - 0.1) * old + 0.1 * new")


def test_eval_mode(check):
    bn = BatchNorm1d(4)
    for _ in range(5):
        bn(batch(32, 4))
    bn.eval()
    check("training after eval()", bn.training, exact=True, msg="eval() sets self.training = False")
    x = batch(16, 4, scale=1.0, shift=5.0)  # a batch unlike the training batches
    check("eval output", bn(x), tol=1e-5, rtol=1e-5,
          msg="in eval mode normalise with running_mean and running_var, NOT the statistics of the batch you are given")
    check("running_mean after an eval call", bn.running_mean, tol=1e-5, rtol=1e-5,
          msg="only training-mode calls update running_mean/running_var; eval mode must not change them")
    check("running_var after an eval call", bn.running_var, tol=1e-5, rtol=1e-5,
          msg="only training-mode calls update running_mean/running_var; eval mode must not change them")
    single = bn(x[:1])
    check("eval output for a single example", single, tol=1e-5, rtol=1e-5,
          msg="in eval mode one example at a time must work and give the same row as in the batch")
    bn.train()
    check("train output after train()", bn(x), tol=1e-5, rtol=1e-5,
          msg="train() sets self.training = True, and training mode uses the batch's own statistics again")
