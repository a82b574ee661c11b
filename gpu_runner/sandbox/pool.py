"""A warm pool: sandboxed harness processes started ahead of time, `depth` per kind of job.

A spare has already paid for the interpreter, the sandbox set-up and `import torch` (about 2 s
on these machines) and waits on its stdin for one job; it is used once and thrown away, and a
replacement starts right after (reference/warm-floor.md: 33-45 ms submit-to-result for the runner
part with a ready spare, against 0.2 s / 2.4 s cold).
"""

import contextlib
import logging

from gpu_runner import datasets
from gpu_runner.sandbox.launch import Launcher, Spare

log = logging.getLogger(__name__)


class SandboxUnavailable(RuntimeError):
    """The sandbox could not start: an infrastructure fault, not the learner's."""


class WarmPool:
    def __init__(self, launcher: Launcher, *, enabled: bool = True, ready_timeout: float = 90.0, depth: int = 1):
        self.launcher = launcher
        self.enabled = enabled
        self.ready_timeout = ready_timeout
        # Spares kept ready per kind. Two, so that a job arriving while the replacement for the
        # last one still imports torch (~1.5 s) takes the other one instead of waiting.
        self.depth = max(1, depth)
        self.spares: dict[tuple, list[Spare]] = {}
        self._deferred: list[dict] | None = None

    @staticmethod
    def key(preload, gpu, work_mb) -> tuple:
        return (tuple(preload), bool(gpu), int(work_mb))

    def take(self, *, preload=(), gpu=False, work_mb=None, data=None) -> Spare:
        """A ready spare; `data` ({declared name: cached file}) is linked into its /data."""
        work_mb = work_mb or self.launcher.config.work_mb
        spare = self._pop(self.key(preload, gpu, work_mb))
        if spare is None:
            spare = self.launcher.spawn(preload=tuple(preload), gpu=gpu, work_mb=work_mb)
        if not spare.wait_ready(self.ready_timeout):
            detail = _drain(spare.err_fd)
            spare.kill()
            raise SandboxUnavailable(
                f"sandbox did not start: {detail.strip() or f'no ready signal within {self.ready_timeout}s'}"
            )
        try:
            datasets.bind(spare.data_dir, data)
        except BaseException:
            spare.kill()
            raise
        return spare

    @contextlib.contextmanager
    def refills_after(self):
        """Hold refills until the block ends: starting a replacement spare forks the worker and
        costs a few milliseconds that the learner would otherwise wait for their result."""
        outer = self._deferred is None
        if outer:
            self._deferred = []
        try:
            yield
        finally:
            if outer:
                wanted, self._deferred = self._deferred, None
                for kwargs in wanted:
                    self.refill(**kwargs)

    def refill(self, *, preload=(), gpu=False, work_mb=None) -> None:
        if not self.enabled:
            return
        if self._deferred is not None:
            self._deferred.append({"preload": preload, "gpu": gpu, "work_mb": work_mb})
            return
        work_mb = work_mb or self.launcher.config.work_mb
        key = self.key(preload, gpu, work_mb)
        kept = self.spares.setdefault(key, [])
        for dead in [s for s in kept if not s.alive()]:
            dead.kill()
            kept.remove(dead)
        while len(kept) < self.depth:
            try:
                kept.append(self.launcher.spawn(preload=tuple(preload), gpu=gpu, work_mb=work_mb))
            except OSError as exc:  # a failed refill only costs the next job a cold start
                log.warning("could not start a warm spare: %s", exc)
                return

    def _pop(self, key) -> Spare | None:
        """The oldest live spare of this kind, ready ones first (the oldest has had longest to
        import torch); dead ones are dropped."""
        kept = self.spares.get(key) or []
        for dead in [s for s in kept if not s.alive()]:
            dead.kill()
            kept.remove(dead)
        if not kept:
            return None
        spare = next((s for s in kept if s.wait_ready(0)), kept[0])
        kept.remove(spare)
        return spare

    def ready(self) -> dict:
        """How many spares of each kind are ready now (non-blocking), for health and benchmarks."""
        return {key: sum(s.wait_ready(0) for s in kept) for key, kept in self.spares.items()}

    def close(self) -> None:
        for kept in self.spares.values():
            for spare in kept:
                spare.kill()
        self.spares.clear()


def _drain(fd: int) -> str:
    import os

    try:
        return os.read(fd, 4096).decode("utf-8", "replace")
    except (BlockingIOError, OSError):
        return ""
