import math
import zlib

import torch

from model import GPT, GPTConfig


def small_config(**overrides):
    fields = dict(block_size=16, vocab_size=65, n_layer=2, n_head=2, n_embd=32, dropout=0.0, bias=True)
    fields.update(overrides)
    return GPTConfig(**fields)


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


def tokens(check, *shape, salt=0, vocab=65):
    g = torch.Generator().manual_seed(check.seed + salt)
    return torch.randint(vocab, shape, generator=g)


def loaded_model(**overrides):
    model = GPT(small_config(**overrides))
    fill_weights(model)
    return model.eval()


def test_without_bias(check):
    model = loaded_model(bias=False, n_layer=3, n_head=4)
    names = sorted(name for name, _ in model.named_parameters(remove_duplicate=False))
    check("parameter names", names, exact=True, msg="with bias=False no Linear or LayerNorm has a bias parameter")
    idx, targets = tokens(check, 2, 16, salt=1), tokens(check, 2, 16, salt=2)
    with torch.no_grad():
        logits, loss = model(idx, targets)
    check("logits", logits, tol=1e-4, msg="with bias=False (and 3 layers, 4 heads) the logits differ")
    check("loss", loss.item(), tol=1e-4, msg="with bias=False the loss differs")


def test_short_sequences(check):
    model = loaded_model()
    for T in (1, 5, 16):
        idx, targets = tokens(check, 2, T, salt=T), tokens(check, 2, T, salt=100 + T)
        with torch.no_grad():
            logits, loss = model(idx, targets)
        check(f"logits T={T}", logits, tol=1e-4, msg=f"a sequence of length {T}: use the first T position embeddings, wpe(arange(T))")
        check(f"loss T={T}", loss.item(), tol=1e-4, msg=f"the loss for length {T} differs")


def test_gradients(check):
    model = loaded_model()
    model.train()
    idx, targets = tokens(check, 2, 16, salt=5), tokens(check, 2, 16, salt=6)
    _, loss = model(idx, targets)
    loss.backward()
    check("grad of transformer.wte.weight", model.transformer.wte.weight.grad, tol=1e-4,
          msg="the token embedding's gradient differs: with tying it collects gradient from both the input and lm_head")
    check("grad of transformer.wpe.weight", model.transformer.wpe.weight.grad, tol=1e-4, msg="the position embedding's gradient differs")
    check("grad of h.0.attn.c_attn.weight", model.transformer.h[0].attn.c_attn.weight.grad, tol=1e-4, msg="attention weights' gradient differs")


def test_generate_past_block_size(check):
    model = loaded_model()
    idx = tokens(check, 1, 4, salt=7)
    torch.manual_seed(check.seed)
    out = model.generate(idx, 30, temperature=1.0, top_k=1)
    check("greedy tokens", out.tolist(), exact=True,
          msg="generating past block_size (16): feed only the last block_size tokens, idx[:, -block_size:], to the model")


def test_generate_temperature(check):
    model = loaded_model()
    idx = tokens(check, 3, 2, salt=8)
    torch.manual_seed(check.seed)
    out = model.generate(idx, 12, temperature=1.5)
    check("tokens", out.tolist(), exact=True,
          msg="with top_k=None sample from softmax(logits / temperature) over all tokens, one torch.multinomial call per step")


def test_dropout(check):
    model = loaded_model(dropout=0.3)
    reference = loaded_model(dropout=0.0)
    idx, targets = tokens(check, 2, 16, salt=9), tokens(check, 2, 16, salt=10)
    with torch.no_grad():
        a, _ = model(idx, targets)
        b, _ = reference(idx, targets)
        model.train()
        c, _ = model(idx, targets)
        d, _ = model(idx, targets)
    check.true("eval mode ignores dropout", bool(torch.allclose(a, b, atol=1e-5)),
               msg="in eval mode dropout must do nothing: use nn.Dropout modules (they switch off in eval) rather than F.dropout always on")
    check.true("train mode applies dropout", not torch.allclose(c, d),
               msg="with dropout > 0 in train mode two forward passes should differ: apply config.dropout "
                   "(transformer.drop after the embeddings, and in attention / MLP)")
