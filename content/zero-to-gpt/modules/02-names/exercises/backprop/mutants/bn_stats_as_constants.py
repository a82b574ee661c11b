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
    g = {}

    # cross-entropy (mean over the batch): d loss / d logits = (softmax - one_hot) / n
    dlogits = torch.softmax(logits, dim=1)
    dlogits[torch.arange(n), Y] -= 1.0
    dlogits /= n
    g["dlogits"] = dlogits

    # output layer: logits = h @ W2 + b2
    g["dh"] = dlogits @ W2.T
    g["dW2"] = h.T @ dlogits
    g["db2"] = dlogits.sum(0)

    # tanh: d tanh(a) / da = 1 - tanh(a)^2
    dhpreact = (1.0 - h**2) * g["dh"]
    g["dhpreact"] = dhpreact

    # BatchNorm gain and bias: hpreact = bngain * bnraw + bnbias (broadcast over the batch)
    g["dbngain"] = (bnraw * dhpreact).sum(0, keepdim=True)
    g["dbnbias"] = dhpreact.sum(0, keepdim=True)
    dbnraw = bngain * dhpreact
    g["dbnraw"] = dbnraw

    # BatchNorm, one step at a time
    # bnraw = bndiff * bnvar_inv: bndiff gets one contribution here, bnvar_inv sums over the batch
    dbndiff = bnvar_inv * dbnraw
    dbnvar_inv = (bndiff * dbnraw).sum(0, keepdim=True)
    g["dbnvar_inv"] = dbnvar_inv
    # bnvar_inv = (bnvar + eps) ** -0.5
    dbnvar = -0.5 * (bnvar + cache["eps"]) ** -1.5 * dbnvar_inv
    g["dbnvar"] = dbnvar
    # bnvar = mean(bndiff ** 2): the second path into bndiff
    dbndiff = dbndiff + (2.0 / n) * bndiff * dbnvar
    g["dbndiff"] = dbndiff
    # bndiff = hprebn - bnmean
    dbnmean = -dbndiff.sum(0, keepdim=True)
    g["dbnmean"] = dbnmean
    # bnmean = mean(hprebn): every row receives dbnmean / n
    g["dhprebn"] = bnvar_inv * dbnraw  # as if the batch mean and variance were constants

    # first layer: hprebn = embcat @ W1 + b1
    dhprebn = g["dhprebn"]
    g["dembcat"] = dhprebn @ W1.T
    g["dW1"] = embcat.T @ dhprebn
    g["db1"] = dhprebn.sum(0)

    # concatenation is only a view: undo it
    demb = g["dembcat"].view(emb.shape)
    g["demb"] = demb

    # embedding lookup emb = C[X]: every use of a row adds its gradient to that row
    dC = torch.zeros_like(C)
    dC.index_add_(0, X.reshape(-1), demb.reshape(-1, C.shape[1]))
    g["dC"] = dC
    return g
