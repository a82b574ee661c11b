"""Hand one job to a ready spare and watch it: events as they come, output caps, the wall clock,
and an honest account of how the process ended."""

import json
import os
import secrets
import selectors
import signal
import threading
import time
from dataclasses import dataclass, field

from gpu_runner import wire
from gpu_runner.sandbox import cgroups
from gpu_runner.sandbox.launch import Spare

OUTPUT_CAP = 1 << 20  # per stream (stdout, stderr), as PrairieLearn and DESIGN.md §7


@dataclass
class RunResult:
    events: list = field(default_factory=list)
    verdict: str = "ok"  # ok | timeout | cpu_time | memory | signal | exit | output_limit | harness_error
    detail: str = ""
    exit_code: int | None = None
    signal: int | None = None
    stdout: str = ""
    stderr: str = ""
    stdout_truncated: bool = False
    stderr_truncated: bool = False
    wall_seconds: float = 0.0
    cpu_seconds: float | None = None
    peak_memory_bytes: int | None = None
    # Lines on the events fd the harness did not write: without the job's token (forged) or not
    # a well-formed event (malformed). The harness writes neither; they are tamper evidence.
    done_seen: bool = False
    started: float = field(default_factory=time.monotonic)
    channel: dict = field(default_factory=lambda: {"forged": 0, "malformed": 0, "events": 0, "bytes": 0})

    @property
    def finished(self) -> bool:
        return any(e.get("t") == "done" for e in self.events)


def _signal_name(num: int) -> str:
    try:
        return signal.Signals(num).name
    except ValueError:
        return f"signal {num}"


def run_job(
    spare: Spare,
    job: dict,
    *,
    wall_seconds: float,
    memory_bytes: int,
    pids_max: int = 256,
    on_event=None,
    use_cgroup: bool = True,
    cpus: float | None = 1.0,
) -> RunResult:
    result = RunResult()
    group = None
    # A fresh token per run: the harness signs every line with it; it reaches the sandbox only
    # on the spare's stdin, after which the pipe is closed.
    token = secrets.token_hex(16)
    job = {**job, "token": token}
    if use_cgroup and spare.cgroup is not None:
        # The spare was started inside its own group: hand-over only sets this job's limits, on
        # top of what the ready interpreter holds (moving a process tree in costs ~3 ms per
        # controller on cgroup v1; these writes cost a few hundred microseconds).
        group = spare.cgroup
        group.baseline = group.memory_usage()
        group.limit(pids_max=pids_max, memory_bytes=group.baseline + memory_bytes, cpus=cpus)
    elif use_cgroup and cgroups.available():
        group = cgroups.JobCgroup.create(pids_max=pids_max, memory_bytes=memory_bytes, cpus=cpus)
        # Everything in the spare's tree joins before any learner code runs (nothing forks
        # between "ready" and reading the job), so no child can start outside the limits.
        group.add(cgroups.process_tree(spare.popen.pid))
    started = time.monotonic()
    deadline = started + wall_seconds
    killed_for = None
    out_parts, err_parts, sizes = [], [], {"out": 0, "err": 0}
    buffer = b""
    try:
        try:
            spare.popen.stdin.write((json.dumps(job) + "\n").encode())
            spare.popen.stdin.close()
        except (BrokenPipeError, OSError):
            killed_for = "harness_error"
        sel = selectors.DefaultSelector()
        streams = {spare.events_fd: "events", spare.out_fd: "out", spare.err_fd: "err"}
        for fd in streams:
            sel.register(fd, selectors.EVENT_READ)
        open_streams = set(streams)
        while open_streams and killed_for is None:
            if result.done_seen:
                # The harness reported everything: the verdict needs nothing more from the
                # process, so don't wait for a 200 MB interpreter to exit (it is killed below).
                _drain(spare.out_fd, out_parts, sizes, "out")
                _drain(spare.err_fd, err_parts, sizes, "err")
                break
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                killed_for = "timeout"
                break
            for key, _ in sel.select(min(remaining, 0.5)):
                fd = key.fd
                try:
                    chunk = os.read(fd, 1 << 16)
                except BlockingIOError:
                    continue
                if not chunk:
                    sel.unregister(fd)
                    open_streams.discard(fd)
                    continue
                kind = streams[fd]
                if kind == "events":
                    buffer += chunk
                    *lines, buffer = buffer.split(b"\n")
                    stop = _read_events(lines, token, result, on_event)
                    if stop and killed_for is None:
                        killed_for, detail = stop
                        result.detail = detail or result.detail
                    if len(buffer) > wire.MAX_LINE_BYTES and killed_for is None:
                        killed_for = "output_limit"
                        result.detail = "Your program wrote an oversized line to the grader's channel and was stopped."
                else:
                    parts = out_parts if kind == "out" else err_parts
                    room = OUTPUT_CAP - sizes[kind]
                    parts.append(chunk[: max(room, 0)])
                    sizes[kind] += len(chunk)
                    if sizes[kind] > OUTPUT_CAP:
                        setattr(result, "stdout_truncated" if kind == "out" else "stderr_truncated", True)
                        killed_for = "output_limit"
                        stream = "standard output" if kind == "out" else "standard error"
                        result.detail = f"Your program wrote more than {OUTPUT_CAP >> 20} MiB to {stream}, so it was stopped and the output truncated."
                        break
        sel.close()
        if killed_for is not None:
            spare.kill()
        elif result.done_seen:
            pass
        else:
            try:
                spare.popen.wait(max(0.1, deadline - time.monotonic()))
            except Exception:  # TimeoutExpired: the harness closed its fds but lingers
                killed_for = "timeout"
                spare.kill()
    finally:
        result.wall_seconds = round(time.monotonic() - started, 4)
        if group is not None:
            stats = group.stats()
            result.peak_memory_bytes = stats["peak_memory_bytes"] or None
            oom = stats["oom_kills"] > 0
        else:
            oom = False
        if killed_for is None and result.done_seen:
            # Kill now, reap and remove the cgroup off the critical path.
            try:
                os.killpg(spare.popen.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            threading.Thread(target=_cleanup, args=(spare, group), daemon=True).start()
        else:
            if group is not None:
                group.remove()
            spare.kill()
    result.stdout = b"".join(out_parts).decode("utf-8", "replace")
    result.stderr = b"".join(err_parts).decode("utf-8", "replace")
    rc = spare.popen.returncode
    result.exit_code = rc
    done = next((e for e in result.events if e.get("t") == "done"), None)
    if done:
        result.cpu_seconds = done.get("cpu_seconds")
        if result.peak_memory_bytes is None and done.get("max_rss_kb"):
            result.peak_memory_bytes = int(done["max_rss_kb"]) * 1024
    harness_error = next((e for e in result.events if e.get("t") == "harness_error"), None)
    _classify(result, killed_for, oom, rc, done, harness_error, wall_seconds, memory_bytes)
    return result


def _read_events(lines, token, result, on_event):
    """Decode, authenticate and dispatch complete lines; (verdict, detail) asks to stop the run."""
    ch = result.channel
    for line in lines:
        if not line.strip():
            continue
        ch["bytes"] += len(line)
        event = wire.decode_line(line)
        if event is None:
            ch["malformed"] += 1
            continue
        if event.pop("k", None) != token:
            ch["forged"] += 1
            continue
        ch["events"] += 1
        # The parent's own clock: a test's wall time is measured here, where learner code cannot
        # reach (it can catch the harness's timeout exception inside the sandbox).
        event["_at"] = round(time.monotonic() - result.started, 4)
        if ch["events"] > wire.MAX_EVENTS or ch["bytes"] > wire.MAX_EVENT_BYTES:
            return (
                "output_limit",
                f"Your program sent the grader more than {wire.MAX_EVENTS:,} events or "
                f"{wire.MAX_EVENT_BYTES >> 20} MiB, so it was stopped.",
            )
        result.events.append(event)
        if event.get("t") == "done":
            result.done_seen = True
        if on_event is not None and on_event(event):
            return ("stopped_early", "")
    if ch["forged"] + ch["malformed"] > 1000:
        return ("output_limit", "Your program flooded the grader's channel and was stopped.")
    return None


def _drain(fd, parts, sizes, kind):
    while sizes[kind] <= OUTPUT_CAP:
        try:
            chunk = os.read(fd, 1 << 16)
        except (BlockingIOError, OSError):
            return
        if not chunk:
            return
        parts.append(chunk[: max(OUTPUT_CAP - sizes[kind], 0)])
        sizes[kind] += len(chunk)


def _cleanup(spare, group):
    spare.kill()
    if group is not None:
        group.remove()


def _classify(result, killed_for, oom, rc, done, harness_error, wall_seconds, memory_bytes):
    if killed_for == "timeout":
        result.verdict, result.detail = (
            "timeout",
            f"Your program was stopped after {wall_seconds:g} s, the time limit for this exercise.",
        )
    elif killed_for == "stopped_early":
        result.verdict, result.detail = (
            "ok",
            "The remaining tests depend on tests that did not pass, so the run stopped early.",
        )
    elif killed_for == "output_limit":
        result.verdict = "output_limit"
    elif killed_for == "harness_error":
        result.verdict, result.detail = "harness_error", "The grading process was not ready to take the job."
    elif oom:
        result.verdict = "memory"
        result.detail = f"Your program used more than {memory_bytes >> 20} MiB of memory, the limit for this exercise, and was stopped."
    elif done:
        result.verdict = "ok"
    elif harness_error:
        result.verdict, result.detail = "harness_error", harness_error.get("error", "")
    elif rc is not None and (rc == 128 + signal.SIGXCPU or rc == -signal.SIGXCPU):
        result.verdict, result.detail = (
            "cpu_time",
            "Your program used more CPU time than this exercise allows and was stopped.",
        )
    elif rc is not None and (rc > 128 or rc < 0):
        num = rc - 128 if rc > 128 else -rc
        result.signal = num
        result.verdict = "signal"
        result.detail = f"Your program crashed with signal {num} ({_signal_name(num)})."
    else:
        result.verdict = "exit"
        result.detail = f"Your program exited (code {rc}) before the tests finished."
