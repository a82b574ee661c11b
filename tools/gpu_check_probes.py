"""Test sources that tools/gpu_check.py runs inside the sandbox (and one it runs on the host).

They are test files like a course's: the harness compiles and runs them, they report through
`check` and print one `GPUCHECK {json}` line that gpu_check.py reads back from the test's output.
Kept apart from gpu_check.py so that file stays about orchestration.
"""

MARK = "GPUCHECK "

# What the machine offers, asked the same way on the host (a subprocess of gpu_check.py) and in
# the sandbox (PROBE_TEST): a difference between the two is the sandbox's doing.
PROBE_FUNCTION = r"""
import json, os, time


def _attempt(fn):
    try:
        return {"ok": True, **(fn() or {})}
    except Exception as exc:  # every check reports, none fails the probe
        return {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:600]}


def probe(compile_check=True):
    import torch

    def part(**values):
        print("GPUCHECK " + json.dumps(values), flush=True)
        info.update(values)

    info = {}
    part(torch=torch.__version__, cuda_build=torch.version.cuda,
         visible=os.environ.get("CUDA_VISIBLE_DEVICES"), ld_library_path=os.environ.get("LD_LIBRARY_PATH"),
         sys_readable=os.path.isdir("/sys/bus/pci/devices"),
         nvidia_nodes=sorted("/dev/" + n for n in os.listdir("/dev") if n.startswith("nvidia")))
    started = time.perf_counter()
    try:
        torch.cuda.init()
    except Exception as exc:
        part(cuda_error=f"{type(exc).__name__}: {exc}"[:400])
    part(cuda=torch.cuda.is_available(), cuda_init_seconds=round(time.perf_counter() - started, 2))
    if not info["cuda"]:
        return info
    props = torch.cuda.get_device_properties(0)
    free, total = torch.cuda.mem_get_info()
    part(device_count=torch.cuda.device_count(), name=torch.cuda.get_device_name(0),
         capability=list(torch.cuda.get_device_capability(0)), sms=props.multi_processor_count,
         total_mb=total >> 20, used_mb=(total - free) >> 20)

    def bf16():
        a = torch.randn(256, 256, device="cuda")
        with torch.autocast("cuda", dtype=torch.bfloat16):
            out = a @ a
        return {"supported": torch.cuda.is_bf16_supported(), "autocast_dtype": str(out.dtype)}

    def flash():
        import torch.nn.functional as F
        from torch.nn.attention import SDPBackend, sdpa_kernel
        # The capstone's shapes: 6 heads of 64 over a context of 256, with dropout while training.
        q = torch.randn(4, 6, 256, 64, device="cuda", dtype=torch.bfloat16, requires_grad=True)
        with sdpa_kernel(SDPBackend.FLASH_ATTENTION):
            F.scaled_dot_product_attention(q, q, q, dropout_p=0.2, is_causal=True).sum().backward()
        torch.cuda.synchronize()
        return {"flash_sdp_enabled": torch.backends.cuda.flash_sdp_enabled()}

    def compiled():
        begun = time.perf_counter()
        fn = torch.compile(lambda x: (x.sin() * 2 + 1).relu().sum())
        x = torch.randn(1024, device="cuda")
        close = torch.allclose(fn(x), (x.sin() * 2 + 1).relu().sum(), rtol=1e-4, atol=1e-3)
        return {"matches_eager": bool(close), "seconds": round(time.perf_counter() - begun, 1)}

    part(bf16=_attempt(bf16))
    part(flash=_attempt(flash))
    if compile_check:
        part(compile=_attempt(compiled))
        if not info["compile"]["ok"]:
            # Again with the caches somewhere writable and a user name set: the fix a test would
            # need if only the sandbox's bare environment is in the way.
            os.environ.setdefault("USER", "learner")
            os.environ.setdefault("TORCHINDUCTOR_CACHE_DIR", os.path.join(os.getcwd(), ".inductor"))
            os.environ.setdefault("TRITON_CACHE_DIR", os.path.join(os.getcwd(), ".triton"))
            torch._dynamo.reset()
            part(compile_with_env=_attempt(compiled))
    return info
"""

PROBE_TEST = (
    PROBE_FUNCTION
    + r"""

def test_probe(check):
    print("GPUCHECK " + json.dumps({"dev": sorted(os.listdir("/dev"))}), flush=True)
    probe(compile_check=check.config.get("compile", True))
    check("probed", 1, exact=True)
"""
)

HOST_PROBE = PROBE_FUNCTION + "\nprobe()\n"

# The allocator cap: the reference allocates a little, the "learner" past gpu_memory_mb.
CAP_REFERENCE = (
    "import torch\n\n\ndef allocate(mb, device):\n    return torch.ones(64 << 20, dtype=torch.uint8, device=device)\n"
)
CAP_LEARNER = (
    "import torch\n\n\ndef allocate(mb, device):\n    return torch.ones(mb << 20, dtype=torch.uint8, device=device)\n"
)
CAP_TEST = r"""
from alloc import allocate


def test_allocation(check):
    block = allocate(check.config["mb"], check.device)
    check("first byte", int(block[0]), exact=True)
"""

# A memory hog that tries to outlive its job: a child in a session of its own that holds memory
# (GPU memory on a GPU) and sleeps. The marker in its argv lets the host look for survivors.
HOG_TEST = r"""
import json, subprocess, sys

import torch

HOLD = (
    "import sys, time, torch\n"
    "x = torch.ones(int(sys.argv[1]) << 20, dtype=torch.uint8, device=sys.argv[2])\n"
    "print('held', flush=True)\n"
    "time.sleep(900)\n"
)


def used_mb():
    if not torch.cuda.is_available():
        return None
    free, total = torch.cuda.mem_get_info()
    return (total - free) >> 20


def test_hog(check):
    mb, device = check.config["hog_mb"], check.device
    before = used_mb()
    own = torch.ones(mb << 20, dtype=torch.uint8, device=device)
    child = subprocess.Popen([sys.executable, "-I", "-c", HOLD, str(mb), device, check.config["marker"]],
                             stdout=subprocess.PIPE, text=True, start_new_session=True)
    held = child.stdout.readline().strip() == "held"
    print("GPUCHECK " + json.dumps({"before_mb": before, "during_mb": used_mb(), "child_held": held,
                                    "own_mb": own.numel() >> 20}))
    check("child held", held, exact=True)
"""

CLEAN_TEST = r"""
import json

import torch


def test_clean(check):
    info = {"cuda": torch.cuda.is_available()}
    if info["cuda"]:
        free, total = torch.cuda.mem_get_info()
        info.update(used_mb=(total - free) >> 20, total_mb=total >> 20)
    print("GPUCHECK " + json.dumps(info))
    check("probed", 1, exact=True)
"""

# Appended to the exercise's own hidden test file, so it trains with the same data split, model
# construction and fixed validation windows (load_splits, val_loss) as the graded run.
CURVE_TEST = r'''


def test_gpu_curve(check):
    """The reference loop on the exercise's data: validation loss against training seconds
    (evaluation time excluded), bf16 autocast on CUDA when config["amp"] says so."""
    import contextlib
    import json

    cfg, device = dict(check.config), check.device
    if device == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    amp = device == "cuda" and cfg.get("amp") == "bf16"
    autocast = (lambda: torch.autocast("cuda", dtype=torch.bfloat16)) if amp else contextlib.nullcontext
    chars, train_ids, val_ids = load_splits(check)
    B, T = cfg["batch_size"], cfg["block_size"]
    keys = ("max_iters", "learning_rate", "min_lr", "warmup_iters", "weight_decay", "beta1", "beta2", "grad_clip",
            "log_interval")

    def build():
        torch.manual_seed(1337)
        return GPT(GPTConfig(block_size=T, vocab_size=len(chars), n_layer=cfg["n_layer"], n_head=cfg["n_head"],
                             n_embd=cfg["n_embd"], dropout=cfg["dropout"], bias=cfg["bias"])).to(device)

    def batches(split):
        return get_batch(train_ids if split == "train" else val_ids, T, B, device)

    def sync():
        if device == "cuda":
            torch.cuda.synchronize()

    steps = cfg["max_iters"]
    if cfg.get("target_seconds"):
        # Measure this machine's speed first, then size the schedule to the time target: the
        # cosine must end when training does, or the curve is not the one a real run follows.
        seen = []
        calibrate = {**{k: cfg[k] for k in keys}, "max_iters": cfg["calibrate_iters"], "log_interval": 10}
        with autocast():
            train(build(), batches, calibrate, lambda step, loss: seen.append((step, time.perf_counter())))
        (s0, t0), (s1, t1) = seen[1], seen[-1]
        rate = (s1 - s0) / (t1 - t0)
        steps = int(min(cfg["max_iters_cap"], rate * cfg["target_seconds"]) // 100 * 100) or 100
        print("GPUCHECK " + json.dumps({"calibrated_steps_per_s": round(rate, 1), "max_iters": steps}), flush=True)
    config = {**{k: cfg[k] for k in keys}, "max_iters": steps}
    every = max(cfg["log_interval"], steps // cfg["curve_points"] // cfg["log_interval"] * cfg["log_interval"])
    model, clock = build(), {"train": 0.0, "mark": time.perf_counter()}
    points = []

    class OutOfTime(Exception):
        pass

    def evaluate(step, n_batches):
        sync()
        clock["train"] += time.perf_counter() - clock["mark"]
        with autocast():
            value = val_loss(model, val_ids, T, B, n_batches, device)
        model.train()
        points.append({"step": step, "train_seconds": round(clock["train"], 3), "val_loss": round(value, 4)})
        check.metric("val_loss", step, value)
        check.metric("train_seconds", step, clock["train"])
        clock["mark"] = time.perf_counter()
        return value

    def log(step, loss):
        check.metric("train_loss", step, float(loss))
        if step % every == 0:
            evaluate(step, cfg["curve_eval_batches"])
            if clock["train"] > cfg["curve_max_seconds"]:
                raise OutOfTime

    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    finished = True
    try:
        with autocast():
            train(model, batches, config, log)
    except OutOfTime:
        finished = False
    final = evaluate(steps if finished else points[-1]["step"], cfg["eval_batches"])
    # Short: a log line carries 500 characters live; the points are in the metric events.
    summary = {"amp": amp, "max_iters": steps, "finished": finished, "batch": B, "block": T,
               "train_seconds": points[-1]["train_seconds"], "final_val_loss": round(final, 4),
               "tokens_per_second": round(points[-1]["step"] * B * T / max(points[-1]["train_seconds"], 1e-9)),
               "peak_gpu_mb": torch.cuda.max_memory_allocated() >> 20 if device == "cuda" else None}
    print("GPUCHECK " + json.dumps(summary))
    check("curve finished", True, exact=True)
'''
