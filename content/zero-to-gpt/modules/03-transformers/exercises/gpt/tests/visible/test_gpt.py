import dataclasses
import math
import zlib

import torch

from model import GPT, GPTConfig


def small_config(**overrides):
    fields = dict(block_size=16, vocab_size=65, n_layer=2, n_head=2, n_embd=32, dropout=0.0, bias=True)
    fields.update(overrides)
    return GPTConfig(**fields)


def fill_weights(model, seed=0):
    """The same weights for every implementation: one seeded draw per parameter name, in sorted
    order. With tied weights, lm_head.weight and transformer.wte.weight are one tensor, so the
    later name (transformer.wte.weight) wins."""
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


def tokens(check, *shape, salt=0, vocab=65):
    g = torch.Generator().manual_seed(check.seed + salt)
    return torch.randint(vocab, shape, generator=g)


def loaded_model(**overrides):
    model = GPT(small_config(**overrides))
    fill_weights(model)
    return model.eval()


def test_config_fields(check):
    names = {f.name for f in dataclasses.fields(GPTConfig)}
    required = {"block_size", "vocab_size", "n_layer", "n_head", "n_embd", "dropout", "bias"}
    check("missing GPTConfig fields", sorted(required - names), exact=True,
          msg="GPTConfig must be a @dataclass with the fields block_size, vocab_size, n_layer, n_head, n_embd, dropout, bias")


def test_parameter_names(check):
    model = GPT(small_config())
    shapes = sorted((name, list(p.shape)) for name, p in model.named_parameters(remove_duplicate=False))
    check("parameter names and shapes", shapes, exact=True,
          msg="use nanoGPT's names: transformer.wte / wpe / h.N.ln_1 / attn.c_attn / attn.c_proj / ln_2 / mlp.c_fc / "
              "mlp.c_proj, transformer.ln_f and lm_head (no bias), with the MLP 4x wider than n_embd")
    check("number of parameters", sum(p.numel() for p in model.parameters()), exact=True,
          msg="the parameter count differs: the tied lm_head/wte matrix counts once; check the MLP width (4 * n_embd) "
              "and that every Linear and LayerNorm has a bias when config.bias is True")


def test_weight_tying(check):
    model = GPT(small_config())
    check.true("lm_head.weight is transformer.wte.weight", model.lm_head.weight is model.transformer.wte.weight,
               msg="tie the output layer to the token embedding: self.lm_head.weight = self.transformer.wte.weight "
                   "(one shared nn.Parameter, not a copy)")


def test_init_loss(check):
    model = GPT(small_config())
    model.eval()
    idx, targets = tokens(check, 8, 16, salt=1), tokens(check, 8, 16, salt=2)
    with torch.no_grad():
        _, loss = model(idx, targets)
    loss = loss.item()
    print(f"loss at initialisation: {loss:.4f} (ln 65 = {math.log(65):.4f})")
    check.at_most("loss at init (upper bound)", loss, math.log(65) + 0.3,
                  msg="a fresh model should be about equally unsure of every token, loss near ln(65) = 4.17: initialise "
                      "Linear and Embedding weights from N(0, 0.02) and biases at 0 (PyTorch's default init is far too large here)")
    check.at_least("loss at init (lower bound)", loss, math.log(65) - 0.3,
                   msg="the loss at initialisation is suspiciously low: is the loss the mean cross-entropy over all positions?")


def test_sublayers(check):
    model = loaded_model()
    g = torch.Generator().manual_seed(check.seed)
    x = torch.randn(2, 16, 32, generator=g)
    block = model.transformer.h[0]
    with torch.no_grad():
        check("h[0].attn(x)", block.attn(x), tol=1e-4,
              msg="the attention sublayer differs: q, k, v = c_attn(x).split(n_embd, dim=2) (in that order), heads via "
                  "view(B, T, n_head, hs).transpose(1, 2), causal softmax(q k^T / sqrt(hs)) v, heads merged, then c_proj")
        check("h[0].mlp(x)", block.mlp(x), tol=1e-4,
              msg="the MLP differs: c_fc (n_embd -> 4 n_embd), then the exact GELU (nn.GELU(), not tanh or ReLU), then c_proj")
        check("h[0](x)", block(x), tol=1e-4,
              msg="attn and mlp are right but the block is not: it is pre-norm with residuals, "
                  "x = x + attn(ln_1(x)); x = x + mlp(ln_2(x))")


def test_logits_and_loss(check):
    model = loaded_model()
    idx, targets = tokens(check, 3, 16, salt=1), tokens(check, 3, 16, salt=2)
    with torch.no_grad():
        logits, loss = model(idx, targets)
        last, no_loss = model(idx)
    check("logits", logits, tol=1e-4,
          msg="the blocks are right but the logits differ: x = wte(idx) + wpe(positions 0..T-1), the blocks, ln_f, "
              "then lm_head (whose weight IS wte's)")
    check("loss", loss.item(), tol=1e-4, msg="the loss is the mean cross-entropy of logits (B*T, V) against targets (B*T)")
    check.true("loss is None without targets", no_loss is None, msg="forward(idx) without targets returns (logits, None)")
    check("last-position logits without targets", last[:, -1, :], tol=1e-4,
          msg="without targets the logits of the last position (logits[:, -1, :]) should equal those computed with targets")


def test_causality(check):
    model = loaded_model()
    idx = tokens(check, 1, 12, salt=3)
    changed = idx.clone()
    changed[0, 7] = (changed[0, 7] + 1) % 65
    targets = torch.zeros_like(idx)
    with torch.no_grad():
        a, _ = model(idx, targets)
        b, _ = model(changed, targets)
    check.true("positions 0-6 unchanged", bool(torch.allclose(a[:, :7], b[:, :7], atol=1e-6)),
               msg="changing token 7 changed the logits of earlier positions: the model can see the future "
                   "(attention must be causal)")
    check.true("position 7 changed", not torch.allclose(a[:, 7], b[:, 7]), msg="changing token 7 should change its own logits")


def test_generate(check):
    model = loaded_model()
    idx = tokens(check, 2, 3, salt=4)
    torch.manual_seed(check.seed)
    out = model.generate(idx, 20, temperature=0.8, top_k=5)
    check("shape", list(out.shape), msg="generate returns the prompt followed by max_new_tokens new tokens: (B, T + max_new_tokens)")
    check("prompt kept", out[:, :3].tolist(), exact=True, msg="the output starts with the prompt idx")
    check("tokens", out.tolist(), exact=True,
          msg="sampled tokens differ: per step crop the context to the last block_size tokens, take logits[:, -1, :] / "
              "temperature, set logits below the k-th largest to -inf, softmax, then ONE torch.multinomial(probs, num_samples=1)")
