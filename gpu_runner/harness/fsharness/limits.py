"""Resource limits the harness sets on itself, and the per-test seeds (the same for the reference
and the learner, so random draws line up)."""

import random
import resource
import sys


def apply_limits(limits: dict) -> None:
    used = resource.getrusage(resource.RUSAGE_SELF)
    cpu_used = int(used.ru_utime + used.ru_stime) + 1
    cpu = int(limits.get("cpu_seconds") or 0)
    if cpu:
        resource.setrlimit(resource.RLIMIT_CPU, (cpu_used + cpu, cpu_used + cpu + 2))
    for name, key in (
        ("RLIMIT_FSIZE", "file_bytes"),
        ("RLIMIT_NOFILE", "open_files"),
        ("RLIMIT_NPROC", "processes"),
        ("RLIMIT_AS", "address_space_bytes"),
    ):
        value = limits.get(key)
        if value:
            res = getattr(resource, name)
            hard = resource.getrlimit(res)[1]
            value = int(value) if hard == resource.RLIM_INFINITY else min(int(value), hard)
            resource.setrlimit(res, (value, value))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def seed_for(seed: int, test_id: str) -> int:
    return (int(seed) * 1000003 + sum(map(ord, test_id))) % (2**31)


def seed_everything(seed: int) -> None:
    random.seed(seed)
    if "numpy" in sys.modules:
        sys.modules["numpy"].random.seed(seed)
    if "torch" in sys.modules:
        sys.modules["torch"].manual_seed(seed)
