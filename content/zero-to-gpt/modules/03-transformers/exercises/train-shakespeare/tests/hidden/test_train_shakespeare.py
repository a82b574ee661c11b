import time

import torch

from model import GPT, GPTConfig
from train import get_batch, train


def load_splits(check):
    """tinyshakespeare as character ids: the first 90% for training, the last 10% for validation."""
    with open(check.data("tinyshakespeare.txt"), encoding="utf-8") as fh:
        text = fh.read()
    chars = sorted(set(text))
    lookup = torch.zeros(128, dtype=torch.long)
    lookup[torch.tensor([ord(c) for c in chars])] = torch.arange(len(chars))
    ids = lookup[torch.frombuffer(bytearray(text.encode("ascii")), dtype=torch.uint8).long()]
    n = int(0.9 * len(ids))
    return chars, ids[:n], ids[n:]


@torch.no_grad()
def val_loss(model, val_ids, block_size, batch_size, n_batches, device):
    """Mean loss on fixed validation windows: the same windows for every submission."""
    model.eval()
    g = torch.Generator().manual_seed(1234)
    total = 0.0
    for _ in range(n_batches):
        starts = torch.randint(len(val_ids) - block_size, (batch_size,), generator=g).tolist()
        x = torch.stack([val_ids[s : s + block_size] for s in starts]).to(device)
        y = torch.stack([val_ids[s + 1 : s + 1 + block_size] for s in starts]).to(device)
        _, loss = model(x, y)
        total += loss.item()
    return total / n_batches


def test_train_shakespeare(check):
    cfg = check.config
    device = check.device
    if device == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    chars, train_ids, val_ids = load_splits(check)
    B, T = cfg["batch_size"], cfg["block_size"]
    model = GPT(GPTConfig(block_size=T, vocab_size=len(chars), n_layer=cfg["n_layer"], n_head=cfg["n_head"],
                          n_embd=cfg["n_embd"], dropout=cfg["dropout"], bias=cfg["bias"])).to(device)
    keys = ("max_iters", "learning_rate", "min_lr", "warmup_iters", "weight_decay", "beta1", "beta2", "grad_clip", "log_interval")
    config = {k: cfg[k] for k in keys}
    total = config["max_iters"]
    logged = []

    def log(step, loss):
        loss = float(loss)
        logged.append(loss)
        check.metric("train_loss", step, loss)
        check.progress((step + 1) / total, f"step {step + 1} of {total}")

    def batches(split):
        return get_batch(train_ids if split == "train" else val_ids, T, B, device)

    print(f"training on {device}: {cfg['n_layer']} layers, {cfg['n_embd']} wide, block {T}, batch {B}, {total} steps")
    started = time.time()
    train(model, batches, config, log)
    print(f"trained in {time.time() - started:.0f} s; last logged train loss {logged[-1] if logged else float('nan'):.4f}")

    val = val_loss(model, val_ids, T, B, cfg["eval_batches"], device)
    print(f"validation loss on {cfg['eval_batches']} fixed batches: {val:.4f}")
    torch.manual_seed(1337)
    out = model.generate(torch.zeros((1, 1), dtype=torch.long, device=device), 300, temperature=0.8, top_k=None)
    print("--- a sample (temperature 0.8) ---")
    print("".join(chars[i] for i in out[0].tolist()))
    draw_attention(check, model, val_ids[:T], chars)

    check("number of log calls", len(logged), exact=True, msg="train() must call log(step, loss) every log_interval steps")
    # Dropout and the GPU's reductions make a long run's numbers differ from one correct loop to
    # the next, so the run is judged by a bound on the validation loss (the reference's bound);
    # the exact values are checked by the short hidden runs.
    check.at_most("val_loss", val, cfg["val_loss_max"],
                  msg="the trained model's validation loss is too high: does your loop train on 'train' batches with "
                      "the scheduled learning rate, zero_grad / backward / step every iteration, for max_iters steps?")



def draw_attention(check, model, ids, chars):
    """The first layer's attention maps of your trained model on a validation line, one per head
    (row: the position attending, column: where it looks). Recomputed from your weights with
    nanoGPT's names; never graded, and a model named otherwise simply draws nothing."""
    try:
        with torch.no_grad():
            ids = ids.to(next(model.parameters()).device).view(1, -1)
            T = ids.shape[1]
            tr, block = model.transformer, model.transformer.h[0]
            x = tr.wte(ids) + tr.wpe(torch.arange(T, device=ids.device))
            C = x.shape[-1]
            q, k, _ = block.attn.c_attn(block.ln_1(x)).split(C, dim=2)
            nh = model.config.n_head
            q = q.view(1, T, nh, C // nh).transpose(1, 2)
            k = k.view(1, T, nh, C // nh).transpose(1, 2)
            att = (q @ k.transpose(-2, -1)) / (C // nh) ** 0.5
            att = att.masked_fill(torch.ones(T, T, device=ids.device).tril() == 0, float("-inf")).softmax(dim=-1)
        text = [chars[i] if chars[i] not in " \n" else ("␣" if chars[i] == " " else "↵") for i in ids[0].tolist()]
        for h in range(min(nh, 8)):
            check.heatmap(f"layer 1, head {h + 1}: who attends where", att[0, h].cpu(), rows=text, cols=text)
    except Exception:
        pass
