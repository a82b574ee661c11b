"""Visible tests for bpe_lm.py. Run them with the Run button: they take a few seconds."""

import math
import zlib

import torch

from bpe_lm import bits_per_byte, evaluate, get_batch, prepare, split_text, token_bytes, train, train_bpe
from char_tokenizer import CharTokenizer
from minbpe import BasicTokenizer
from model import GPT, GPTConfig

SMALL_TEXT = (
    "the cat sat on the mat. the cat ate the rat. "
    "then the rat sat on the cat, and that was that. "
    "the end of the tale: the rat and the cat sat there."
)
ACCENTED = "Où est la crème brûlée? À côté du café, près de la fenêtre, dit Noël. "


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


def tiny_model(vocab_size, block_size=8, dropout=0.0):
    model = GPT(GPTConfig(block_size=block_size, vocab_size=vocab_size, n_layer=1, n_head=2, n_embd=16,
                          dropout=dropout, bias=True))
    fill_weights(model)
    return model


def test_bits_per_byte(check):
    ln2 = math.log(2)
    check("one bit per byte: bits_per_byte(8 * ln 2, 8)", bits_per_byte(8 * ln2, 8), tol=1e-12,
          msg="bits per byte = total nats / (ln 2 * number of bytes): 8 ln 2 nats over 8 bytes is 1 bit per byte")
    check("a uniform guess over 256 byte values: bits_per_byte(1000 * ln 256, 1000)",
          bits_per_byte(1000 * math.log(256), 1000), tol=1e-12,
          msg="guessing one of 256 bytes uniformly costs ln 256 nats = 8 bits per byte; divide the nats by ln 2")
    check("a character model at 1.47 nats per character, 1000 ASCII characters",
          bits_per_byte(1.47 * 1000, 1000), tol=1e-12,
          msg="on ASCII text one character is one byte, so bits per byte = nats per character / ln 2")
    check("BPE: 3 nats per token, 500 tokens that stand for 900 bytes", bits_per_byte(3.0 * 500, 900), tol=1e-12,
          msg="divide the TOTAL loss (nats per token times the number of tokens) by the number of BYTES, "
              "not by the number of tokens, then by ln 2")
    check("2 nats over 'éé' (2 characters, 4 bytes)", bits_per_byte(2.0, len("éé".encode("utf-8"))), tol=1e-12,
          msg="the denominator counts UTF-8 bytes: 'é' is one character but two bytes")
    check("nothing to lose: bits_per_byte(0.0, 10)", bits_per_byte(0.0, 10), tol=1e-12,
          msg="zero loss is zero bits per byte")


def test_token_bytes(check):
    chars = CharTokenizer("héllo, 東京 🙂!")
    counts = token_bytes(chars)
    check("token_bytes(CharTokenizer('héllo, 東京 🙂!'))", counts.tolist(), exact=True,
          msg="one entry per token id, in id order: len(tokenizer.vocab[i]), the number of UTF-8 BYTES the token "
              "stands for (é is 2, 東 is 3, 🙂 is 4), not the number of characters")
    check("dtype", str(counts.dtype), exact=True,
          msg="return a LongTensor (torch.long): the counts are indexed with token ids and summed")
    bpe = BasicTokenizer()
    bpe.train(SMALL_TEXT, 256 + 20)
    counts = token_bytes(bpe)
    check("len(token_bytes(a BPE tokenizer with 276 tokens))", len(counts), exact=True,
          msg="there is one entry per id of tokenizer.vocab: 256 bytes plus one per merge")
    check("token_bytes of the 20 merged tokens", counts[256:].tolist(), exact=True,
          msg="a merged token stands for the bytes of both halves: len(tokenizer.vocab[i])")


def test_split_text(check):
    check("split_text('abcdefghij', 0.1)", list(split_text("abcdefghij", 0.1)), exact=True,
          msg="cut at byte int(n_bytes * (1 - val_fraction)): the first 9 bytes train, the last 1 validates")
    check("split_text('abcdefghij', 0.25)", list(split_text("abcdefghij", 0.25)), exact=True,
          msg="int(10 * 0.75) = 7: the cut is after 7 bytes")
    # 'abc' is 3 bytes, each CJK character 3 more: 12 bytes, 6 characters
    check("split_text('abc日本語', 0.5)", list(split_text("abc日本語", 0.5)), exact=True,
          msg="split by BYTES, not by characters: 'abc日本語' is 6 characters but 12 bytes, so half of it is "
              "6 bytes, 'abc日'")
    check("split_text('abc日本語', 0.4)", list(split_text("abc日本語", 0.4)), exact=True,
          msg="byte 7 is in the middle of '本': move the cut back to the first byte of that character")
    train_text, val_text = split_text(ACCENTED, 0.3)
    check("split_text(accented French, 0.3)", [train_text, val_text], exact=True,
          msg="cut the UTF-8 bytes at int(n_bytes * (1 - val_fraction)), back to a character's first byte, "
              "and decode each side")


def test_prepare(check):
    tok = train_bpe(SMALL_TEXT, 256 + 12, max_chars=80, val_fraction=0.25)
    check("merges of train_bpe(SMALL_TEXT, 268, max_chars=80, val_fraction=0.25)",
          sorted(tok.merges.items(), key=lambda kv: kv[1]),
          msg="train the tokenizer on the first max_chars characters of the TRAINING part only (split_text first): "
              "the validation text must stay unseen")
    train_ids, val_ids = prepare(SMALL_TEXT, tok, 0.25)
    check("dtypes", [str(train_ids.dtype), str(val_ids.dtype)], exact=True,
          msg="return two 1-D LongTensors of token ids")
    check("train_ids", train_ids.tolist(), exact=True,
          msg="split the TEXT by bytes first, then encode the training text on its own")
    check("val_ids", val_ids.tolist(), exact=True,
          msg="the validation ids are the encoding of the validation TEXT (split by bytes), not the last 25% of the "
              "tokens: with a cut by tokens, every tokenizer would be judged on a different text")
    chars = CharTokenizer(ACCENTED)
    train_ids, val_ids = prepare(ACCENTED, chars, 0.3)
    check("prepare(accented French, CharTokenizer, 0.3): token counts", [len(train_ids), len(val_ids)], exact=True,
          msg="a character tokenizer sees the same two texts as BPE: split by bytes, then encode")


def test_get_batch(check):
    data = torch.arange(1000)
    x, y = get_batch(data, 8, 16, "cpu")
    check("x shape", list(x.shape), exact=True, msg="x should be (batch_size, block_size)")
    check("y - x", y - x, exact=True,
          msg="y must be the same window moved one token to the right: data[s + 1 : s + 1 + block_size]")
    check("x", x, exact=True,
          msg="draw the starts with torch.randint(len(data) - block_size, (batch_size,)), as in train-shakespeare: "
              "then your batches are the reference's, draw for draw")


def test_evaluate(check):
    text = "Noël à côté: crème brûlée, café, thé. "
    chars = CharTokenizer(text)
    val_ids = torch.tensor(chars.encode(text + text[:12]))  # 50 tokens: 49 predictions
    counts = token_bytes(chars)
    model = tiny_model(len(chars.vocab))
    nats, bpb = evaluate(model, val_ids, counts, batch_size=2)
    # 49 predictions with block_size 8: windows of 8, 8, 8, 8, 8, 8 and 1 tokens, in batches of 2, 2, 2 and 1
    check("nats per token", nats, tol=1e-5,
          msg="score every token but the first exactly once, in consecutive windows of block_size (the last one "
              "shorter); sum the losses (reduction='sum') and divide by the number of predicted tokens. Averaging "
              "the batches' mean losses weighs the short last window like a full batch")
    check("bits per byte", bpb, tol=1e-5,
          msg="bits per byte = the same total nats / (ln 2 * the bytes of the predicted tokens), with the bytes "
              "counted from token_bytes (accented letters are 2 bytes), not the number of tokens")
    check("targets: a window predicts the next token", evaluate(model, torch.arange(9) % len(chars.vocab), counts)[0],
          tol=1e-5, msg="the targets of window x = ids[s : s + T] are y = ids[s + 1 : s + T + 1]")


def test_training_steps(check):
    model = tiny_model(32)
    g = torch.Generator().manual_seed(check.seed)
    train_ids = torch.randint(32, (300,), generator=g)
    logged = []
    config = dict(max_iters=4, batch_size=4, learning_rate=1e-2, grad_clip=1.0, log_interval=1)
    train(model, train_ids, config, lambda step, loss: logged.append((int(step), float(loss))))
    check("logged steps", [s for s, _ in logged], exact=True,
          msg="call log(step, loss) when step % log_interval == 0, steps counted from 0")
    check("losses of the 4 steps", [v for _, v in logged], tol=1e-4,
          msg="each step: a batch from get_batch(train_ids, block_size, batch_size), forward, zero_grad, backward, "
              "clip_grad_norm_ to grad_clip, AdamW step (betas (0.9, 0.99), weight_decay 0, constant learning rate)")
    x, y = get_batch(train_ids, 8, 4)
    model.eval()
    with torch.no_grad():
        _, after = model(x, y)
    check("loss after training, on a fresh batch", after.item(), tol=1e-4,
          msg="after the last step the weights differ from the reference's: is optimizer.step() the last thing of "
              "every step, with the learning rate from the config?")
