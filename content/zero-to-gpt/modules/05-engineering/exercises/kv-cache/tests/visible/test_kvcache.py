"""Visible tests for generation with a KV-cache. Run them with the Run button.

Every test builds a TinyGPT (float64, random weights from the test's seed) and compares what your
cached code computes with what the reference's computes, which is what the plain, uncached model
computes for the same positions.
"""

import time

import torch

from kvcache import KVCache, attention_step, forward_cached, generate_cached
from tinygpt import GPTConfig, TinyGPT, generate_uncached

TOL = dict(tol=1e-5, rtol=1e-5)


def make_model(**overrides):
    config = GPTConfig(**{"vocab_size": 64, "block_size": 64, "n_layer": 2, "n_head": 4, "n_embd": 64, **overrides})
    return TinyGPT(config).double().eval()


def test_cache_append(check):
    cache = KVCache(n_layer=2)
    check("length of an empty cache", cache.length, msg="an empty cache holds 0 positions")
    k1, v1 = torch.randn(1, 2, 2, 4), torch.randn(1, 2, 2, 4)  # (B, n_head, T, head_dim)
    k_all, v_all = cache.append(0, k1, v1)
    check("keys after appending 2 positions to layer 0", k_all, tol=0,
          msg="the first append stores k as it is: (B, n_head, 2, head_dim)")
    check("length after 2 positions", cache.length, msg="length is the number of cached positions: keys[0].size(2)")
    k2, v2 = torch.randn(1, 2, 2, 4), torch.randn(1, 2, 2, 4)
    k_all, v_all = cache.append(0, k2, v2)
    check("shape of the keys after 2 more positions", list(k_all.shape),
          msg="concatenate along the TIME axis, dim=2 of (B, n_head, T, head_dim), not along heads or head_dim")
    check("keys after 2 more positions", k_all, tol=0,
          msg="the new keys go AFTER the old ones: torch.cat([old, new], dim=2)")
    check("values after 2 more positions", v_all, tol=0,
          msg="values are cached exactly like keys: torch.cat([old, new], dim=2)")
    if list(k_all.shape) == [1, 2, 4, 4]:  # go on only if the concatenation axis is right
        k3, v3 = torch.randn(1, 2, 1, 4), torch.randn(1, 2, 1, 4)
        k_all, v_all = cache.append(0, k3, v3)
        check("keys after a single new position", k_all, tol=0,
              msg="a single new position is appended the same way: torch.cat([old, new], dim=2)")
        check("length after 5 positions", cache.length, msg="length must grow by the number of appended positions")
    check("layer 1's keys and values", [cache.keys[1], cache.values[1]], exact=True,
          msg="each layer has its own cache: appending to layer 0 must not touch layer 1")


def test_prefill_matches_forward(check):
    model = make_model()
    attn = model.blocks[0].attn
    x = torch.randn(2, 7, 64, dtype=torch.float64)  # inputs to one attention layer, 7 positions
    with torch.no_grad():
        cache = KVCache(len(model.blocks))
        y = attention_step(attn, x, cache, 0)
    check("cache.length after attention_step on 7 positions", cache.length,
          msg="attention_step must append the new keys and values to the cache exactly once")
    check("attention output at the last position (it may see every key)", y[:, -1], **TOL,
          msg="the last query sees all keys, so the mask plays no part here: are the scores q @ k^T "
              "divided by sqrt(head_dim), softmaxed over the keys, and used to weight the values?")
    check("attention output at every position", y, **TOL,
          msg="with an empty cache, attention_step must compute what CausalSelfAttention.forward computes; "
              "query i may only see keys 0..i: several new queries need a causal mask (fill the hidden "
              "scores with -inf before the softmax)")

    prompt = torch.randint(0, 64, (2, 7))
    with torch.no_grad():
        cache = KVCache(len(model.blocks))
        logits = forward_cached(model, prompt, cache)
    check("cache.length after forward_cached on a 7-token prompt", cache.length,
          msg="after the prompt the cache must hold 7 positions: one append per layer, not more")
    check("shape of every layer's cached keys", [None if k is None else list(k.shape) for k in cache.keys], exact=True,
          msg="every layer's cache holds keys of shape (B, n_head, T, head_dim) = (2, 4, 7, 16): forward_cached "
              "must call attention_step with the right layer index for every block")
    check("logits of the 7-token prompt through an empty cache", logits, **TOL,
          msg="with an empty cache, forward_cached must equal model(prompt): token embedding + position "
              "embedding (positions 0..6), then each block, then ln_f and lm_head")


def test_one_step_matches_forward(check):
    model = make_model()
    attn = model.blocks[0].attn
    x = torch.randn(2, 7, 64, dtype=torch.float64)
    with torch.no_grad():
        cache = KVCache(len(model.blocks))
        attention_step(attn, x[:, :6], cache, 0)
        y = attention_step(attn, x[:, 6:], cache, 0)
    check("attention output of one new position after 6 cached ones", y, **TOL,
          msg="the cached attention for the new position must equal the plain attention's last row: the single "
              "new query is at the LAST position and must see all 7 keys (a mask built as "
              "tril(ones(T_new, T_total)) hides every key but the first)")

    prompt = torch.randint(0, 64, (2, 6))
    nxt = torch.randint(0, 64, (2, 1))
    with torch.no_grad():
        cache = KVCache(len(model.blocks))
        forward_cached(model, prompt, cache)
        logits = forward_cached(model, nxt, cache)[:, -1, :]
    check("cache.length after prompt + 1 token", cache.length,
          msg="each forward_cached call must add exactly T_new positions to the cache (append once per layer)")
    check("logits of one new token after a 6-token prompt", logits, **TOL,
          msg="the new token's logits must equal the last row of the plain model's: it is at position 6, so its "
              "position embedding is wpe(cache.length), with cache.length read at the start of forward_cached, "
              "before any layer appends")


def test_greedy_generation(check):
    model = make_model()
    for case, (length, new) in enumerate([(1, 20), (5, 15), (12, 30)]):
        prompt = torch.randint(0, 64, (1, length))
        with torch.no_grad():
            idx, step_logits = generate_cached(model, prompt, new)
        check(f"case {case}: tokens from a {length}-token prompt", idx[0].tolist(),
              msg="cached greedy decoding must produce exactly the tokens of uncached decoding")
        check(f"case {case}: number of step logits", len(step_logits),
              msg="return one (B, vocab_size) logits tensor per new token")
        check(f"case {case}: logits at every step", torch.stack(step_logits), **TOL,
              msg="the logits of every step must equal those of the uncached model (within 1e-5)")


def record_positions(model):
    """Forward hooks, the test's own, on the model's modules: how many positions each call runs
    through the token embedding, and through every layer's c_attn (where q, k, v are computed)."""
    seen = {"wte": [], **{f"layer {i}": [] for i in range(len(model.blocks))}}
    hooks = [model.wte.register_forward_hook(lambda m, inp, out: seen["wte"].append(int(inp[0].shape[1])))]
    for i, block in enumerate(model.blocks):
        hooks.append(block.attn.c_attn.register_forward_hook(
            lambda m, inp, out, key=f"layer {i}": seen[key].append(int(inp[0].shape[1]))))
    return seen, hooks


def test_one_position_per_step(check):
    model = make_model()
    prompt = torch.randint(0, 64, (1, 6))
    new = 10
    seen, hooks = record_positions(model)
    try:
        with torch.no_grad():
            idx, step_logits = generate_cached(model, prompt, new)
    finally:
        for h in hooks:
            h.remove()
    check("tokens", idx[0].tolist(), exact=True,
          msg="cached greedy decoding must produce exactly the tokens of uncached decoding")
    # The calls that produced the step logits: the prefill, then one per new token after the first.
    check("positions embedded by each model call (wte)", seen["wte"][:new], exact=True,
          msg="generate_cached must run the prompt through forward_cached once (prefill), then feed ONLY the "
              "token just chosen: a fresh cache and the whole sequence at every step is uncached decoding")
    check("positions each layer computes q, k, v for (c_attn), per call",
          [seen[f"layer {i}"][:new] for i in range(len(model.blocks))], exact=True,
          msg="every layer must compute keys and values for the NEW positions only and take the older ones from "
              "the cache: do not run c_attn over the whole sequence again")


def test_speed(check):
    # Not graded on speed: the two timings are shown as metrics. A bigger model.
    config = GPTConfig(vocab_size=128, block_size=256, n_layer=4, n_head=4, n_embd=128)
    model = TinyGPT(config).double().eval()
    prompt = torch.randint(0, 128, (1, 48))
    new = 48
    with torch.no_grad():
        t0 = time.perf_counter()
        ref_idx, _ = generate_uncached(model, prompt, new)
        uncached = (time.perf_counter() - t0) * 1000 / new
        t0 = time.perf_counter()
        idx, _ = generate_cached(model, prompt, new)
        cached = (time.perf_counter() - t0) * 1000 / new
    print(f"uncached: {uncached:.2f} ms/token   cached: {cached:.2f} ms/token   speed-up: {uncached / cached:.1f}x")
    check.metric("ms_per_token_uncached", 0, uncached)
    check.metric("ms_per_token_cached", 0, cached)
    print("the same tokens as uncached decoding:", torch.equal(idx, ref_idx))
    check("tokens (48-token prompt, 48 new tokens)", idx[0].tolist(), exact=True,
          msg="cached greedy decoding must produce exactly the tokens of uncached decoding")
