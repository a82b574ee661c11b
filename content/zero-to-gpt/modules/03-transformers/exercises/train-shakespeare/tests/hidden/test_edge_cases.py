import math
import zlib

import torch

from model import GPT, GPTConfig
from train import get_batch, lr_at, train


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


def test_get_batch_covers_the_data(check):
    data = torch.arange(20)
    starts = set()
    for i in range(4):
        x, y = get_batch(data, 8, 500, "cpu")
        check(f"windows fit #{i}", bool(y.max() <= 19) and bool((y == x + 1).all()), exact=True,
              msg="a window and its shifted copy must fit inside the data")
        starts |= set(x[:, 0].tolist())
    # The last start may be left out (an off-by-one on the safe side is accepted), so the check
    # covers the others.
    check("start positions drawn (all but the last)", sorted(starts & set(range(11))), exact=True,
          msg="starts should range from 0 up to the last one that leaves room for a window and its shifted copy: "
              "torch.randint(len(data) - block_size, ...)")


def test_lr_without_warmup(check):
    config = dict(learning_rate=6e-4, min_lr=6e-5, warmup_iters=0, max_iters=50)
    check("rates", [lr_at(s, config) for s in (0, 1, 25, 49, 50, 80)], tol=1e-12, rtol=1e-9,
          msg="with warmup_iters = 0 the cosine starts at step 0 at the full learning_rate")


def test_log_interval(check):
    model = GPT(GPTConfig(block_size=8, vocab_size=65, n_layer=1, n_head=2, n_embd=16, dropout=0.0, bias=False))
    fill_weights(model)
    g = torch.Generator().manual_seed(check.seed)
    batch = (torch.randint(65, (2, 8), generator=g), torch.randint(65, (2, 8), generator=g))
    steps = []
    config = dict(max_iters=7, learning_rate=1e-3, min_lr=1e-4, warmup_iters=2, weight_decay=0.1, beta1=0.9,
                  beta2=0.99, grad_clip=1.0, log_interval=3)
    train(model, lambda split: batch, config, lambda step, loss: steps.append(int(step)))
    check("logged steps", steps, exact=True,
          msg="log exactly when step % log_interval == 0, counting steps from 0, and never otherwise")


def test_steps_on_changing_batches(check):
    # A batch per step, clipping that bites, another warm-up: every step's loss is the reference's.
    model = GPT(GPTConfig(block_size=8, vocab_size=65, n_layer=1, n_head=2, n_embd=16, dropout=0.0, bias=True))
    fill_weights(model, seed=3)
    g = torch.Generator().manual_seed(check.seed)
    batches = [(torch.randint(65, (3, 8), generator=g), torch.randint(65, (3, 8), generator=g)) for _ in range(6)]
    served = []

    def next_batch(split):
        if split != "train":
            return batches[0]
        served.append(split)
        return batches[min(len(served), len(batches)) - 1]

    logged = []
    # weight_decay 0 here: test_weight_decay_groups checks the decay.
    config = dict(max_iters=6, learning_rate=2e-2, min_lr=2e-3, warmup_iters=3, weight_decay=0.0, beta1=0.8,
                  beta2=0.9, grad_clip=0.1, log_interval=1)
    train(model, next_batch, config, lambda step, loss: logged.append(float(loss)))
    check("losses of the 6 steps", logged, tol=1e-4,
          msg="the losses differ from the reference's: each step takes the NEXT training batch, sets the scheduled "
              "learning rate, clips the gradient norm to grad_clip, and uses AdamW's betas from the config")
    model.eval()
    with torch.no_grad():
        _, final = model(*batches[-1])
    check("loss after training, on the last batch", final.item(), tol=1e-4,
          msg="after the last step the model differs from the reference's: is optimizer.step() the last thing of every step?")


def test_weight_decay_groups(check):
    # Decay > 0 on changing batches, another model: 2-D parameters decayed (AdamW), 1-D ones not.
    model = GPT(GPTConfig(block_size=8, vocab_size=65, n_layer=2, n_head=2, n_embd=16, dropout=0.0, bias=True))
    fill_weights(model, seed=7)
    freeze_attention_biases(model)
    g = torch.Generator().manual_seed(check.seed)
    batches = [(torch.randint(65, (3, 8), generator=g), torch.randint(65, (3, 8), generator=g)) for _ in range(5)]
    served = []

    def next_batch(split):
        served.append(split)
        return batches[min(len(served), len(batches)) - 1]

    logged = []
    config = dict(max_iters=5, learning_rate=1e-2, min_lr=1e-3, warmup_iters=1, weight_decay=3.0, beta1=0.85,
                  beta2=0.95, grad_clip=1.0, log_interval=1)
    train(model, next_batch, config, lambda step, loss: logged.append(float(loss)))
    check("losses of the 5 steps with weight decay", logged, tol=1e-4,
          msg="with weight decay the losses differ: AdamW with weight_decay on the 2-D parameters only")
    msgs = {
        "embeddings": "the embeddings are 2-D parameters and are decayed like the other matrices",
        "other 2-D weights": "the 2-D weights must get AdamW's decoupled decay (p shrinks by lr * weight_decay), "
                             "not L2 added to the gradient as torch.optim.Adam(weight_decay=...) does",
        "LayerNorm gains": "LayerNorm gains must not be decayed: they belong to the weight_decay 0.0 group",
        "biases": "biases must not be decayed: they belong to the weight_decay 0.0 group",
    }
    for kind, values in decay_groups(model).items():
        check(f"{kind} after 5 steps", values, tol=1e-4, msg=msgs[kind])
