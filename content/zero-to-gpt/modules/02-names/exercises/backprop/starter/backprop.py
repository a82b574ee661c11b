"""Backpropagation through the names MLP of forward.py, by hand."""

import torch


def manual_backward(cache):
    """Gradients of the mean cross-entropy loss with respect to every intermediate and parameter.

    Returns a dict with one entry per tensor, each gradient the same shape as its tensor."""
    X, Y = cache["X"], cache["Y"]
    C, W1, W2 = cache["C"], cache["W1"], cache["W2"]
    bngain = cache["bngain"]
    emb, embcat, h, logits = cache["emb"], cache["embcat"], cache["h"], cache["logits"]
    bndiff, bnvar, bnvar_inv, bnraw = cache["bndiff"], cache["bnvar"], cache["bnvar_inv"], cache["bnraw"]
    n = X.shape[0]
    eps = cache["eps"]

    # Every gradient starts as zeros of the right shape. Replace each TODO with its formula,
    # working backwards from the loss. Each line may use the gradients computed above it.
    z = torch.zeros_like

    # TODO cross-entropy (mean over the batch): loss -> logits
    dlogits = z(logits)

    # TODO output layer: logits = h @ W2 + b2
    dh, dW2, db2 = z(h), z(W2), z(cache["b2"])

    # TODO tanh: h = tanh(hpreact)
    dhpreact = z(cache["hpreact"])

    # TODO BatchNorm gain and bias: hpreact = bngain * bnraw + bnbias
    dbngain, dbnbias, dbnraw = z(bngain), z(cache["bnbias"]), z(bnraw)

    # TODO BatchNorm, step by step, from bnraw back to hprebn (see forward.py). bndiff is used
    #      twice (in bnraw and in bnvar), and hprebn twice (in bndiff and in bnmean): add up
    #      the contributions.
    dbnvar_inv, dbnvar, dbndiff = z(bnvar_inv), z(bnvar), z(bndiff)
    dbnmean, dhprebn = z(cache["bnmean"]), z(cache["hprebn"])

    # TODO first layer: hprebn = embcat @ W1 + b1
    dembcat, dW1, db1 = z(embcat), z(W1), z(cache["b1"])

    # TODO concatenation (embcat = emb.view(n, -1)) and embedding lookup (emb = C[X])
    demb, dC = z(emb), z(C)

    return {
        "dlogits": dlogits, "dh": dh, "dW2": dW2, "db2": db2, "dhpreact": dhpreact,
        "dbngain": dbngain, "dbnbias": dbnbias, "dbnraw": dbnraw,
        "dbnvar_inv": dbnvar_inv, "dbnvar": dbnvar, "dbndiff": dbndiff, "dbnmean": dbnmean, "dhprebn": dhprebn,
        "dembcat": dembcat, "dW1": dW1, "db1": db1, "demb": demb, "dC": dC,
    }
