"""Hidden tests for the KV-cache: chunked prefill, batches, long generations, other model shapes."""

import random

import torch

from kvcache import KVCache, forward_cached, generate_cached
from tinygpt import GPTConfig, TinyGPT

TOL = dict(tol=1e-5, rtol=1e-5)


def make_model(**overrides):
    config = GPTConfig(**{"vocab_size": 64, "block_size": 64, "n_layer": 2, "n_head": 4, "n_embd": 64, **overrides})
    return TinyGPT(config).double().eval()


def test_chunked_prefill(check):
    # Feed a sequence in chunks of several tokens: every chunk's queries sit after the cache.
    rng = random.Random(check.seed)
    model = make_model()
    seq = torch.randint(0, 64, (2, 30))
    with torch.no_grad():
        cache = KVCache(len(model.blocks))
        pieces, start = [], 0
        while start < seq.size(1):
            size = rng.randint(1, 6)
            pieces.append(forward_cached(model, seq[:, start:start + size], cache))
            start += size
    logits = torch.cat(pieces, dim=1)
    check("logits of 30 tokens fed in chunks of 1 to 6", logits, **TOL,
          msg="chunked processing must give the same logits as one full forward pass: with several new queries "
              "after a non-empty cache, query i (at position cache.length + i) must see keys 0..cache.length + i, "
              "so the causal mask is aligned to the END of the keys, not the start")


def test_batch_generation(check):
    model = make_model(n_layer=3)
    prompt = torch.randint(0, 64, (3, 4))
    with torch.no_grad():
        idx, step_logits = generate_cached(model, prompt, 25)
    check("tokens of a batch of 3 prompts", idx.tolist(),
          msg="each row of the batch must be decoded independently, exactly as without the cache")
    check("logits at every step (batch of 3)", torch.stack(step_logits), **TOL,
          msg="with a batch, keys and values are (B, n_head, T, head_dim): cache and mask per row alike")


def test_positions_up_to_block_size(check):
    # From a single token to the full context: positions 1..block_size-1 are all generated.
    model = make_model(block_size=40)
    prompt = torch.randint(0, 64, (1, 1))
    with torch.no_grad():
        idx, step_logits = generate_cached(model, prompt, 39)
    check("tokens generated up to block_size", idx[0].tolist(),
          msg="every new token must get the position embedding of its own position (cache.length), all the "
              "way up to block_size - 1")
    check("logits at the last position", step_logits[-1], **TOL,
          msg="the logits for the last position differ: check the position index of new tokens")
    check("logits at every step", torch.stack(step_logits), **TOL,
          msg="the cached logits must equal the uncached ones at every position")


def test_other_model_shapes(check):
    rng = random.Random(check.seed)
    for case, (n_layer, n_head, n_embd) in enumerate([(1, 1, 32), (3, 2, 48), (2, 8, 64)]):
        model = make_model(n_layer=n_layer, n_head=n_head, n_embd=n_embd)
        prompt = torch.randint(0, 64, (2, rng.randint(2, 9)))
        with torch.no_grad():
            idx, step_logits = generate_cached(model, prompt, 12)
        check(f"shape {case} ({n_layer} layers, {n_head} heads, n_embd {n_embd}): tokens", idx.tolist(),
              msg="cached decoding must match uncached decoding for any number of layers and heads")
        check(f"shape {case}: logits at every step", torch.stack(step_logits), **TOL,
              msg="scale the scores by 1/sqrt(head_dim) with head_dim = n_embd // n_head, and keep one cache per layer")


def test_generate_zero_and_cache_reuse(check):
    model = make_model()
    prompt = torch.randint(0, 64, (1, 5))
    with torch.no_grad():
        idx, step_logits = generate_cached(model, prompt, 0)
    check("generate_cached(..., max_new_tokens=0) returns the prompt", idx.tolist(),
          msg="with max_new_tokens=0 the result is the prompt itself and no step logits")
    check("number of step logits for max_new_tokens=0", len(step_logits),
          msg="with max_new_tokens=0 there are no step logits")
    # Two calls in a row must not share a cache.
    with torch.no_grad():
        first, _ = generate_cached(model, prompt, 8)
        second, _ = generate_cached(model, prompt, 8)
    check("tokens of a first call", first.tolist(), exact=True,
          msg="each generate_cached call must start from a fresh, empty KVCache")
    check("tokens of a second call", second.tolist(), exact=True,
          msg="each generate_cached call must start from a fresh, empty KVCache")


def test_cache_contents(check):
    # The test's own cache, filled by forward_cached: a prompt, then one token at a time. Its keys
    # and values must be those of the full sequence (the reference's are the plain model's).
    model = make_model(n_layer=3, n_head=2, n_embd=32)
    seq = torch.randint(0, 64, (2, 9))
    lengths, shapes = [], []
    with torch.no_grad():
        cache = KVCache(len(model.blocks))
        forward_cached(model, seq[:, :5], cache)
        lengths.append(cache.length)
        shapes.append([None if k is None else list(k.shape) for k in cache.keys])
        check("layer 1's keys after the prompt", cache.keys[1], **TOL,
              msg="after the prompt every layer's cache must hold the keys attn.qkv computes for the prompt's positions")
        for t in range(5, 9):
            forward_cached(model, seq[:, t:t + 1], cache)
            lengths.append(cache.length)
            shapes.append([None if k is None else list(k.shape) for k in cache.keys])
    check("cache.length after the prompt and after each new token", lengths, exact=True,
          msg="the cache must grow by exactly the number of positions fed, once per call")
    check("shapes of every layer's cached keys after each call", shapes, exact=True,
          msg="every layer appends the new positions to its own slot along the time axis, once per call")
    for layer in range(len(model.blocks)):
        check(f"layer {layer}: cached keys of all 9 positions", cache.keys[layer], **TOL,
              msg="the cached keys must be the keys of every position so far, in order, as a full forward computes them")
        check(f"layer {layer}: cached values of all 9 positions", cache.values[layer], **TOL,
              msg="the cached values must be the values of every position so far, in order (values, not keys)")


def test_one_position_per_step_batch(check):
    # Hooks of the test's own on the model count the positions each call runs through.
    rng = random.Random(check.seed)
    for case, (n_layer, n_head, n_embd, batch) in enumerate([(3, 4, 64, 3), (1, 2, 32, 1)]):
        model = make_model(n_layer=n_layer, n_head=n_head, n_embd=n_embd)
        length, new = rng.randint(3, 11), rng.randint(8, 16)
        prompt = torch.randint(0, 64, (batch, length))
        seen = {"wte": [], **{f"layer {i}": [] for i in range(n_layer)}}
        hooks = [model.wte.register_forward_hook(lambda m, inp, out: seen["wte"].append(int(inp[0].shape[1])))]
        for i, block in enumerate(model.blocks):
            hooks.append(block.attn.c_attn.register_forward_hook(
                lambda m, inp, out, key=f"layer {i}": seen[key].append(int(inp[0].shape[1]))))
        try:
            with torch.no_grad():
                idx, step_logits = generate_cached(model, prompt, new)
        finally:
            for h in hooks:
                h.remove()
        check(f"case {case}: tokens", idx.tolist(), exact=True,
              msg="cached decoding must produce exactly the tokens of uncached decoding")
        check(f"case {case}: positions embedded by each model call", seen["wte"][:new], exact=True,
              msg="the prompt goes through the model once, then only the newest token at each step")
        check(f"case {case}: positions each layer computes q, k, v for, per call",
              [seen[f"layer {i}"][:new] for i in range(n_layer)], exact=True,
              msg="each layer must compute keys and values of the new positions only, and reuse the cached ones")
