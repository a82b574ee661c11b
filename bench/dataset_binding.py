"""What per-job dataset binding costs: making a spare's own /data folder, and putting a job's
datasets into it at hand-over (a hard link per file, or a copy where links are refused).

    python bench/dataset_binding.py [--runs 500]

Uses the flagship's two datasets from COURSE_ASSETS_DIR (or ../shared/data) when present, else
random files of the same sizes, in a temporary cache. Prints medians and p95 in milliseconds.
"""

import argparse
import hashlib
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from gpu_runner import datasets  # noqa: E402

SIZES = {"names.txt": 228_145, "tinyshakespeare.txt": 1_115_394}


def _files(cache: Path) -> dict[str, str]:
    mirror = Path(os.environ.get("COURSE_ASSETS_DIR") or ROOT.parent / "shared" / "data")
    found = {}
    for name, size in SIZES.items():
        data = (mirror / name).read_bytes() if (mirror / name).is_file() else os.urandom(size)
        blob = datasets.blob_path(cache, hashlib.sha256(data).hexdigest())
        blob.parent.mkdir(parents=True, exist_ok=True)
        blob.write_bytes(data)
        found[name] = str(blob)
    return found


def _timed(fn, runs):
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    times.sort()
    return statistics.median(times), times[int(0.95 * (len(times) - 1))]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=500)
    args = parser.parse_args()
    cache = Path(tempfile.mkdtemp(prefix="fs-bench-datasets-"))
    try:
        files = _files(cache)
        made = [datasets.spare_dir(cache) for _ in range(3 * args.runs)]  # warm the folder root
        for folder in made:
            folder.rmdir()
        ready = iter([datasets.spare_dir(cache) for _ in range(2 * args.runs)])

        def make():
            datasets.spare_dir(cache)

        def link():
            datasets.bind(next(ready), files)

        def copy():
            folder = next(ready)
            for name, source in files.items():
                shutil.copyfile(source, folder / name)

        for label, fn in (
            ("make a spare's /data folder", make),
            ("link 2 datasets into it", link),
            ("copy them instead", copy),
        ):
            p50, p95 = _timed(fn, args.runs)
            print(f"{label:<28} p50 {p50:7.3f} ms   p95 {p95:7.3f} ms   ({args.runs} runs)")
        total = sum(SIZES.values())
        print(f"datasets: {', '.join(files)} ({total / 1e6:.1f} MB); a link costs nothing per byte, a copy does")
    finally:
        shutil.rmtree(cache, ignore_errors=True)


if __name__ == "__main__":
    main()
