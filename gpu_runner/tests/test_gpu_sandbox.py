"""What CUDA needs from the host reaches a GPU job's sandbox, and none of it a CPU job's.

cuInit fails with CUDA_ERROR_OPERATING_SYSTEM without /sys, and the driver's libcuda.so.1 is
found only through LD_LIBRARY_PATH or /etc/ld.so.cache on hosts that keep it outside the
loader's default folders (/usr/local/nvidia/lib64): the sandbox has no /etc and a cleared
environment. No GPU is needed here: the mechanism is the same without device nodes to bind.
"""

import json
import os
import tempfile

import pytest

from gpu_runner.device import driver_library_dirs
from gpu_runner.sandbox.diagnose import sandbox_status
from gpu_runner.sandbox.launch import Launcher, SandboxConfig
from gpu_runner.sandbox.pool import WarmPool
from gpu_runner.sandbox.session import run_job

pytestmark = pytest.mark.sandbox
TEST_FILE = "tests/visible/test_env.py"
TEST_SOURCE = """
import json, os


def test_env(check):
    folder = os.environ.get("LD_LIBRARY_PATH") or ""
    lib = os.path.join(folder, "libcuda.so.1")
    info = {
        "ld_library_path": folder or None,
        "cuda_visible_devices": os.environ.get("CUDA_VISIBLE_DEVICES"),
        "driver": open(lib).read() if folder and os.path.exists(lib) else None,
        "sys": os.path.isdir("/sys/devices"),
        "sys_read_only": bool(os.statvfs("/sys").f_flag & os.ST_RDONLY) if os.path.isdir("/sys/devices") else None,
    }
    print("ENV " + json.dumps(info))
    check("ran", 1, exact=True)
"""


@pytest.fixture
def driver_dir():
    # World-readable like a real driver folder: the sandbox's uid must be able to reach it.
    folder = tempfile.mkdtemp(prefix="fs-fake-driver-", dir="/tmp")
    os.chmod(folder, 0o755)
    with open(os.path.join(folder, "libcuda.so.1"), "w") as fh:
        fh.write("driver-library-marker")
    os.chmod(os.path.join(folder, "libcuda.so.1"), 0o644)
    yield folder
    os.remove(os.path.join(folder, "libcuda.so.1"))
    os.rmdir(folder)


def sandbox_env(config: SandboxConfig, *, gpu: bool) -> dict:
    pool = WarmPool(Launcher(config), enabled=False)
    spare = pool.take(gpu=gpu)
    job = {
        "tests": [{"id": "test_env", "file": TEST_FILE, "visibility": "visible"}],
        "test_sources": {TEST_FILE: TEST_SOURCE},
        "limits": {"cpu_seconds": 20, "file_bytes": 1 << 20, "open_files": 64, "processes": 64},
    }
    result = run_job(spare, job, wall_seconds=30, memory_bytes=512 << 20)
    output = next((e.get("output", "") for e in result.events if e.get("t") == "test"), "")
    line = next((x for x in output.splitlines() if x.startswith("ENV ")), None)
    assert line, f"{result.verdict}: {result.detail} {result.stderr[-2000:]}"
    return json.loads(line[4:])


def test_a_gpu_sandbox_gets_the_driver_folder_and_a_read_only_sys(tmp_path, driver_dir):
    config = SandboxConfig(data_dir=tmp_path, uid=62011, gid=62011, gpu_lib_dirs=(driver_dir,), gpu_uuid="GPU-x")
    ok, why = sandbox_status(config)
    if not ok:
        pytest.fail(f"the sandbox cannot run on this machine: {why}")
    gpu = sandbox_env(config, gpu=True)
    assert gpu["ld_library_path"] == driver_dir and gpu["driver"] == "driver-library-marker"
    assert gpu["sys"] is True and gpu["sys_read_only"] is True
    assert gpu["cuda_visible_devices"] == "GPU-x"

    cpu = sandbox_env(config, gpu=False)
    assert cpu == {
        "ld_library_path": None,
        "cuda_visible_devices": "",
        "driver": None,
        "sys": False,
        "sys_read_only": None,
    }


def test_without_the_sandbox_a_job_still_sees_only_its_gpu_and_the_driver(tmp_path, driver_dir):
    """GRADER_UNSAFE_LOCAL (no bubblewrap): the environment is all that is left to narrow."""
    config = SandboxConfig(unsafe=True, data_dir=tmp_path, gpu_lib_dirs=(driver_dir,), gpu_uuid="GPU-x")
    gpu = sandbox_env(config, gpu=True)
    assert gpu["ld_library_path"] == driver_dir and gpu["cuda_visible_devices"] == "GPU-x"
    cpu = sandbox_env(config, gpu=False)
    assert cpu["ld_library_path"] is None and cpu["cuda_visible_devices"] == ""


def test_the_driver_folder_is_found_through_ld_library_path(monkeypatch, driver_dir, tmp_path):
    monkeypatch.setenv("LD_LIBRARY_PATH", f"{tmp_path}:{driver_dir}")
    assert driver_library_dirs() == (os.path.realpath(driver_dir),)
