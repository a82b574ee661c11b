"""The comparison: the same small GPT on characters and on BPE tokens, judged in bits per byte."""

import math
import time

import torch

from bpe_lm import evaluate, prepare, token_bytes, train, train_bpe
from char_tokenizer import CharTokenizer
from model import GPT, GPTConfig


def test_compare(check):
    cfg = check.config
    B, T, S = cfg["batch_size"], cfg["block_size"], cfg["max_iters"]
    with open(check.data("tinyshakespeare.txt"), encoding="utf-8") as fh:
        text = fh.read()[: cfg["text_chars"]]
    frac = cfg["val_fraction"]

    started = time.time()
    bpe = train_bpe(text, cfg["vocab_size"], cfg["tokenizer_chars"], frac)
    print(f"BPE: {len(bpe.merges)} merges learned from {cfg['tokenizer_chars']:,} characters "
          f"in {time.time() - started:.1f} s")
    runs = {}
    for name, tokenizer in (("characters", CharTokenizer(text)), ("BPE", bpe)):
        started = time.time()
        train_ids, val_ids = prepare(text, tokenizer, frac)
        counts = token_bytes(tokenizer)
        per_token = counts[train_ids].sum().item() / len(train_ids)  # bytes per token of the training text
        runs[name] = dict(tokenizer=tokenizer, train_ids=train_ids, val_ids=val_ids, counts=counts,
                          per_token=per_token, evals={})
        print(f"{name}: {len(train_ids):,} training and {len(val_ids):,} validation tokens, "
              f"{per_token:.3f} bytes per token (encoded in {time.time() - started:.1f} s)")

    # The character model trains for S steps. Each BPE token covers more bytes, so the BPE model has seen the
    # same number of bytes after S_bytes < S steps; it is evaluated there, and again after the full S steps.
    S_bytes = round(S * runs["characters"]["per_token"] / runs["BPE"]["per_token"])
    marks = {"characters": {S}, "BPE": {S_bytes, S}}
    done_steps = [0]

    for name, run in runs.items():
        torch.manual_seed(check.seed)  # the same draws for both models: only the tokens differ
        model = GPT(GPTConfig(block_size=T, vocab_size=len(run["tokenizer"].vocab), n_layer=cfg["n_layer"],
                              n_head=cfg["n_head"], n_embd=cfg["n_embd"], dropout=0.0, bias=False))
        per_step = B * T * run["per_token"]  # bytes of text in one batch

        def log(step, loss, name=name, run=run, model=model, per_step=per_step):
            steps = step + 1  # log is called after the update: the model has taken `steps` steps
            seen = round(steps * per_step / 1000)  # thousands of bytes seen so far: the x axis of the charts
            if step % 10 == 0:
                check.metric(f"train loss, bits per byte (approx.): {name}", seen, loss / math.log(2) / run["per_token"])
            if steps in marks[name] or steps % cfg["eval_interval"] == 0:
                nats, bpb = evaluate(model, run["val_ids"], run["counts"], cfg["eval_batch_size"])
                model.train()
                run["evals"][steps] = (nats, bpb)
                check.metric(f"validation bits per byte: {name}", seen, bpb)
            done_steps[0] += 1
            check.progress(done_steps[0] / (2 * S), f"{name}: step {steps} of {S}")

        started = time.time()
        train(model, run["train_ids"], dict(max_iters=S, batch_size=B, learning_rate=cfg["learning_rate"],
                                            grad_clip=cfg["grad_clip"], log_interval=1), log)
        run["seconds"] = time.time() - started
        run["model"] = model

    char, bpe_run = runs["characters"], runs["BPE"]
    missing = [(n, s) for n in marks for s in marks[n] if s not in runs[n]["evals"]]
    check("evaluations the test could make", missing, exact=True,
          msg="train() must call log(step, loss) at every step when log_interval is 1: the test evaluates the models "
              "from inside log")
    if missing:
        return
    rows = [("characters", S, char, char["evals"][S]), ("BPE, same bytes", S_bytes, bpe_run, bpe_run["evals"][S_bytes]),
            ("BPE, same steps", S, bpe_run, bpe_run["evals"][S])]
    print(f"\n{'model':<18}{'steps':>7}{'kB seen':>9}{'val nats/token':>16}{'val bits/byte':>15}")
    for label, steps, run, (nats, bpb) in rows:
        print(f"{label:<18}{steps:>7}{steps * B * T * run['per_token'] / 1000:>9.0f}{nats:>16.4f}{bpb:>15.4f}")
    print(f"training time: characters {char['seconds']:.0f} s for {S} steps, BPE {bpe_run['seconds']:.0f} s for {S} steps")

    for name, run in runs.items():
        torch.manual_seed(check.seed)
        start = torch.tensor([run["tokenizer"].encode("\n")[:1]], dtype=torch.long)  # a newline, as a prompt
        out = run["model"].generate(start, 120, temperature=0.8)
        print(f"\n--- a sample from the {name} model (120 tokens, temperature 0.8) ---")
        print(run["tokenizer"].decode(out[0, 1:].tolist()))

    check("BPE: bytes per token of the training text", bpe_run["per_token"], tol=1e-9,
          msg="your tokenizer and the reference's learn the same merges on the same text, so they compress it equally: "
              "train_bpe must train on the first tokenizer_chars characters of the training part")
    bounds = [
        ("characters", char["evals"][S][1], cfg["char_bpb_max"], cfg["char_bpb_tol"]),
        ("BPE, same bytes seen", bpe_run["evals"][S_bytes][1], cfg["bpe_bpb_max"], cfg["bpe_bpb_tol"]),
        ("BPE, same number of steps", bpe_run["evals"][S][1], cfg["bpe_steps_bpb_max"], cfg["bpe_bpb_tol"]),
    ]
    for label, bpb, bound, tol in bounds:
        msg = (f"the {label} model's validation bits per byte is too high: is the loss summed over the tokens and "
               f"divided by the bytes they stand for and ln 2, and does train() take every step it is asked to?")
        check.at_most(f"{label}: validation bits per byte", bpb, bound, msg=msg)
        # Weights drawn in another order train to slightly different numbers, so the value is compared with the
        # reference's within a tolerance that admits everything the bound admits.
        check(f"{label}: validation bits per byte (the reference's)", bpb, tol=tol, msg=msg)
