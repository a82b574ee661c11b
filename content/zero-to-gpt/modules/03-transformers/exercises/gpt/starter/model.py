"""A GPT language model with nanoGPT's interface.

Keep the class, attribute and parameter names: the tests load the same weights into your model
and the reference by name, then compare the outputs.
"""

import math
from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F


@dataclass
class GPTConfig:
    block_size: int = 1024  # longest context the model can see
    vocab_size: int = 50304  # number of distinct tokens
    n_layer: int = 12  # transformer blocks
    n_head: int = 12  # attention heads per block
    n_embd: int = 768  # width of the residual stream
    dropout: float = 0.0
    bias: bool = True  # biases in the Linear layers and LayerNorms


class LayerNorm(nn.Module):
    """You wrote this by hand in the `layernorm` exercise; here the built-in F.layer_norm is fine."""

    def __init__(self, ndim, bias=True):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(ndim))
        self.bias = nn.Parameter(torch.zeros(ndim)) if bias else None

    def forward(self, x):
        return F.layer_norm(x, (x.size(-1),), self.weight, self.bias, 1e-5)


class CausalSelfAttention(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.n_head = config.n_head
        self.n_embd = config.n_embd
        self.dropout = config.dropout
        self.c_attn = nn.Linear(config.n_embd, 3 * config.n_embd, bias=config.bias)
        self.c_proj = nn.Linear(config.n_embd, config.n_embd, bias=config.bias)
        self.attn_dropout = nn.Dropout(config.dropout)
        self.resid_dropout = nn.Dropout(config.dropout)

    def forward(self, x):
        # TODO: your multi-head causal attention from the `attention` exercise (or
        # F.scaled_dot_product_attention(q, k, v, dropout_p=..., is_causal=True)), then
        # resid_dropout(c_proj(y)).
        raise NotImplementedError("CausalSelfAttention.forward")


class MLP(nn.Module):
    def __init__(self, config):
        super().__init__()
        # TODO: c_fc (n_embd -> 4 * n_embd), gelu = nn.GELU(), c_proj (4 * n_embd -> n_embd), dropout
        pass

    def forward(self, x):
        raise NotImplementedError("MLP.forward")


class Block(nn.Module):
    def __init__(self, config):
        super().__init__()
        # TODO: ln_1, attn, ln_2, mlp
        pass

    def forward(self, x):
        # TODO: pre-norm residual block
        raise NotImplementedError("Block.forward")


class GPT(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.config = config
        # TODO: self.transformer = nn.ModuleDict with wte, wpe, drop, h (an nn.ModuleList of Blocks), ln_f
        # TODO: self.lm_head (no bias), tied to the token embedding
        # TODO: GPT-2 initialisation (see the exercise)

    def forward(self, idx, targets=None):
        # TODO: return (logits, loss); see the exercise for the shapes
        raise NotImplementedError("GPT.forward")

    @torch.no_grad()
    def generate(self, idx, max_new_tokens, temperature=1.0, top_k=None):
        # TODO: sample max_new_tokens tokens, one at a time
        raise NotImplementedError("GPT.generate")
