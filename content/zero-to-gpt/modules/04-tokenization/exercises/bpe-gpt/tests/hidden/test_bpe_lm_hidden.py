"""Hidden tests for bpe_lm.py: other scripts, other sizes, another training run."""

import math
import random
import zlib

import torch

from bpe_lm import evaluate, get_batch, prepare, split_text, token_bytes, train, train_bpe
from char_tokenizer import CharTokenizer
from model import GPT, GPTConfig

# Several scripts, so that BPE tokens hold 1 to 6 bytes and some hold part of a character.
WORLD = (
    "A tokenizer reads bytes, so every language fits. "
    "Le chat dort près de la fenêtre; l'été est très chaud. "
    "Die Straße über der Brücke ist nass, sagt der Fährmann. "
    "Το γατάκι κοιμάται δίπλα στο παράθυρο. "
    "Кошка спит у окна, а собака лает. "
    "猫は窓のそばで寝ています。犬は外で遊んでいます。 "
    "बिल्ली खिड़की के पास सो रही है। "
    "Emoji are four bytes each: 🐈🐈 🐕 🌞🌞 ✨. "
) * 2

SCRIPTS = [(0x61, 0x7A), (0xC0, 0x17F), (0x391, 0x3C9), (0x410, 0x44F), (0x3041, 0x30FF), (0x4E00, 0x4FFF),
           (0x1F300, 0x1F64F)]


def random_text(rng, n):
    return "".join(chr(rng.randint(*rng.choice(SCRIPTS))) if rng.random() < 0.7 else " " for _ in range(n))


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


def test_split_random_unicode(check):
    rng = random.Random(check.seed)
    for i in range(12):
        text = random_text(rng, rng.randint(1, 40))
        frac = rng.choice([0.0, 0.05, 0.1, 0.2, 1 / 3, 0.5, 0.9])
        check(f"split_text(random text #{i}, {frac:.3f})", list(split_text(text, frac)), exact=True,
              msg="cut the UTF-8 bytes at int(n_bytes * (1 - val_fraction)), moved back to the first byte of a "
                  "character, then decode both sides")


def test_token_bytes_multilingual(check):
    bpe = train_bpe(WORLD, 256 + 60, max_chars=len(WORLD), val_fraction=0.0)
    counts = token_bytes(bpe)
    check("token_bytes of a BPE tokenizer trained on seven scripts", counts.tolist(), exact=True,
          msg="count the BYTES of every token, len(tokenizer.vocab[i]); a BPE token may hold half a character, "
              "so decoding it and counting characters gives the wrong number")
    chars = CharTokenizer(WORLD)
    check("token_bytes of a character tokenizer over seven scripts", token_bytes(chars).tolist(), exact=True,
          msg="a character is 1 to 4 UTF-8 bytes: count bytes, not characters")


def test_prepare_multilingual(check):
    bpe = train_bpe(WORLD, 256 + 50, max_chars=300, val_fraction=0.3)
    check("merges learned from the training part", sorted(bpe.merges.items(), key=lambda kv: kv[1]),
          msg="the tokenizer learns only from the first max_chars characters of the training part of the text, never "
              "from the validation part")
    train_ids, val_ids = prepare(WORLD, bpe, 0.3)
    check("train ids", train_ids.tolist(), exact=True,
          msg="split the text by bytes first (split_text), then encode the training part on its own")
    check("val ids", val_ids.tolist(), exact=True,
          msg="the validation ids are the encoding of the validation text, not the tail of the encoded whole text")
    rng = random.Random(check.seed)
    text = random_text(rng, 60)
    chars = CharTokenizer(text)
    check("prepare(random text, CharTokenizer, 0.4)", [t.tolist() for t in prepare(text, chars, 0.4)], exact=True,
          msg="split by bytes, not by characters or tokens, whatever the tokenizer")


def test_get_batch_hidden(check):
    data = torch.arange(50) * 7
    x, y = get_batch(data, 5, 40)
    check("x", x, exact=True, msg="starts from torch.randint(len(data) - block_size, (batch_size,))")
    check("y", y, exact=True, msg="y[b] = data[s + 1 : s + 1 + block_size] for the same start s as x[b]")


def test_evaluate_hidden(check):
    bpe = train_bpe(WORLD, 256 + 80, max_chars=len(WORLD), val_fraction=0.0)
    counts = token_bytes(bpe)
    ids = torch.tensor(bpe.encode(WORLD[:200]))
    model = GPT(GPTConfig(block_size=16, vocab_size=len(bpe.vocab), n_layer=2, n_head=2, n_embd=16, dropout=0.3,
                          bias=False))
    fill_weights(model, seed=5)
    model.train()  # evaluate must switch dropout off itself
    for batch_size in (3, 64):
        nats, bpb = evaluate(model, ids, counts, batch_size=batch_size)
        check(f"nats per token (batch_size {batch_size})", nats, tol=1e-5,
              msg="every token but the first scored once, windows of block_size, the summed loss divided by the number "
                  "of predicted tokens, in eval mode (no dropout)")
        check(f"bits per byte (batch_size {batch_size})", bpb, tol=1e-5,
              msg="the same summed loss divided by ln 2 and by the bytes the predicted tokens stand for")
    nats, bpb = evaluate(model, ids[:17], counts)
    check("one full window: (nats per token, bits per byte)", [nats, bpb], tol=1e-5,
          msg="with block_size + 1 ids there is exactly one window, and no empty window after it")


def test_training_hidden(check):
    model = GPT(GPTConfig(block_size=8, vocab_size=40, n_layer=2, n_head=2, n_embd=16, dropout=0.0, bias=False))
    fill_weights(model, seed=3)
    g = torch.Generator().manual_seed(check.seed)
    train_ids = torch.randint(40, (500,), generator=g)
    logged = []
    config = dict(max_iters=7, batch_size=3, learning_rate=2e-2, grad_clip=0.05, log_interval=2)
    train(model, train_ids, config, lambda step, loss: logged.append((int(step), float(loss))))
    check("logged steps", [s for s, _ in logged], exact=True,
          msg="log only when step % log_interval == 0")
    check("logged losses", [v for _, v in logged], tol=1e-4,
          msg="a new batch every step, gradient clipping to grad_clip, AdamW with betas (0.9, 0.99) and no weight decay")
    model.eval()
    with torch.no_grad():
        _, after = model(train_ids[:8].view(1, -1), train_ids[1:9].view(1, -1))
    check("loss after 7 steps", after.item(), tol=1e-4,
          msg="the weights after training differ: every step ends with optimizer.step()")
