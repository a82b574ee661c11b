"""Per-job control groups: the real process and memory limits (DESIGN.md §8).

RLIMIT_NPROC is per user and ignored for root, and RLIMIT_AS breaks CUDA; a pids and a memory
cgroup bound the whole job instead, report its peak memory and OOM kills, and let the parent
kill every process the job started. Works with cgroup v2 (unified) and v1 (the hybrid layout of
this machine). Needs write access to the cgroup tree (root, or a delegated subtree); without
it `available()` is False and the launcher falls back to rlimits.
"""

import os
import signal
import time
import uuid
from pathlib import Path

ROOT = Path(os.environ.get("FROMSCRATCH_CGROUP_ROOT", "/sys/fs/cgroup"))
PARENT = "fromscratch"
CPU_PERIOD_US = 100_000


def _write(path: Path, value) -> None:
    path.write_text(str(value))


def _read_int(path: Path, default=0) -> int:
    try:
        return int(path.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return default


def _events(path: Path) -> dict:
    try:
        return {k: int(v) for k, v in (line.split() for line in path.read_text().splitlines() if line.strip())}
    except (OSError, ValueError):
        return {}


def version() -> int | None:
    if (ROOT / "cgroup.controllers").exists():
        controllers = (ROOT / "cgroup.controllers").read_text().split()
        return 2 if {"pids", "memory"} <= set(controllers) else None
    if (ROOT / "pids").is_dir() and (ROOT / "memory").is_dir():
        return 1
    return None


_available = None


def available() -> bool:
    global _available
    if _available is None:
        _available = False
        try:
            group = JobCgroup.create(pids_max=8, memory_bytes=64 << 20)
            group.remove()
            _available = True
        except OSError:
            pass
    return _available


class JobCgroup:
    def __init__(self, v: int, dirs: dict):
        self.v, self.dirs = v, dirs
        # What the group held when its job arrived (a spare's group is made at spawn and holds
        # the ready interpreter): the job's memory limit and peak are counted above it.
        self.baseline = 0

    @classmethod
    def create(cls, *, pids_max: int, memory_bytes: int, cpus: float | None = None) -> "JobCgroup":
        """`cpus` caps the job's CPU bandwidth (cores' worth, e.g. 1.0): without it, a job that
        starts 128 busy processes takes every core and times out other learners' jobs."""
        v = version()
        if v is None:
            raise OSError("no usable cgroup hierarchy with pids and memory controllers")
        name = uuid.uuid4().hex[:12]
        if v == 2:
            parent = ROOT / PARENT
            parent.mkdir(exist_ok=True)
            # Controllers must be enabled on every ancestor for a child to use them.
            for ancestor in (ROOT, parent):
                enabled = (ancestor / "cgroup.subtree_control").read_text().split()
                missing = [c for c in ("pids", "memory", "cpu") if c not in enabled]
                if missing:
                    try:
                        _write(ancestor / "cgroup.subtree_control", " ".join(f"+{c}" for c in missing))
                    except OSError:
                        _write(ancestor / "cgroup.subtree_control", "+pids +memory")
            d = parent / name
            d.mkdir()
            group = cls(2, {"all": d})
            if (d / "memory.swap.max").exists():
                _write(d / "memory.swap.max", 0)
        else:
            dirs = {}
            # The cpu controller always: a spare's group is made before its job's cap is known.
            controllers = ["pids", "memory"] + (["cpu"] if (ROOT / "cpu" / "cpu.cfs_quota_us").exists() else [])
            for controller in controllers:
                parent = ROOT / controller / PARENT
                parent.mkdir(exist_ok=True)
                d = parent / name
                d.mkdir()
                dirs[controller] = d
            if "cpu" in dirs:
                _write(dirs["cpu"] / "cpu.cfs_period_us", CPU_PERIOD_US)
            group = cls(1, dirs)
        try:
            group.limit(pids_max=pids_max, memory_bytes=memory_bytes, cpus=cpus)
        except OSError:
            group.remove()
            raise
        return group

    def limit(self, *, pids_max: int, memory_bytes: int, cpus: float | None = None) -> None:
        """Set (or change) the limits: a few small writes, far cheaper than moving processes in."""
        if self.v == 2:
            d = self.dirs["all"]
            _write(d / "pids.max", pids_max)
            _write(d / "memory.max", memory_bytes)
            if (d / "cpu.max").exists():
                _write(
                    d / "cpu.max", f"{int(cpus * CPU_PERIOD_US)} {CPU_PERIOD_US}" if cpus else f"max {CPU_PERIOD_US}"
                )
            return
        if "cpu" in self.dirs:
            _write(self.dirs["cpu"] / "cpu.cfs_quota_us", int(cpus * CPU_PERIOD_US) if cpus else -1)
        _write(self.dirs["pids"] / "pids.max", pids_max)
        mem = self.dirs["memory"]
        # v1 insists memsw >= limit at every moment: raise memsw first, lower it last.
        swap = mem / "memory.memsw.limit_in_bytes"
        order = ["memory.limit_in_bytes", "memory.memsw.limit_in_bytes"]
        if swap.exists() and memory_bytes > _read_int(mem / "memory.limit_in_bytes"):
            order.reverse()
        for file in order:
            try:
                _write(mem / file, memory_bytes)
            except OSError:
                if file == "memory.limit_in_bytes":
                    raise
                # memsw is absent without swap accounting; the memory limit alone still holds

    def memory_usage(self) -> int:
        """Bytes charged to the group now (the ready interpreter, before a job)."""
        d = self.dirs.get("all")
        if d is not None:
            return _read_int(d / "memory.current")
        return _read_int(self.dirs["memory"] / "memory.usage_in_bytes")

    def join_command(self) -> str:
        """Shell lines that move the shell running them (and so everything it execs and forks)
        into this group: run by the launch wrapper before it drops to the sandbox uid."""
        return "".join(f'echo $$ > "{d / "cgroup.procs"}"\n' for d in self.dirs.values())

    def add(self, pids) -> None:
        for d in self.dirs.values():
            for pid in pids:
                try:
                    _write(d / "cgroup.procs", pid)
                except ProcessLookupError:
                    pass

    def procs(self) -> list[int]:
        d = self.dirs.get("all") or self.dirs["pids"]
        try:
            return [int(p) for p in (d / "cgroup.procs").read_text().split()]
        except OSError:
            return []

    def stats(self) -> dict:
        if self.v == 2:
            d = self.dirs["all"]
            events = _events(d / "memory.events")
            return {
                "peak_memory_bytes": max(0, _read_int(d / "memory.peak") - self.baseline),
                "oom_kills": events.get("oom_kill", 0),
                "pids_peak": _read_int(d / "pids.peak"),
            }
        mem = self.dirs["memory"]
        oom = _events(mem / "memory.oom_control")
        return {
            "peak_memory_bytes": max(0, _read_int(mem / "memory.max_usage_in_bytes") - self.baseline),
            "oom_kills": oom.get("oom_kill", 0)
            or (1 if _read_int(mem / "memory.failcnt") and oom.get("under_oom") else 0),
            "pids_peak": 0,
        }

    def kill_all(self) -> None:
        if self.v == 2 and (self.dirs["all"] / "cgroup.kill").exists():
            _write(self.dirs["all"] / "cgroup.kill", 1)
        for _ in range(50):
            pids = self.procs()
            if not pids:
                return
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            time.sleep(0.01)

    def remove(self) -> None:
        self.kill_all()
        for d in self.dirs.values():
            for _ in range(100):
                try:
                    d.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.01)  # exiting tasks linger for a moment


def process_tree(pid: int) -> list[int]:
    """pid and all its descendants (from /proc/<pid>/task/*/children)."""
    seen, stack = [], [pid]
    while stack:
        current = stack.pop()
        seen.append(current)
        try:
            for task in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{task}/children") as fh:
                    stack.extend(int(c) for c in fh.read().split())
        except OSError:
            continue
    return seen
