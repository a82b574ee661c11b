import math
import zlib

import torch

from model import GPT, GPTConfig
from train import get_batch, lr_at, train

TRAIN_DEFAULTS = dict(max_iters=4, learning_rate=1e-2, min_lr=1e-3, warmup_iters=2, weight_decay=0.0,
                      beta1=0.9, beta2=0.95, grad_clip=1.0, log_interval=1)


def fill_weights(model, seed=0):
    """The same weights for every implementation: one seeded draw per parameter name."""
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


def tiny_model(dropout=0.0):
    model = GPT(GPTConfig(block_size=8, vocab_size=65, n_layer=1, n_head=2, n_embd=16, dropout=dropout, bias=True))
    fill_weights(model)
    return model


def decay_groups(model):
    """The parameters of each kind the prompt names, flattened in name order: the embeddings and
    the other 2-D weights (decayed), the LayerNorm gains and the biases (not decayed)."""
    embedding_ids = {id(p) for m in model.modules() if isinstance(m, torch.nn.Embedding) for p in m.parameters()}
    kinds = {"embeddings": [], "other 2-D weights": [], "LayerNorm gains": [], "biases": []}
    for name, p in sorted(model.named_parameters()):
        if p.dim() >= 2:
            kind = "embeddings" if id(p) in embedding_ids else "other 2-D weights"
        else:
            kind = "LayerNorm gains" if name.endswith("weight") else "biases"
        kinds[kind].append(p.detach().flatten())
    return {kind: torch.cat(ps) for kind, ps in kinds.items() if ps}


def freeze_attention_biases(model):
    """Freeze c_attn.bias. Its key third gets no gradient in exact arithmetic (adding the same number
    to every key's score leaves the softmax unchanged), so in float32 it gets rounding noise, which
    Adam scales up to steps of about lr: different for every correct implementation. A frozen
    parameter has no .grad, so AdamW leaves it exactly as it is."""
    for name, p in model.named_parameters():
        if name.endswith("attn.c_attn.bias"):
            p.requires_grad_(False)


def fixed_batches(check):
    g = torch.Generator().manual_seed(check.seed)
    return {split: (torch.randint(65, (4, 8), generator=g), torch.randint(65, (4, 8), generator=g)) for split in ("train", "val")}


def load_splits(check):
    """tinyshakespeare as character ids: the first 90% for training, the last 10% for validation."""
    with open(check.data("tinyshakespeare.txt"), encoding="utf-8") as fh:
        text = fh.read()
    chars = sorted(set(text))
    lookup = torch.zeros(128, dtype=torch.long)
    lookup[torch.tensor([ord(c) for c in chars])] = torch.arange(len(chars))
    ids = lookup[torch.frombuffer(bytearray(text.encode("ascii")), dtype=torch.uint8).long()]
    n = int(0.9 * len(ids))
    return ids[:n], ids[n:]


def test_get_batch(check):
    data = torch.arange(1000)
    x, y = get_batch(data, 8, 16, "cpu")
    check("x shape", list(x.shape), msg="x should be (batch_size, block_size)")
    check("y shape", list(y.shape), msg="y should be (batch_size, block_size)")
    check("dtype", str(x.dtype), exact=True, msg="token ids must stay integers (torch.long): embeddings index with them")
    # data[i] == i here, so a window minus its first token counts 0, 1, 2, ... and y - x is all ones.
    check("x minus each row's first token", x - x[:, :1], exact=True,
          msg="each row of x must be a contiguous slice data[s : s + block_size]")
    check("y - x", y - x, exact=True,
          msg="y must be the same window moved one to the right: data[s + 1 : s + 1 + block_size]")
    check("rows start at more than one place", len(set(x[:, 0].tolist())) > 1, exact=True,
          msg="draw a different random start for every row (torch.randint(len(data) - block_size, (batch_size,)))")


def test_lr_schedule(check):
    config = dict(learning_rate=1e-3, min_lr=1e-4, warmup_iters=10, max_iters=100)
    check("warm-up", [lr_at(s, config) for s in (0, 1, 5, 9)], tol=1e-12, rtol=1e-9,
          msg="during warm-up (step < warmup_iters) the rate is learning_rate * (step + 1) / warmup_iters, with steps counted from 0")
    check("cosine decay", [lr_at(s, config) for s in (10, 11, 32, 55, 77, 99)], tol=1e-12, rtol=1e-9,
          msg="after warm-up: progress = (step - warmup_iters) / (max_iters - warmup_iters), "
              "lr = min_lr + 0.5 * (1 + cos(pi * progress)) * (learning_rate - min_lr)")
    check("after max_iters", [lr_at(s, config) for s in (100, 150)], tol=1e-12, rtol=1e-9,
          msg="from step max_iters on, the rate stays at min_lr")


def test_first_steps(check):
    model = tiny_model()
    batches = fixed_batches(check)
    logged = []
    train(model, lambda split: batches[split], dict(TRAIN_DEFAULTS), lambda step, loss: logged.append((int(step), float(loss))))
    check("logged steps", [s for s, _ in logged], exact=True,
          msg="call log(step, loss) when step % log_interval == 0 (here log_interval = 1, steps 0 to max_iters - 1)")
    losses = dict(logged)
    check("loss logged at step 0", losses.get(0), tol=1e-4,
          msg="the loss before any update differs, so it was computed on other data: train on get_batch('train'), "
              "and log the loss of the batch you trained on")
    check("loss logged at step 1", losses.get(1), tol=1e-4,
          msg="the loss after ONE update differs: set every param group's lr to lr_at(step, config) before "
              "optimizer.step(), call optimizer.step() every step, and use AdamW with betas=(beta1, beta2)")
    check("loss logged at step 2", losses.get(2), tol=1e-4,
          msg="the first update is right but the second is not: gradients add up across steps unless you call "
              "optimizer.zero_grad() every step")
    check("loss logged at step 3", losses.get(3), tol=1e-4, msg="the fourth step's loss differs")
    model.eval()
    with torch.no_grad():
        _, final = model(*batches["train"])
    check("loss after training", final.item(), tol=1e-4, msg="after max_iters steps the model differs from the reference's")


def test_train_mode(check):
    model = tiny_model(dropout=0.1)
    batches = fixed_batches(check)
    seen = []
    model.register_forward_pre_hook(lambda module, args: seen.append((module.training, torch.is_grad_enabled())))
    model.eval()  # as if the caller had just evaluated it
    train(model, lambda split: batches[split], dict(TRAIN_DEFAULTS, max_iters=3), lambda step, loss: None)
    training_passes = [mode for mode, grad in seen if grad]
    # Which units dropout zeroes depends on the model's random draws, so this test records the
    # modes, not the losses.
    check("forward passes with gradients (counted up to 3)", min(len(training_passes), 3), exact=True,
          msg="the training forward passes must run with gradients enabled: do not put them inside torch.no_grad()")
    check("every pass with gradients ran in train mode", all(training_passes), exact=True,
          msg="the model was in eval mode while training (dropout off): call model.train() before the loop, "
              "and again after any evaluation that used model.eval()")


def test_short_run(check):
    train_ids, _ = load_splits(check)
    device = check.device
    model = GPT(GPTConfig(block_size=16, vocab_size=65, n_layer=1, n_head=2, n_embd=32, dropout=0.0, bias=False)).to(device)
    config = dict(max_iters=100, learning_rate=5e-3, min_lr=5e-4, warmup_iters=10, weight_decay=0.1, beta1=0.9,
                  beta2=0.99, grad_clip=1.0, log_interval=5)
    logged = []

    def log(step, loss):
        logged.append(float(loss))
        check.metric("quick_run_loss", step, loss)
        check.progress((step + 1) / config["max_iters"], f"step {step + 1}/{config['max_iters']}")

    train(model, lambda split: get_batch(train_ids, 16, 32, device), config, log)
    print("logged train losses:", " ".join(f"{v:.3f}" for v in logged))
    check("number of log calls", len(logged), exact=True,
          msg="call log(step, loss) every log_interval (5) steps: 20 times in 100 steps")
    tail = sum(logged[-4:]) / max(1, len(logged[-4:]))
    check.at_most("train loss over the last 20 steps", tail, 3.4,
                  msg="100 steps on real text should bring the loss from ln(65) = 4.17 to below 3.4 (the reference gets "
                      "about 3.0); a curve that stays near 4.1 means the weights barely move")


def test_weight_decay(check):
    # Strong decay (lr * weight_decay = 2% a step), so that who is decayed, and how, shows after 4 steps.
    model = tiny_model()
    freeze_attention_biases(model)
    batches = fixed_batches(check)
    logged = []
    config = dict(TRAIN_DEFAULTS, weight_decay=2.0)
    train(model, lambda split: batches[split], config, lambda step, loss: logged.append(float(loss)))
    check("losses of the 4 steps (weight_decay = 2.0)", logged, tol=1e-4,
          msg="with weight decay the losses differ: use torch.optim.AdamW (decoupled decay), with "
              "weight_decay=config['weight_decay'] for the 2-D parameters and 0.0 for the 1-D ones")
    msgs = {
        "embeddings": "the token and position embeddings are 2-D, so they are decayed too (nanoGPT's rule: "
                      "every parameter with dim >= 2), with AdamW's decoupled decay",
        "other 2-D weights": "the Linear weights are decayed by AdamW: p *= 1 - lr * weight_decay, apart from the "
                             "gradient. torch.optim.Adam(weight_decay=...) adds weight_decay * p to the gradient "
                             "instead (L2), which is a different update",
        "LayerNorm gains": "LayerNorm gains are 1-D: put them in a param group with weight_decay 0.0",
        "biases": "biases are 1-D: put them in a param group with weight_decay 0.0",
    }
    for kind, values in decay_groups(model).items():
        check(f"{kind} after 4 steps", values, tol=1e-4, msg=msgs[kind])
