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
    msg = ("tie the output layer to the token embedding: self.lm_head.weight = self.transformer.wte.weight "
           "(one shared nn.Parameter, not a copy)")
    # Being one object is a property, not a value; writing through one name and reading the other
    # is a value the reference's tied model gives too.
    check.true("lm_head.weight is transformer.wte.weight", model.lm_head.weight is model.transformer.wte.weight, msg=msg)
    with torch.no_grad():
        model.transformer.wte.weight.copy_(torch.arange(65 * 32, dtype=torch.float32).view(65, 32) / 1000)
    check("lm_head.weight after writing transformer.wte.weight", model.lm_head.weight, exact=True, msg=msg)


def test_init_loss(check):
    model = GPT(small_config())
    model.eval()
    idx, targets = tokens(check, 8, 16, salt=1), tokens(check, 8, 16, salt=2)
    with torch.no_grad():
        _, loss = model(idx, targets)
    loss = loss.item()
    print(f"loss at initialisation: {loss:.4f} (ln 65 = {math.log(65):.4f})")
    msg = ("a fresh model should be about equally unsure of every token, loss near ln(65) = 4.17: initialise "
           "Linear and Embedding weights from N(0, 0.02) and biases at 0 (PyTorch's default init is far too large here)")
    check.at_most("loss at init (upper bound)", loss, math.log(65) + 0.3, msg=msg)
    check.at_least("loss at init (lower bound)", loss, math.log(65) - 0.3,
                   msg="the loss at initialisation is suspiciously low: is the loss the mean cross-entropy over all positions?")
    # The bounds are what the lesson asks for; the reference's own loss, within a tolerance that
    # admits whatever the bounds admit, is what the grader compares.
    check("loss at init (the reference's)", loss, tol=0.35, msg=msg)


def init_statistics(model):
    """Per-parameter statistics of a freshly initialised model, by nanoGPT name: the mean and
    standard deviation of every weight matrix, and every bias and LayerNorm gain as it is."""
    params = dict(model.named_parameters(remove_duplicate=False))
    matrices = {n: p.detach().double() for n, p in sorted(params.items()) if p.dim() == 2}
    return {
        "std c_proj": {n: p.std().item() for n, p in matrices.items() if n.endswith("c_proj.weight")},
        "std other": {n: p.std().item() for n, p in matrices.items() if not n.endswith("c_proj.weight")},
        "mean": {n: p.mean().item() for n, p in matrices.items()},
        "biases": {n: p.detach() for n, p in sorted(params.items()) if n.endswith(".bias")},
        "gains": {n: p.detach() for n, p in sorted(params.items()) if p.dim() == 1 and n.endswith(".weight")},
    }


def test_init_std(check):
    # Big enough (every matrix has 4,096 entries or more) that a sample's standard deviation is
    # within about 1% of the std it was drawn with; the tolerance is many times that.
    model = GPT(small_config(n_layer=4, n_head=4, n_embd=64, block_size=64))
    stats = init_statistics(model)
    check("std of every Linear and Embedding weight but c_proj", stats["std other"], tol=0, rtol=0.1,
          msg="the Linear and Embedding weights other than c_proj (c_attn, c_fc, wte, wpe) are drawn from N(0, 0.02): "
              "PyTorch's default init (uniform for Linear, N(0, 1) for Embedding) is much larger")
    check("std of every attn.c_proj and mlp.c_proj weight", stats["std c_proj"], tol=0, rtol=0.1,
          msg="the projections that write into the residual stream (attn.c_proj and mlp.c_proj) are drawn with std "
              "0.02 / math.sqrt(2 * n_layer), smaller than the other weights: GPT-2's residual scaling")
    check("mean of every weight matrix", stats["mean"], tol=0.003,
          msg="the weights are drawn with mean 0")
    check("every bias", stats["biases"], tol=0, msg="every bias starts at 0 (PyTorch's Linear default is not 0)")
    check("every LayerNorm gain", stats["gains"], tol=0, msg="every LayerNorm weight (gain) starts at 1")


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
    check("loss without targets", no_loss, exact=True, msg="forward(idx) without targets returns (logits, None)")
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
    check("change of the logits at positions 0-6", b[:, :7] - a[:, :7], tol=1e-6,
          msg="changing token 7 changed the logits of earlier positions: the model can see the future "
              "(attention must be causal)")
    check("logits at position 7 change", bool((b[:, 7] - a[:, 7]).abs().max() > 1e-6), exact=True,
          msg="changing token 7 should change its own logits")


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
