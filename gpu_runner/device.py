"""Which device a job runs on. A GPU worker uses CUDA when torch in the sandbox's environment
sees one; the probe runs once per process, in a subprocess, so the worker itself never imports
torch or initialises CUDA."""

import functools
import glob
import os
import subprocess
import sys


@functools.lru_cache(maxsize=1)
def cuda_available() -> bool:
    forced = os.environ.get("GPU_RUNNER_DEVICE", "auto")
    if forced in ("cpu", "cuda"):
        return forced == "cuda"
    if not os.path.exists("/dev/nvidiactl"):
        return False
    try:
        out = subprocess.run(
            [sys.executable, "-c", "import torch; print(torch.cuda.is_available())"],
            capture_output=True,
            text=True,
            timeout=120,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return out.stdout.strip().endswith("True")


def gpu_device_nodes() -> tuple[tuple[str, ...], str]:
    """The device nodes of the one GPU this worker owns, and its UUID.

    `CUDA_VISIBLE_DEVICES` (a UUID or an index) names the GPU; only its /dev/nvidiaN node is bound
    into the sandbox, with the control nodes. CUDA_VISIBLE_DEVICES alone is not a boundary.
    """
    wanted = os.environ.get("CUDA_VISIBLE_DEVICES", "0").split(",")[0].strip()
    gpus = []
    for info in sorted(glob.glob("/proc/driver/nvidia/gpus/*/information")):
        fields = {}
        with open(info) as fh:
            for line in fh:
                if ":" in line:
                    k, v = line.split(":", 1)
                    fields[k.strip()] = v.strip()
        gpus.append((fields.get("GPU UUID", ""), fields.get("Device Minor", "")))
    chosen = None
    for index, (uuid, minor) in enumerate(gpus):
        if wanted in (uuid, str(index)) or (wanted.startswith("GPU-") and uuid.startswith(wanted)):
            chosen = (uuid, minor)
            break
    nodes = [n for n in ("/dev/nvidiactl", "/dev/nvidia-uvm", "/dev/nvidia-uvm-tools") if os.path.exists(n)]
    if chosen and chosen[1]:
        nodes.insert(0, f"/dev/nvidia{chosen[1]}")
    return tuple(nodes), (chosen[0] if chosen else "")
