"""A GPU exercise on a worker without a GPU: refused unless the exercise allows a CPU fallback."""

from gpu_runner.execute import execute
from gpu_runner.sandbox.launch import Launcher, SandboxConfig
from gpu_runner.sandbox.pool import WarmPool


def test_gpu_job_without_a_gpu_and_without_fallback_is_not_gradable(tmp_path, monkeypatch):
    monkeypatch.setenv("GPU_RUNNER_DEVICE", "cpu")
    from gpu_runner.device import cuda_available

    cuda_available.cache_clear()
    pool = WarmPool(Launcher(SandboxConfig(data_dir=tmp_path)), enabled=False)
    payload = execute(
        {"device": "gpu", "cpu_fallback": None, "tests": [], "resources": {}}, pool=pool, data_dir=tmp_path
    )
    assert payload["gradable"] is False
    assert "needs a GPU" in payload["infrastructure_error"] and "no CPU fallback" in payload["infrastructure_error"]
    cuda_available.cache_clear()
