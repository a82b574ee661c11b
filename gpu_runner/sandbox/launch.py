"""Starting sandboxed harness processes ("spares") with bubblewrap.

Layers, each for a finding measured on these machines (DESIGN.md §8, reference/sandbox.md):
- bwrap runs as an unprivileged uid (as root it could read root-only files, and RLIMIT_NPROC
  would not apply), with every namespace unshared: no network at all (127.0.0.1 services and
  abstract unix sockets included), its own PID namespace, --die-with-parent, --new-session;
- the process gets a minimal environment: --clearenv does not hide bwrap's own environment at
  /proc/1/environ (bubblewrap #725), so bwrap itself is started with next to nothing;
- the filesystem holds only /usr (read-only), the virtual environment and harness (read-only),
  the course datasets (read-only), and size-capped tmpfs at /work and /tmp;
- a seccomp deny-list (seccomp.py); rlimits set by the harness on itself; pids, memory and CPU
  cgroups (cgroups.py): a root worker starts each spare inside a group of its own (the launch
  shell joins it before dropping to the sandbox uid), and hand-over only writes the job's limits.

When the worker runs as root and a path the sandbox needs sits under a directory the sandbox
uid cannot traverse (a checkout under /root, a 0700 temp dir), the launch goes through a
private mount namespace that bind-mounts those paths onto /run/fromscratch/stage/* first.
"""

import json
import os
import selectors
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from gpu_runner import datasets
from gpu_runner.sandbox import cgroups, seccomp
from gpu_runner.sandbox import gpu as gpu_sandbox

HARNESS_DIR = Path(__file__).resolve().parent.parent / "harness"
STAGE_DIR = Path("/run/fromscratch/stage")
MINIMAL_ENV = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8"}
# A spare's group before its job arrives: the harness's own start-up is trusted code, so these
# only bound a runaway; the job's limits replace them at hand-over.
SPARE_LIMITS = {"pids_max": 1024, "memory_bytes": 64 << 30, "cpus": None}


@dataclass
class SandboxConfig:
    """How to build sandboxes on this worker. Built from settings by `from_settings()`."""

    unsafe: bool = False  # GRADER_UNSAFE_LOCAL: no bwrap (one learner's own machine only)
    python: Path = field(default_factory=lambda: Path(sys.executable))
    venv: Path = field(default_factory=lambda: Path(sys.prefix))
    base_prefix: Path = field(default_factory=lambda: Path(sys.base_prefix))
    data_dir: Path | None = None  # the dataset cache; each spare gets its own /data folder under it
    uid: int = 61001
    gid: int = 61001
    work_mb: int = 256
    tmp_mb: int = 64
    shm_mb: int = 64  # /dev/shm: torch's DataLoader workers share tensors through it
    gpu_nodes: tuple = ()  # e.g. ("/dev/nvidia0", "/dev/nvidiactl", "/dev/nvidia-uvm")
    gpu_uuid: str = ""
    # Folders holding the driver's libcuda.so.1 where the loader finds it only through the
    # worker's LD_LIBRARY_PATH or /etc/ld.so.cache (e.g. /usr/local/nvidia/lib64): the sandbox has
    # neither, so GPU sandboxes get them bound read-only and named in their LD_LIBRARY_PATH.
    gpu_lib_dirs: tuple = ()


def running_as_root() -> bool:
    return os.geteuid() == 0


def traversable_by(path: Path, uid: int, gid: int) -> bool:
    """Can `uid` reach and read `path` (each ancestor searchable, the target readable)?"""
    path = Path(path).resolve()
    for part in [*reversed(path.parents), path]:
        try:
            st = part.stat()
        except OSError:
            return False
        need_x = stat.S_ISDIR(st.st_mode)
        if st.st_uid == uid:
            bits = (stat.S_IXUSR if need_x else 0) | (stat.S_IRUSR if part == path else 0)
        elif st.st_gid == gid:
            bits = (stat.S_IXGRP if need_x else 0) | (stat.S_IRGRP if part == path else 0)
        else:
            bits = (stat.S_IXOTH if need_x else 0) | (stat.S_IROTH if part == path else 0)
        if st.st_mode & bits != bits:
            return False
    return True


class Spare:
    """One started harness process: waits for "ready", then takes exactly one job."""

    def __init__(self, popen, events_fd, out_fd, err_fd, *, key, workdir=None, data_dir=None, cgroup=None):
        self.popen, self.events_fd, self.out_fd, self.err_fd = popen, events_fd, out_fd, err_fd
        self.cgroup = cgroup  # the group its whole tree was started in, or None
        self.key, self.workdir = key, workdir
        self.data_dir = data_dir  # this spare's own /data: its job's datasets are linked in at hand-over
        self.ready = False
        self._buffer = b""
        self.started_at = time.monotonic()
        self.ready_event = None

    def alive(self) -> bool:
        return self.popen.poll() is None

    def _read_events(self, timeout: float) -> list[dict]:
        """Events that arrive within `timeout` seconds (empty list on timeout or EOF)."""
        sel = selectors.DefaultSelector()
        sel.register(self.events_fd, selectors.EVENT_READ)
        try:
            if not sel.select(timeout):
                return []
        finally:
            sel.close()
        chunk = os.read(self.events_fd, 1 << 16)
        if not chunk:
            raise EOFError
        self._buffer += chunk
        *lines, self._buffer = self._buffer.split(b"\n")
        return [json.loads(line) for line in lines if line.strip()]

    def wait_ready(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while not self.ready:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            try:
                for event in self._read_events(remaining):
                    if event.get("t") == "ready":
                        self.ready, self.ready_event = True, event
            except (EOFError, ValueError):
                return False
        return True

    def kill(self) -> None:
        if self.popen.poll() is None:
            try:
                os.killpg(self.popen.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                self.popen.kill()
        try:
            self.popen.wait(5)
        except subprocess.TimeoutExpired:
            pass
        self.close()

    def close(self) -> None:
        for fd in (self.events_fd, self.out_fd, self.err_fd):
            try:
                os.close(fd)
            except OSError:
                pass
        self.events_fd = self.out_fd = self.err_fd = -1
        if self.popen.stdin and not self.popen.stdin.closed:
            try:
                self.popen.stdin.close()
            except OSError:
                pass
        for folder in (self.workdir, self.data_dir):
            if folder:
                shutil.rmtree(folder, ignore_errors=True)
        if self.cgroup is not None:
            group, self.cgroup = self.cgroup, None
            group.remove()


class Launcher:
    def __init__(self, config: SandboxConfig):
        self.config = config
        self._stage = None

    # --- paths ------------------------------------------------------------------------------
    def _mounts(self, data_dir=None) -> list[tuple[str, str]]:
        """(host path, sandbox path) pairs, read-only. `data_dir` is the spare's own /data
        folder (never the whole dataset cache: a job sees only its own datasets)."""
        c = self.config
        pairs = [(str(c.venv), "/venv"), (str(HARNESS_DIR), "/harness")]
        base = str(Path(c.base_prefix).resolve())
        if not base.startswith("/usr"):
            pairs.append((base, base))  # the venv's python symlink points into it
        if data_dir and Path(data_dir).is_dir():
            pairs.append((str(data_dir), "/data"))
        return pairs

    def _needs_stage(self, data_dir=None) -> list[tuple[str, str]]:
        if not running_as_root():
            return []
        return [
            (src, dst)
            for src, dst in self._mounts(data_dir)
            if not traversable_by(Path(src), self.config.uid, self.config.gid)
        ]

    # --- commands ---------------------------------------------------------------------------
    def bwrap_args(
        self, *, events_fd: int, seccomp_fd: int, preload: tuple, gpu: bool, work_mb: int, sources: dict, data_dir=None
    ) -> list[str]:
        c = self.config
        args = [
            "bwrap",
            "--unshare-all",
            "--die-with-parent",
            "--new-session",
            "--cap-drop",
            "ALL",
            "--ro-bind",
            "/usr",
            "/usr",
        ]
        for name in ("lib", "lib64", "bin", "sbin"):
            target = Path("/") / name
            if target.is_symlink():
                args += ["--symlink", os.readlink(target), f"/{name}"]
            elif target.is_dir():
                args += ["--ro-bind", str(target), f"/{name}"]
        for src, dst in self._mounts(data_dir):
            args += ["--ro-bind", sources.get(src, src), dst]
        args += [
            "--proc",
            "/proc",
            "--dev",
            "/dev",
            # bwrap's /dev is a tmpfs of half the host's RAM, writable by the sandbox's uid: size
            # /dev/shm explicitly and make the rest of /dev read-only (after the GPU nodes below).
            "--size",
            str(c.shm_mb << 20),
            "--tmpfs",
            "/dev/shm",
            "--size",
            str(work_mb << 20),
            "--tmpfs",
            "/work",
            "--size",
            str(c.tmp_mb << 20),
            "--tmpfs",
            "/tmp",
            "--chdir",
            "/work",
            "--clearenv",
            "--setenv",
            "PATH",
            "/venv/bin:/usr/bin:/bin",
            "--setenv",
            "HOME",
            "/work",
            "--setenv",
            "LANG",
            "C.UTF-8",
            "--setenv",
            "PYTHONHASHSEED",
            "0",
            "--setenv",
            "OMP_NUM_THREADS",
            "1",
            "--setenv",
            "MKL_NUM_THREADS",
            "1",
            "--setenv",
            "MPLBACKEND",
            "Agg",
            "--setenv",
            "TMPDIR",
            "/tmp",
        ]
        args += gpu_sandbox.bwrap_args(c, gpu)
        args += [
            "--remount-ro",
            "/dev",
            "--seccomp",
            str(seccomp_fd),
            "/venv/bin/python",
            "-I",
            "-B",
            "/harness/runner.py",
            "--events-fd",
            str(events_fd),
            "--work",
            "/work",
            "--data",
            "/data",
            "--preload",
            ",".join(preload),
        ]
        return args

    def spawn(self, *, preload: tuple = (), gpu: bool = False, work_mb: int | None = None) -> Spare:
        work_mb = work_mb or self.config.work_mb
        key = (tuple(preload), gpu, work_mb)
        events_r, events_w = os.pipe()
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        workdir = group = None
        data_dir = datasets.spare_dir(self.config.data_dir) if self.config.data_dir else None
        try:
            if self.config.unsafe:
                workdir = tempfile.mkdtemp(prefix="fromscratch-unsafe-")
                cmd = [
                    str(self.config.python),
                    "-I",
                    "-B",
                    str(HARNESS_DIR / "runner.py"),
                    "--events-fd",
                    str(events_w),
                    "--work",
                    workdir,
                    "--data",
                    str(data_dir or workdir),
                    "--preload",
                    ",".join(preload),
                ]
                popen = subprocess.Popen(
                    cmd,
                    stdin=subprocess.PIPE,
                    stdout=out_w,
                    stderr=err_w,
                    pass_fds=(events_w,),
                    env={
                        **MINIMAL_ENV,
                        "HOME": workdir,
                        "OMP_NUM_THREADS": "1",
                        **gpu_sandbox.unsafe_env(self.config, gpu),
                    },
                    cwd=workdir,
                    start_new_session=True,
                )
            else:
                if running_as_root() and cgroups.available():
                    group = cgroups.JobCgroup.create(**SPARE_LIMITS)
                popen = self._spawn_bwrap(events_w, out_w, err_w, preload, gpu, work_mb, data_dir, group)
        except BaseException:
            if data_dir:
                shutil.rmtree(data_dir, ignore_errors=True)
            if group is not None:
                group.remove()
            raise
        finally:
            for fd in (events_w, out_w, err_w):
                os.close(fd)
        for fd in (events_r, out_r, err_r):
            os.set_blocking(fd, False)
        return Spare(popen, events_r, out_r, err_r, key=key, workdir=workdir, data_dir=data_dir, cgroup=group)

    def _spawn_bwrap(self, events_w, out_w, err_w, preload, gpu, work_mb, data_dir=None, group=None):
        c = self.config
        seccomp_fd = seccomp.memfd(events_fd=events_w)
        try:
            staged = self._needs_stage(data_dir)
            sources = {}
            for index, (src, _dst) in enumerate(staged):
                point = STAGE_DIR / str(index)
                point.mkdir(parents=True, exist_ok=True)
                sources[src] = str(point)
            bwrap = self.bwrap_args(
                events_fd=events_w,
                seccomp_fd=seccomp_fd,
                preload=preload,
                gpu=gpu,
                work_mb=work_mb,
                sources=sources,
                data_dir=data_dir,
            )
            common = dict(
                stdin=subprocess.PIPE,
                stdout=out_w,
                stderr=err_w,
                pass_fds=(events_w, seccomp_fd),
                env=dict(MINIMAL_ENV),
                start_new_session=True,
                cwd="/",
            )
            join = group.join_command() if group is not None else ""
            drop = f'exec setpriv --reuid {c.uid} --regid {c.gid} --clear-groups -- "$@"\n'
            if staged:
                # Private mount namespace: bind the unreachable paths where the uid can read them,
                # then drop to the sandbox uid and exec bwrap (same pid throughout).
                script = (
                    "set -e\n"
                    + join
                    + "".join(
                        f'mount --bind "{src}" "{sources[src]}"\nmount -o remount,bind,ro "{sources[src]}"\n'
                        for src, _ in staged
                    )
                    + drop
                )
                cmd = ["unshare", "--mount", "--propagation", "private", "--", "/bin/sh", "-c", script, "sh", *bwrap]
                return subprocess.Popen(cmd, **common)
            if join:
                # Join the group as root, then drop to the sandbox uid and exec bwrap: every
                # process of the sandbox is born inside the group (same pid throughout).
                return subprocess.Popen(["/bin/sh", "-c", "set -e\n" + join + drop, "sh", *bwrap], **common)
            if running_as_root():
                return subprocess.Popen(bwrap, user=c.uid, group=c.gid, extra_groups=[], **common)
            return subprocess.Popen(bwrap, **common)
        finally:
            os.close(seccomp_fd)
