"""A tiny GPT for the KV-cache exercise (read-only).

The same architecture as the GPT of the transformer module, written out plainly: token and learned
position embeddings, pre-LayerNorm blocks of causal multi-head self-attention and an MLP, a final
LayerNorm and a linear head. `TinyGPT.forward` always recomputes everything from the full
sequence; `generate_uncached` uses it for greedy decoding, one token at a time.
"""

import math
from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F


@dataclass
class GPTConfig:
    vocab_size: int = 64
    block_size: int = 64  # the longest sequence the position embedding covers
    n_layer: int = 2
    n_head: int = 4
    n_embd: int = 64


class CausalSelfAttention(nn.Module):
    def __init__(self, config):
        super().__init__()
        assert config.n_embd % config.n_head == 0
        self.n_head = config.n_head
        self.head_dim = config.n_embd // config.n_head
        self.c_attn = nn.Linear(config.n_embd, 3 * config.n_embd)  # q, k, v for all heads at once
        self.c_proj = nn.Linear(config.n_embd, config.n_embd)

    def split_heads(self, t):
        """(B, T, C) -> (B, n_head, T, head_dim)"""
        B, T, C = t.shape
        return t.view(B, T, self.n_head, self.head_dim).transpose(1, 2)

    def merge_heads(self, t):
        """(B, n_head, T, head_dim) -> (B, T, C)"""
        B, H, T, D = t.shape
        return t.transpose(1, 2).contiguous().view(B, T, H * D)

    def qkv(self, x):
        """Queries, keys and values of the tokens in x (B, T, C), each (B, n_head, T, head_dim)."""
        q, k, v = self.c_attn(x).split(x.size(-1), dim=2)
        return self.split_heads(q), self.split_heads(k), self.split_heads(v)

    def forward(self, x):
        q, k, v = self.qkv(x)
        T = x.size(1)
        att = (q @ k.transpose(-2, -1)) / math.sqrt(self.head_dim)  # (B, n_head, T, T)
        causal = torch.ones(T, T, dtype=torch.bool, device=x.device).tril()
        att = att.masked_fill(~causal, float("-inf"))
        att = F.softmax(att, dim=-1)
        return self.c_proj(self.merge_heads(att @ v))


class MLP(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.c_fc = nn.Linear(config.n_embd, 4 * config.n_embd)
        self.c_proj = nn.Linear(4 * config.n_embd, config.n_embd)

    def forward(self, x):
        return self.c_proj(F.gelu(self.c_fc(x)))


class Block(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.ln_1 = nn.LayerNorm(config.n_embd)
        self.attn = CausalSelfAttention(config)
        self.ln_2 = nn.LayerNorm(config.n_embd)
        self.mlp = MLP(config)

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        x = x + self.mlp(self.ln_2(x))
        return x


class TinyGPT(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.config = config
        self.wte = nn.Embedding(config.vocab_size, config.n_embd)  # token embeddings
        self.wpe = nn.Embedding(config.block_size, config.n_embd)  # position embeddings
        self.blocks = nn.ModuleList(Block(config) for _ in range(config.n_layer))
        self.ln_f = nn.LayerNorm(config.n_embd)
        self.lm_head = nn.Linear(config.n_embd, config.vocab_size, bias=False)
        # Untrained, but with weights large enough that the logits are well spread out, so greedy
        # decoding never hinges on a near tie.
        for module in self.modules():
            if isinstance(module, (nn.Linear, nn.Embedding)):
                nn.init.normal_(module.weight, std=0.2)
            if isinstance(module, nn.Linear) and module.bias is not None:
                nn.init.normal_(module.bias, std=0.02)

    def forward(self, idx):
        """Logits (B, T, vocab_size) for every position of idx (B, T)."""
        B, T = idx.shape
        if T > self.config.block_size:
            raise ValueError(f"sequence of length {T} is longer than block_size {self.config.block_size}")
        pos = torch.arange(T, device=idx.device)
        x = self.wte(idx) + self.wpe(pos)
        for block in self.blocks:
            x = block(x)
        return self.lm_head(self.ln_f(x))


@torch.no_grad()
def generate_uncached(model, idx, max_new_tokens):
    """Greedy decoding without a cache: every step runs the model on the whole sequence so far.

    Returns (idx, step_logits): idx is (B, T + max_new_tokens); step_logits[i] is the (B, vocab_size)
    tensor of logits the i-th new token was chosen from.
    """
    step_logits = []
    for _ in range(max_new_tokens):
        logits = model(idx)[:, -1, :]
        step_logits.append(logits)
        nxt = logits.argmax(dim=-1, keepdim=True)
        idx = torch.cat([idx, nxt], dim=1)
    return idx, step_logits
