"""Can this machine run the sandbox? Answered once per process, with the reason when it can't."""

import shutil

from gpu_runner.sandbox import cgroups
from gpu_runner.sandbox.launch import Launcher, SandboxConfig
from gpu_runner.sandbox.pool import SandboxUnavailable, WarmPool
from gpu_runner.sandbox.session import run_job

_cache: dict = {}


def sandbox_status(config: SandboxConfig) -> tuple[bool, str]:
    """(usable, explanation). Starts one real sandbox and runs an empty job in it."""
    key = (config.unsafe, str(config.venv), config.uid)
    if key in _cache:
        return _cache[key]
    if config.unsafe:
        status = (True, "GRADER_UNSAFE_LOCAL=1: learner code runs WITHOUT the sandbox")
    elif shutil.which("bwrap") is None:
        status = (False, "bubblewrap (bwrap) is not installed: apt-get install bubblewrap")
    else:
        pool = WarmPool(Launcher(config), enabled=False, ready_timeout=30)
        try:
            spare = pool.take()
            result = run_job(spare, {"tests": []}, wall_seconds=20, memory_bytes=512 << 20)
            if result.finished:
                limits = (
                    "cgroup pids+memory limits" if cgroups.available() else "rlimits only (no writable cgroup tree)"
                )
                status = (True, f"bubblewrap sandbox works ({limits})")
            else:
                status = (
                    False,
                    f"bubblewrap started but the harness did not finish: {result.detail or result.stderr.strip()}",
                )
        except (SandboxUnavailable, OSError) as exc:
            status = (False, f"bubblewrap cannot start here: {exc}")
    _cache[key] = status
    return status
