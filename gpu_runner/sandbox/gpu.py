"""What a GPU job's sandbox (or, unsandboxed, its environment) gets beyond a CPU job's: only the
assigned GPU's device nodes, that GPU alone visible to CUDA, /sys read-only, and the folders of
the driver's libraries. A CPU job sees no GPU at all."""

from pathlib import Path


def bwrap_args(config, gpu: bool) -> list[str]:
    if not gpu:
        return ["--setenv", "CUDA_VISIBLE_DEVICES", ""]
    args = []
    for node in config.gpu_nodes:
        args += ["--dev-bind", node, node]
    if config.gpu_uuid:
        args += ["--setenv", "CUDA_VISIBLE_DEVICES", config.gpu_uuid]
    # cuInit fails with CUDA_ERROR_OPERATING_SYSTEM (304) without /sys (it reads the GPU's PCI
    # and NUMA entries there); read-only, and only in GPU sandboxes.
    if Path("/sys").is_dir():
        args += ["--ro-bind", "/sys", "/sys"]
    for folder in config.gpu_lib_dirs:
        if not str(folder).startswith("/usr/"):  # /usr is bound for every sandbox
            args += ["--ro-bind", str(folder), str(folder)]
    if config.gpu_lib_dirs:
        args += ["--setenv", "LD_LIBRARY_PATH", ":".join(map(str, config.gpu_lib_dirs))]
    return args


def unsafe_env(config, gpu: bool) -> dict:
    """Unsandboxed, a job still sees only its GPU (none for a CPU job) and the driver's libraries."""
    env = {"CUDA_VISIBLE_DEVICES": config.gpu_uuid if gpu else ""} if (config.gpu_uuid or not gpu) else {}
    if gpu and config.gpu_lib_dirs:
        env["LD_LIBRARY_PATH"] = ":".join(map(str, config.gpu_lib_dirs))
    return env
