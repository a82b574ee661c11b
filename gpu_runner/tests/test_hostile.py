"""Hostile submissions against the real sandbox (bubblewrap, seccomp, cgroups, rlimits). Each is
contained, reported as a clear verdict, and the pool keeps serving the next job."""

import os
import pwd
import secrets
import socket
import threading
import time

import pytest

from gpu_runner import verdicts
from gpu_runner.sandbox.diagnose import sandbox_status
from gpu_runner.sandbox.launch import Launcher, SandboxConfig
from gpu_runner.sandbox.pool import WarmPool
from gpu_runner.sandbox.session import run_job

pytestmark = pytest.mark.sandbox
SENTINEL = "fs-sentinel-" + secrets.token_hex(8)
TEST_FILE = "tests/visible/test_attack.py"
TEST_SOURCE = "import attack\n\ndef test_attack(check):\n    check('result', attack.run())\n"


@pytest.fixture(scope="module")
def pool(tmp_path_factory):
    os.environ["FS_WORKER_SECRET"] = SENTINEL  # a secret in the "worker's" environment
    config = SandboxConfig(data_dir=tmp_path_factory.mktemp("data"), uid=62001, gid=62001)
    ok, why = sandbox_status(config)
    if not ok:
        pytest.fail(f"the sandbox cannot run on this machine: {why}")
    pool = WarmPool(Launcher(config), enabled=True)
    yield pool
    pool.close()
    os.environ.pop("FS_WORKER_SECRET", None)


def attack(pool, code, *, wall=10, memory_mb=256, extra_files=None, tests=None, sources=None, pids=64):
    spare = pool.take()
    job = {
        "files": {"attack.py": code, **(extra_files or {})},
        "tests": tests or [{"id": "test_attack", "file": TEST_FILE, "visibility": "visible"}],
        "test_sources": sources or {TEST_FILE: TEST_SOURCE},
        "limits": {"cpu_seconds": wall + 2, "file_bytes": 16 << 20, "open_files": 64, "processes": 256},
    }
    try:
        return run_job(spare, job, wall_seconds=wall, memory_bytes=memory_mb << 20, pids_max=pids)
    finally:
        pool.refill()


def observed(result):
    obs = [e for e in result.events if e.get("t") == "obs"]
    return obs[0]["value"] if obs else None


def everything(result) -> str:
    return result.stdout + result.stderr + repr(result.events)


def test_environment_and_secrets_are_unreachable(pool):
    code = """
import os, glob
def run():
    found = [repr(dict(os.environ))]
    for path in ["/proc/1/environ", "/proc/self/environ", "/proc/2/environ", "/etc/shadow", "/root/.bashrc"] + glob.glob("/proc/*/environ"):
        try:
            found.append(open(path, "rb").read().decode("latin-1"))
        except OSError as exc:
            found.append(f"{path}: {type(exc).__name__}")
    print("\\n".join(found))
    return "\\n".join(found)
"""
    result = attack(pool, code)
    assert result.verdict == "ok"
    assert SENTINEL not in everything(result)
    assert "DJANGO_SECRET_KEY" not in everything(result)
    assert "/etc/shadow: FileNotFoundError" in observed(result)


def test_network_is_unreachable_including_local_services(pool):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    listener.settimeout(0.2)
    port = listener.getsockname()[1]
    code = f"""
import socket
def run():
    out = []
    for port in (6379, 5432, {port}):
        s = socket.socket()
        s.settimeout(1)
        try:
            s.connect(("127.0.0.1", port)); out.append(f"{{port}} CONNECTED")
        except OSError as exc:
            out.append(f"{{port}} {{type(exc).__name__}}")
    try:
        socket.create_connection(("example.org", 80), timeout=1); out.append("internet CONNECTED")
    except OSError as exc:
        out.append(f"internet {{type(exc).__name__}}")
    return out
"""
    result = attack(pool, code)
    values = observed(result)
    assert not any("CONNECTED" in v for v in values), values
    with pytest.raises(socket.timeout):
        listener.accept()
    listener.close()


def test_abstract_unix_socket_does_not_reach_the_host(pool):
    name = "\0fs-hostile-" + secrets.token_hex(4)
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(name)
    server.listen()
    server.settimeout(0.3)
    code = f"""
import socket
def run():
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.connect({name!r}); return "CONNECTED"
    except OSError as exc:
        return type(exc).__name__
"""
    result = attack(pool, code)
    assert observed(result) != "CONNECTED"
    with pytest.raises(socket.timeout):
        server.accept()
    server.close()


def test_fork_bomb_is_held_by_the_pids_limit(pool):
    code = """
import os, time
def run():
    children = 0
    for _ in range(5000):
        try:
            if os.fork() == 0:
                time.sleep(30); os._exit(0)
            children += 1
        except OSError:
            break
    return children
"""
    result = attack(pool, code, wall=8, pids=64)
    assert result.verdict == "ok"
    assert observed(result) < 64


def test_writing_a_huge_file_is_stopped(pool):
    code = """
def run():
    try:
        with open("big.bin", "wb") as fh:
            for _ in range(1024):
                fh.write(b"x" * (1 << 20))
        return "wrote 1 GiB"
    except OSError as exc:
        return type(exc).__name__ + " " + str(exc.errno)
"""
    result = attack(pool, code)
    assert observed(result) in ("OSError 27", "OSError 28"), observed(result)  # EFBIG / ENOSPC


@pytest.mark.parametrize(
    "code", ["def run():\n    while True:\n        pass\n", "import time\ndef run():\n    time.sleep(10**6)\n"]
)
def test_endless_loops_and_sleeps_time_out(pool, code):
    started = time.monotonic()
    result = attack(pool, code, wall=3)
    assert result.verdict in ("timeout", "cpu_time")
    assert "time limit" in result.detail or "CPU time" in result.detail
    assert time.monotonic() - started < 10


def test_allocating_100_gib_is_stopped(pool):
    code = "def run():\n    blocks = []\n    while True:\n        blocks.append(bytearray(64 << 20))\n"
    result = attack(pool, code, memory_mb=256)
    text = everything(result)
    assert result.verdict == "memory" or "MemoryError" in text, (result.verdict, result.detail)
    if result.verdict == "memory":
        assert "256 MiB" in result.detail


def test_segfault_is_reported_with_its_signal(pool):
    result = attack(pool, "import ctypes\ndef run():\n    ctypes.string_at(0)\n")
    assert result.verdict == "signal" and result.signal == 11
    assert "signal 11 (SIGSEGV)" in result.detail


def test_printing_a_gibibyte_is_cut_off_quickly(pool):
    started = time.monotonic()
    result = attack(pool, "import os\ndef run():\n    while True:\n        os.write(1, b'y' * 65536)\n")
    assert result.verdict == "output_limit" and result.stdout_truncated
    assert len(result.stdout) <= 1 << 20
    assert time.monotonic() - started < 5


def test_printing_through_python_is_captured_and_truncated(pool):
    result = attack(
        pool, "def run():\n    for i in range(200000):\n        print('line', i, 'x' * 50)\n    return 'done'\n"
    )
    assert result.verdict == "ok"
    test_event = next(e for e in result.events if e.get("t") == "test")
    assert test_event["output_truncated"] and len(test_event["output"]) <= 64 << 10


def test_double_forked_daemon_does_not_survive(pool):
    marker = "fs-daemon-" + secrets.token_hex(4)
    code = f"""
import os, time, sys
def run():
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            sys.argv[0] = {marker!r}
            open("/tmp/alive", "w").write("x")
            time.sleep(60)
        os._exit(0)
    time.sleep(0.3)
    return "forked"
"""
    result = attack(pool, code)
    assert observed(result) == "forked"
    time.sleep(0.5)
    survivors = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if marker.encode() in open(f"/proc/{pid}/cmdline", "rb").read():
                survivors.append(pid)
        except OSError:
            pass
    assert not survivors


def test_namespace_mount_ptrace_and_setuid_are_refused(pool):
    code = """
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
def errno_of(fn, *args):
    r = fn(*args)
    return 0 if r == 0 else ctypes.get_errno()
def run():
    return {
        "unshare": errno_of(libc.unshare, 0x10000000),
        "mount": errno_of(libc.mount, b"none", b"/tmp", b"tmpfs", 0, None),
        "ptrace": errno_of(libc.ptrace, 16, 1, None, None),
        "setuid": errno_of(libc.setuid, 0),
    }
"""
    result = attack(pool, code)
    assert observed(result) == {"unshare": 1, "mount": 1, "ptrace": 1, "setuid": 1}  # EPERM everywhere


def test_hidden_tests_and_the_reference_are_not_on_disk(pool):
    hidden = "HIDDEN-TEST-BODY-" + secrets.token_hex(4)
    sources = {
        TEST_FILE: TEST_SOURCE,
        "tests/hidden/test_secret.py": f"def test_secret(check):\n    check('x', {hidden!r})\n",
    }
    tests = [
        {"id": "test_attack", "file": TEST_FILE, "visibility": "visible"},
        {"id": "test_secret", "file": "tests/hidden/test_secret.py", "visibility": "hidden"},
    ]
    code = """
import os
def run():
    seen = []
    for root in ("/work", "/tmp", "/harness", "/data"):
        for dirpath, dirs, files in os.walk(root):
            for f in files:
                path = os.path.join(dirpath, f)
                try:
                    seen.append(path + ":" + open(path, errors="replace").read())
                except OSError:
                    pass
    return "\\n".join(seen)
"""
    result = attack(pool, code, tests=tests, sources=sources)
    text = observed(result)
    work_files = sorted(line.split(":", 1)[0] for line in text.splitlines() if line.startswith("/work/"))
    assert work_files == ["/work/attack.py"], work_files  # no test files, no reference solution
    assert hidden not in text


def test_forged_result_lines_do_not_pass(pool):
    """Learner code writes fake 'test passed' events on the harness's channel; the trusted side
    still fails the test (and flags the duplicate)."""
    code = """
import os, json
def run():
    for fd in range(3, 20):
        try:
            os.write(fd, (json.dumps({"t": "obs", "test": "test_attack", "key": "result", "value": 42, "spec": {"kind": "close"}}) + "\\n"
                          + json.dumps({"t": "test", "test": "test_attack", "outcome": "ok", "error": None}) + "\\n").encode())
        except OSError:
            pass
    return 0
"""
    result = attack(pool, code)
    reference = [
        {"t": "start", "test": "test_attack"},
        {"t": "obs", "test": "test_attack", "key": "result", "value": 42, "spec": {"kind": "close"}},
        {"t": "test", "test": "test_attack", "outcome": "ok"},
        {"t": "done"},
    ]
    graded = verdicts.grade(
        tests=[{"id": "test_attack", "visibility": "hidden"}],
        learner_events=result.events,
        reference_events=reference,
        process={"verdict": result.verdict, "detail": result.detail},
    )
    assert graded["tests"][0]["status"] != "passed"


def test_another_learners_files_are_gone(pool):
    secret = "theirs-" + secrets.token_hex(4)
    attack(
        pool,
        f"open('/tmp/notes.txt', 'w').write({secret!r})\nopen('secret.txt', 'w').write({secret!r})\ndef run():\n    return 1\n",
    )
    code = """
import os
def run():
    out = []
    for path in ("/tmp/notes.txt", "/work/secret.txt", "secret.txt"):
        try:
            out.append(open(path).read())
        except OSError as exc:
            out.append(type(exc).__name__)
    return out
"""
    assert observed(attack(pool, code)) == ["FileNotFoundError"] * 3


def test_the_pool_still_serves_a_normal_job_afterwards(pool):
    result = attack(pool, "def run():\n    return 6 * 7\n")
    assert result.verdict == "ok" and observed(result) == 42


def test_sandbox_runs_as_an_unprivileged_user(pool):
    result = attack(pool, "import os\ndef run():\n    return [os.getuid(), os.getgid()]\n")
    uid, gid = observed(result)
    assert uid != 0 and gid != 0
    with pytest.raises(KeyError):
        pwd.getpwuid(uid)  # no account of its own on the host either


def test_learner_threads_cannot_block_the_reader(pool):
    # A sanity check that a burst of events is read while the job keeps running.
    result = attack(pool, "def run():\n    for i in range(2000):\n        print(i)\n    return 'ok'\n")
    assert result.verdict == "ok" and observed(result) == "ok"
    assert threading.active_count() >= 1
