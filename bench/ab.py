"""Interleaved A/B of grading latency: this checkout against another one (say, the commit before a
change), on the same machine, in alternating rounds (A B A B ...), so that the machine's load
drifts over both sides alike.

    git worktree add --detach /tmp/before <commit>      # the other side, with its own .venv or this one's
    python bench/ab.py --other /tmp/before [--rounds 4] [--runs 15]

Each round runs bench/grading_latency.py (this checkout's script) with --warm-only against one
side. It prints, per exercise, the median over rounds of each round's p50 and p95, and the ratio
this/other. A ratio within 0.9-1.1 means the change did not cost latency beyond noise.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def percentile(values, q):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def one_round(root: Path, runs: int) -> dict[str, tuple[float, float]]:
    python = root / ".venv" / "bin" / "python"
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        subprocess.run(
            [str(python if python.exists() else sys.executable), str(HERE / "grading_latency.py")]
            + ["--runs", str(runs), "--warm-only", "--json", out.name],
            cwd=root,
            env={**os.environ, "FROMSCRATCH_BENCH_ROOT": str(root)},
            check=True,
            stdout=subprocess.DEVNULL,
        )
        rows = json.loads(Path(out.name).read_text())["rows"]
    return {
        f"{r['exercise']}, {r['mode']}": (statistics.median(r["seconds"]), percentile(r["seconds"], 0.95)) for r in rows
    }


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--other", required=True, help="the other checkout (B)")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--json", help="write every round's figures here")
    args = parser.parse_args()
    sides = {"this": ROOT, "other": Path(args.other).resolve()}
    rounds = {"this": [], "other": []}
    for i in range(args.rounds):
        for name in ("this", "other") if i % 2 == 0 else ("other", "this"):
            rounds[name].append(one_round(sides[name], args.runs))
            figures = ", ".join(f"{k}: p50 {v[0] * 1000:.0f} ms" for k, v in rounds[name][-1].items())
            print(f"round {i + 1} {name:<5} {figures}", flush=True)
    print(f"\nthis = {sides['this']}\nother = {sides['other']}\n")
    print("| exercise | this p50 | other p50 | ratio | this p95 | other p95 | ratio |")
    print("|---|---|---|---|---|---|---|")
    for key in rounds["this"][0]:
        a50 = statistics.median(r[key][0] for r in rounds["this"])
        b50 = statistics.median(r[key][0] for r in rounds["other"])
        a95 = statistics.median(r[key][1] for r in rounds["this"])
        b95 = statistics.median(r[key][1] for r in rounds["other"])
        print(
            f"| {key} | {a50 * 1000:.0f} ms | {b50 * 1000:.0f} ms | {a50 / b50:.2f} "
            f"| {a95 * 1000:.0f} ms | {b95 * 1000:.0f} ms | {a95 / b95:.2f} |"
        )
    if args.json:
        Path(args.json).write_text(json.dumps({"sides": {k: str(v) for k, v in sides.items()}, "rounds": rounds}))


if __name__ == "__main__":
    main()
