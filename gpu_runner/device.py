"""Which device a job runs on. A GPU worker uses CUDA when torch in the sandbox's environment
sees one; the probe runs once per process, in a subprocess, so the worker itself never imports
torch or initialises CUDA."""

import functools
import glob
import os
import shutil
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


def driver_library_dirs() -> tuple[str, ...]:
    """The folders of the driver's libcuda.so.1 as this worker's loader finds it: through
    LD_LIBRARY_PATH first, else through /etc/ld.so.cache (`ldconfig -p`). The sandbox has neither
    (a cleared environment, no /etc), so launch.py binds these and names them in its
    LD_LIBRARY_PATH. Empty when the library is nowhere to be found (a CPU host)."""
    found = []
    for folder in os.environ.get("LD_LIBRARY_PATH", "").split(":"):
        if folder and os.path.exists(os.path.join(folder, "libcuda.so.1")):
            found.append(os.path.realpath(folder))
    if not found:
        ldconfig = shutil.which("ldconfig") or "/sbin/ldconfig"
        try:
            listing = subprocess.run([ldconfig, "-p"], capture_output=True, text=True, timeout=20).stdout
        except (OSError, subprocess.TimeoutExpired):
            listing = ""
        for line in listing.splitlines():
            name, _, path = line.strip().partition(" => ")
            # "libcuda.so.1 (libc6,x86-64) => /usr/lib/x86_64-linux-gnu/libcuda.so.1"; a bare
            # "(libc6)" entry is the 32-bit library.
            if name.startswith("libcuda.so.1 ") and "libc6," in name and path:
                found.append(os.path.realpath(os.path.dirname(path)))
    return tuple(dict.fromkeys(found))
