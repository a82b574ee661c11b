"""Hostile submissions against the per-job bounds (issue #10, item 5) and the events channel's
guard, through the real sandbox: CPU bandwidth, /dev, floods of the grader's channel, and
attempts to swap the channel. Each is contained and the next job is served."""

import pytest

from gpu_runner import verdicts
from gpu_runner.sandbox import cgroups
from gpu_runner.sandbox.launch import running_as_root
from gpu_runner.tests.test_hostile import attack, observed, pool  # noqa: F401 - the fixture

pytestmark = pytest.mark.sandbox


@pytest.mark.skipif(not cgroups.available(), reason="needs a writable cgroup tree (root)")
def test_many_busy_processes_get_one_core_between_them(pool):  # noqa: F811
    code = """
import os, time
def burn(seconds):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        pass
def run():
    started = time.monotonic()
    pids = []
    for _ in range(8):
        pid = os.fork()
        if pid == 0:
            burn(1.5)
            os._exit(0)
        pids.append(pid)
    for pid in pids:
        os.waitpid(pid, 0)
    wall = time.monotonic() - started
    t = os.times()
    return [t.children_user + t.children_system, wall]
"""
    result = attack(pool, code, wall=30)
    assert result.verdict == "ok", result.detail
    cpu, wall = observed(result)
    # Eight processes that each want 1.5 s of CPU: capped at one core they need ~12 s of wall
    # time; uncapped on this 2-core machine they would take half that.
    assert cpu / wall < 1.3, (cpu, wall)


def test_dev_is_read_only_and_dev_shm_is_sized(pool):  # noqa: F811
    code = """
import os
def run():
    out = {}
    try:
        open("/dev/fill", "wb").write(b"x")
        out["dev"] = "written"
    except OSError as exc:
        out["dev"] = type(exc).__name__
    written = 0
    try:
        with open("/dev/shm/fill", "wb") as fh:
            block = b"\\0" * (1 << 20)
            for _ in range(512):
                fh.write(block)
                written += 1
    except OSError as exc:
        out["shm_error"] = type(exc).__name__
    out["shm_mb"] = written
    with open("/dev/null", "w") as fh:  # device nodes still work
        fh.write("fine")
    return out
"""
    result = attack(pool, code, memory_mb=512)
    assert result.verdict == "ok", result.detail
    out = observed(result)
    assert out["dev"] == "OSError" and out["shm_error"] == "OSError"
    assert out["shm_mb"] <= 64


def test_a_flood_on_the_grader_channel_is_stopped(pool):  # noqa: F811
    code = """
import os
def run():
    line = b'{"t": "progress", "test": "test_attack", "fraction": 0.5, "label": "' + b"x" * (4 << 20) + b'"}\\n'
    fds = [int(n) for n in os.listdir("/proc/self/fd") if int(n) > 2]
    for _ in range(200):
        for fd in fds:
            try:
                os.write(fd, line)
            except OSError:
                pass
    return "done"
"""
    result = attack(pool, code, wall=60)
    assert result.verdict == "output_limit", (result.verdict, result.detail)
    assert "grader" in result.detail
    assert result.channel["forged"] > 0  # none of it was taken for the harness's own lines
    assert not any(e.get("t") == "progress" for e in result.events)


def test_the_channel_cannot_be_closed_or_replaced(pool):  # noqa: F811
    code = """
import os
def run():
    out = {}
    sink = os.open("/dev/null", os.O_WRONLY)
    for fd in sorted(int(n) for n in os.listdir("/proc/self/fd")):
        if fd <= 2 or fd == sink:
            continue
        try:
            os.dup2(sink, fd)
            out[fd] = "replaced"
        except OSError as exc:
            out[fd] = exc.errno
        try:
            os.close(fd)
        except OSError:
            pass
    import subprocess
    out["subprocess"] = subprocess.run(["/bin/echo", "hi"], capture_output=True, text=True).stdout
    return out
"""
    result = attack(pool, code)
    # The harness still reported its result on its own channel, so the run ended normally.
    assert result.verdict == "ok", result.detail
    out = observed(result)
    assert out["subprocess"] == "hi\n"
    refused = [fd for fd, v in out.items() if v == 1]  # EPERM: the events fd
    assert refused, out


def test_forged_lines_are_dropped_and_flag_every_test(pool):  # noqa: F811
    code = """
import os, json
def run():
    for fd in [int(n) for n in os.listdir("/proc/self/fd")]:
        try:
            if fd > 2:
                os.write(fd, (json.dumps({"t": "obs", "test": "test_attack", "key": "result", "value": 42, "spec": {}}) + "\\n").encode())
        except OSError:
            pass
    return 41
"""
    result = attack(pool, code)
    assert result.channel["forged"] > 0
    reference = [
        {"t": "start", "test": "test_attack"},
        {"t": "obs", "test": "test_attack", "key": "result", "value": 41, "spec": {"kind": "close"}},
        {"t": "test", "test": "test_attack", "outcome": "ok"},
        {"t": "done"},
    ]
    graded = verdicts.grade(
        tests=[{"id": "test_attack", "visibility": "hidden"}],
        learner_events=result.events,
        reference_events=reference,
        process={"verdict": result.verdict, "detail": result.detail, "channel": result.channel},
    )
    # The learner's value was right (41), but the run wrote lines the harness did not write.
    assert graded["tests"][0]["status"] == "failed" and graded["integrity"]["flagged"]


@pytest.mark.skipif(not (cgroups.available() and running_as_root()), reason="needs a root worker and a cgroup tree")
def test_every_process_of_a_spare_is_born_inside_its_group(pool):  # noqa: F811
    # Nothing is moved in at hand-over any more, so the group must hold the whole tree from
    # the start; and a discarded spare takes its group with it.
    spare = pool.take()
    try:
        group = spare.cgroup
        assert group is not None
        assert set(cgroups.process_tree(spare.popen.pid)) <= set(group.procs())
        dirs = list(group.dirs.values())
    finally:
        spare.kill()
        pool.refill()
    assert not any(d.exists() for d in dirs)


@pytest.mark.skipif(not cgroups.available(), reason="needs a writable cgroup tree (root)")
def test_the_memory_limit_and_peak_count_what_the_job_allocates(pool):  # noqa: F811
    # 160 MiB under a 256 MiB limit passes and is reported as roughly 160 MiB: the ready
    # interpreter the spare already held is neither charged against the limit nor reported.
    code = """
def run():
    block = bytearray(160 << 20)
    for i in range(0, len(block), 4096):
        block[i] = 1
    return len(block)
"""
    result = attack(pool, code, memory_mb=256)
    assert result.verdict == "ok", result.detail
    assert 150 << 20 <= result.peak_memory_bytes <= 230 << 20, result.peak_memory_bytes


def test_a_replacement_spare_starts_only_after_the_job_is_reported(pool):  # noqa: F811
    key = pool.key((), False, pool.launcher.config.work_mb)
    with pool.refills_after():
        spare = pool.take()
        pool.refill()
        assert not pool.spares.get(key)  # not while the learner waits for the result
        spare.kill()
    assert len(pool.spares[key]) == pool.depth and all(s.alive() for s in pool.spares[key])
