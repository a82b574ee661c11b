"""`fromscratch test`: the visible tests on this machine, judged by the runner's own code against
the expected values the server sent (the reference's observations of the visible tests). Your own
code on your own machine, so it runs without the server's sandbox."""

import os
import tempfile
from pathlib import Path


def run_local(job: dict, files: dict) -> dict:
    from gpu_runner.execute import execute
    from gpu_runner.sandbox.launch import Launcher, SandboxConfig
    from gpu_runner.sandbox.pool import WarmPool

    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "fromscratch" / "data"
    cache.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="fromscratch-"):
        pool = WarmPool(Launcher(SandboxConfig(unsafe=True, data_dir=cache)), enabled=False)
        try:
            payload = execute(
                {**job, "files": files},
                pool=pool,
                data_dir=str(cache),
                mirror_dir=os.environ.get("COURSE_ASSETS_DIR", ""),
            )
        finally:
            pool.close()
    return payload
