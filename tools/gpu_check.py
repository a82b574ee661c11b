"""One-command GPU check (issue #15): the capstone *Train a GPT on Shakespeare* graded on this
machine's GPU through the worker's own code path, without a database or the web stack.

    tools/gpu_check.sh                      # on a GPU host (sets up what is missing, then this)
    python tools/gpu_check.py --device cpu --max-iters 100 --val-loss-max 3.5   # CPU smoke run

What it does, in order (each line of the report is PASS, FAIL, SKIP or INFO with its reason):
  1. the machine: device name, torch.compile, bf16 autocast and flash attention, on the host;
  2. the sandbox: bubblewrap usable? (else --unsafe says what that means), then one job in it
     that lists /dev and asks the same questions from inside;
  3. isolation: an allocation past gpu_memory_mb fails its test with a clear message; a memory
     hog that forks a child into a session of its own does not survive its job; the next job
     finds the device clean;
  4. grading: the reference solution (the worker's warm-up path, kind "reference") and three
     mutants graded against it (the submission path), through `gpu_runner.execute.execute`;
  5. the curve: the reference loop with the proposed GPU configuration, val loss logged against
     training seconds, so the threshold and wall limit can be read off it.
Results go to --out (default $OUT, else var/gpu-check/<time>): results.json, table.txt, curve.csv,
reference_train_loss.csv. Exit status 1 only if the reference fails or a mutant passes.
"""

import argparse
import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MUTANTS = ("no_step", "lr_too_small", "trains_on_val")
# The GPU configuration proposed for the capstone (docs: /tmp/s20/notes/gpu.md): nanoGPT's
# shakespeare-char model and optimiser, bf16 autocast (flash attention through the model's
# F.scaled_dot_product_attention), and max_iters sized by measured speed to ~50 s of training.
PROPOSAL = {
    **dict(n_layer=6, n_head=6, n_embd=384, block_size=256, batch_size=64, dropout=0.2, bias=False),
    **dict(learning_rate=1e-3, min_lr=1e-4, warmup_iters=100, weight_decay=0.1, beta1=0.9, beta2=0.99),
    **dict(grad_clip=1.0, log_interval=10, eval_batches=50, amp="bf16", max_iters=5000),
    **dict(target_seconds=50, max_iters_cap=5000, calibrate_iters=60, curve_points=25, curve_eval_batches=20),
    "curve_max_seconds": 120,
}
TARGET = {"val_loss": 1.50, "train_seconds": 60}


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--device", choices=("auto", "cpu"), default="auto", help="cpu: the exercise's cpu_fallback path")
    p.add_argument("--max-iters", type=int, help="override max_iters (a short smoke run)")
    p.add_argument("--val-loss-max", type=float, help="override the val loss bar (with --max-iters)")
    p.add_argument("--mutants", default=",".join(MUTANTS), help="comma-separated mutant names")
    p.add_argument("--skip", default="", help="comma-separated sections to skip: probe,isolation,grading,curve")
    p.add_argument("--unsafe", action="store_true", help="run without bubblewrap if the sandbox cannot start")
    p.add_argument("--budget", type=float, default=520, help="seconds this check may take in all")
    p.add_argument("--out", help="output folder (default $OUT, else var/gpu-check/<time>)")
    return p.parse_args(argv)


class Report:
    def __init__(self, out: Path):
        self.out, self.checks, self.runs, self.data = out, [], [], {}
        self.started = time.monotonic()
        out.mkdir(parents=True, exist_ok=True)

    def check(self, status: str, name: str, reason: str) -> None:
        self.checks.append({"status": status, "name": name, "reason": reason})
        print(f"{status:<4}  {name}: {reason}", flush=True)

    def run(self, row: dict) -> None:
        self.runs.append(row)
        print(
            f"RUN   {row['run']}: {row['result']} in {_fmt(row['wall_s'])} s ({row.get('detail') or 'ok'})", flush=True
        )

    def left(self, budget: float) -> float:
        return budget - (time.monotonic() - self.started)

    def table(self) -> str:
        head = ["run", "device", "first event s", "wall s", "tokens/s", "peak GPU MB", "val loss", "result"]
        keys = ["run", "device", "first_event_s", "wall_s", "tokens_per_s", "peak_gpu_mb", "val_loss", "result"]
        rows = [head] + [[_fmt(r.get(k)) for k in keys] for r in self.runs]
        widths = [max(len(row[i]) for row in rows) for i in range(len(head))]
        lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)) for row in rows]
        lines.insert(1, "  ".join("-" * w for w in widths))
        checks = [f"{c['status']:<4}  {c['name']}: {c['reason']}" for c in self.checks]
        return "\n".join([f"device: {self.data.get('device_name', 'cpu')}", "", *lines, "", *checks]) + "\n"

    def save(self) -> None:
        text = self.table()
        print("\n" + text, flush=True)
        (self.out / "table.txt").write_text(text)
        blob = {"checks": self.checks, "runs": self.runs, **self.data}
        (self.out / "results.json").write_text(json.dumps(blob, indent=1, default=str))


def _fmt(v) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.0f}" if abs(v) >= 1000 else f"{v:.4f}".rstrip("0").rstrip(".")
    return str(v)


def setup(args):
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings.runner"
    # The runner settings demand a broker URL; nothing here talks to it.
    os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/0")
    if args.device == "cpu":
        os.environ["GPU_RUNNER_DEVICE"] = "cpu"
    sys.path.insert(0, str(ROOT))


def host_probe(report, gpu_wanted: bool) -> bool:
    """The machine as the host sees it (in a subprocess: this process never initialises CUDA)."""
    from tools.gpu_check_probes import HOST_PROBE
    from tools.gpu_check_sections import marked

    if not gpu_wanted:
        report.check("SKIP", "GPU on the host", "--device cpu")
        return False
    try:
        # Without PYTHONPATH: the runner's carried packages are the parent's, not torch's.
        env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
        out = subprocess.run([sys.executable, "-c", HOST_PROBE], capture_output=True, text=True, timeout=300, env=env)
        info = marked(out.stdout) or {"cuda": False, "cuda_error": out.stderr.strip()[-500:]}
    except subprocess.TimeoutExpired:
        info = {"cuda": False, "cuda_error": "the probe took over 300 s"}
    report.data["host"] = info
    if not info.get("cuda"):
        # The runner must agree: its own probe (device.py) could otherwise pick CUDA after all.
        os.environ["GPU_RUNNER_DEVICE"] = "cpu"
        report.check("SKIP", "GPU on the host", f"torch sees no CUDA device: {info.get('cuda_error', '')}")
        return False
    report.data["device_name"] = info["name"]
    report.check("INFO", "GPU on the host", f"{info['name']}, {info['total_mb']} MB, torch {info['torch']}")
    for key, name in (
        ("bf16", "bf16 autocast (host)"),
        ("flash", "flash attention (host)"),
        ("compile", "torch.compile (host)"),
    ):
        r = info.get(key) or {}
        report.check("PASS" if r.get("ok") else "FAIL", name, json.dumps(r)[:300])
    return True


def sandbox(report, args):
    """The launcher config, or the unsafe one when bubblewrap is refused and --unsafe allows it."""
    from gpu_runner import runtime
    from gpu_runner.sandbox.diagnose import sandbox_status

    config = runtime.sandbox_config()
    usable, why = sandbox_status(config)
    report.data["sandbox"] = {
        "usable": usable,
        "why": why,
        "gpu_nodes": config.gpu_nodes,
        "lib_dirs": config.gpu_lib_dirs,
    }
    if usable:
        report.check("PASS", "sandbox", why)
        return config
    if not args.unsafe:
        report.check("FAIL", "sandbox", f"{why}; a production worker then grades nothing (every job not gradable)")
        return None
    config.unsafe = True
    report.check(
        "FAIL",
        "sandbox",
        f"{why}. Continuing with --unsafe (GRADER_UNSAFE_LOCAL): learner code runs WITHOUT bubblewrap, "
        "no namespaces, no seccomp, every GPU visible; a production worker would instead refuse every "
        "job (SandboxUnavailable: not gradable, no attempt used)",
    )
    return config


def main(argv=None) -> int:
    args = parse_args(argv)
    setup(args)
    out = Path(args.out or os.environ.get("OUT") or ROOT / "var" / "gpu-check" / time.strftime("%Y%m%d-%H%M%S"))
    report = Report(out)
    skip = set(filter(None, args.skip.split(",")))
    gpu = host_probe(report, args.device != "cpu")
    from django.conf import settings

    from gpu_runner import datasets
    from gpu_runner.sandbox.launch import Launcher
    from tools import gpu_check_sections as sections
    from tools.gpu_check_jobs import Exercise

    overrides = {k: v for k, v in (("max_iters", args.max_iters), ("val_loss_max", args.val_loss_max)) if v}
    mirror = os.environ.get("COURSE_ASSETS_DIR", "") or str(ROOT / "var" / "gpu-carry" / "data")
    ex = Exercise(datasets.mirror_folders(mirror), gpu=gpu, overrides=overrides)
    report.data.update(config=ex.config, overrides=overrides, proposal=PROPOSAL, target=TARGET)
    config = sandbox(report, args)
    if config is None:
        report.save()
        return 1
    pool = sections.TimedPool(Launcher(config), enabled=settings.GRADER_WARM_POOL, depth=1)
    ctx = sections.Context(report=report, pool=pool, gpu=gpu, config=config, args=args, ex=ex, mirror=mirror)
    ctx.data_dir, ctx.proposal, ctx.target = settings.DATASET_CACHE_DIR, PROPOSAL, TARGET
    ctx.marker = f"fromscratch-gpu-hog-{uuid.uuid4().hex[:12]}"
    failed = False
    try:
        if "probe" not in skip:
            sections.probe(ctx)
        if "isolation" not in skip:
            sections.isolation(ctx)
        if "grading" not in skip:
            failed = sections.grading(ctx)
        if "curve" not in skip:
            sections.curve(ctx)
    finally:
        pool.close()
        sections.kill_survivors(ctx.marker)
        report.save()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
