"""Per-process runner state: the sandbox configuration from settings and the warm pool."""

import atexit
import logging
import os
from pathlib import Path

from django.conf import settings

from gpu_runner.sandbox.launch import Launcher, SandboxConfig
from gpu_runner.sandbox.pool import WarmPool

log = logging.getLogger(__name__)
_pool = None


def sandbox_config() -> SandboxConfig:
    from gpu_runner.device import cuda_available, driver_library_dirs, gpu_device_nodes

    nodes, uuid, lib_dirs = (), "", ()
    if os.path.exists("/dev/nvidiactl"):
        # The probe initialises CUDA once on the host, which creates /dev/nvidia-uvm where no
        # udev rule has (nvidia-modprobe): without that node a sandbox's first allocation fails.
        cuda_available()
        nodes, uuid = gpu_device_nodes()
        lib_dirs = driver_library_dirs()
    # One uid per worker process: RLIMIT_NPROC and leftover zombies are per uid.
    base_uid = int(os.environ.get("GRADER_SANDBOX_UID", "61000"))
    uid = base_uid + 1 + os.getpid() % 2000
    return SandboxConfig(
        unsafe=settings.GRADER_UNSAFE_LOCAL,
        data_dir=Path(settings.DATASET_CACHE_DIR),
        uid=uid,
        gid=uid,
        gpu_nodes=nodes,
        gpu_uuid=uuid,
        gpu_lib_dirs=lib_dirs,
    )


def pool() -> WarmPool:
    global _pool
    if _pool is None:
        Path(settings.DATASET_CACHE_DIR).mkdir(parents=True, exist_ok=True)
        _pool = WarmPool(
            Launcher(sandbox_config()), enabled=settings.GRADER_WARM_POOL, depth=settings.GRADER_WARM_DEPTH
        )
        atexit.register(_pool.close)
    return _pool


def warm(kinds: str) -> None:
    """Start spares ahead of the first job, e.g. kinds="py,torch"."""
    p = pool()
    for kind in filter(None, (k.strip() for k in kinds.split(","))):
        p.refill(preload=() if kind == "py" else (kind,))
