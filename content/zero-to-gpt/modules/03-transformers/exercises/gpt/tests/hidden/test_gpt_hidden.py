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
    msg = "in eval mode dropout must do nothing: use nn.Dropout modules (they switch off in eval) rather than F.dropout always on"
    check("eval-mode logits with dropout=0.3", a, tol=1e-4, msg=msg)
    check("eval-mode logits with dropout=0.0", b, tol=1e-4, msg=msg)
    # Which units dropout zeroes depends on how many random draws an implementation makes, so
    # train mode is judged by whether two passes differ, as they do in the reference.
    check("two train-mode passes differ", bool((c - d).abs().max() > 1e-6), exact=True,
          msg="with dropout > 0 in train mode two forward passes should differ: apply config.dropout "
              "(transformer.drop after the embeddings, and in attention / MLP)")


def test_init_std_other_sizes(check):
    # Another depth and width, without biases: the residual scaling must follow n_layer.
    model = GPT(small_config(n_layer=6, n_head=4, n_embd=80, block_size=96, bias=False))
    params = dict(model.named_parameters(remove_duplicate=False))
    matrices = {n: p.detach().double() for n, p in sorted(params.items()) if p.dim() == 2}
    check("std of every weight but c_proj", {n: p.std().item() for n, p in matrices.items() if not n.endswith("c_proj.weight")},
          tol=0, rtol=0.1, msg="the Linear and Embedding weights other than c_proj (wpe too) use the small normal init of the exercise")
    check("std of every c_proj weight", {n: p.std().item() for n, p in matrices.items() if n.endswith("c_proj.weight")},
          tol=0, rtol=0.1,
          msg="attn.c_proj and mlp.c_proj weights are scaled down by math.sqrt(2 * n_layer) with this model's n_layer")
    check("mean of every weight matrix", {n: p.mean().item() for n, p in matrices.items()}, tol=0.003,
          msg="the weights are drawn with mean 0")
    check("every LayerNorm gain", {n: p.detach() for n, p in sorted(params.items()) if p.dim() == 1}, tol=0,
          msg="every LayerNorm weight (gain) starts at 1")


def test_dropout_placement(check):
    # Where dropout acts, seen from outside: which outputs are zeroed, and whether the survivors
    # are only rescaled. Which units are dropped depends on how an implementation draws its random
    # numbers, so the shares are compared, with a tolerance far above their sampling noise.
    p = 0.3
    model = loaded_model(dropout=p)
    g = torch.Generator().manual_seed(check.seed)
    x = torch.randn(8, 16, 32, generator=g)
    idx = tokens(check, 8, 16, salt=11)
    block = model.transformer.h[0]
    seen = []
    hook = block.register_forward_pre_hook(lambda m, args: seen.append(args[0].detach().clone()))
    with torch.no_grad():
        model.eval()
        attn_eval, mlp_eval = block.attn(x), block.mlp(x)
        model.train()
        attn_train, mlp_train = block.attn(x), block.mlp(x)
        model(idx, idx)
    hook.remove()

    def share(mask):
        return mask.double().mean().item()

    def only_rescaled(train, eval_):
        kept = train != 0
        scaled = eval_ / (1 - p)
        same = (train - scaled).abs() <= 1e-5 + 1e-4 * scaled.abs()
        return (same & kept).double().sum().item() / max(kept.double().sum().item(), 1.0)

    check("share of attention outputs zeroed in train mode", share(attn_train == 0), tol=0.05,
          msg="the attention's output projection is followed by dropout: resid_dropout(c_proj(y))")
    check("share of kept attention outputs that are just eval outputs / (1 - p)", only_rescaled(attn_train, attn_eval),
          tol=0.15,
          msg="dropout must also act on the attention WEIGHTS (dropout_p=... in F.scaled_dot_product_attention while "
              "training, or nn.Dropout on the softmax weights), not only after c_proj")
    check("share of MLP outputs zeroed in train mode", share(mlp_train == 0), tol=0.05,
          msg="the MLP's c_proj is followed by dropout")
    check("share of zeros in the input to the first block in train mode", share(seen[-1] == 0) if seen else -1.0,
          tol=0.05, msg="the sum of the two embeddings goes through transformer.drop before the first block")
