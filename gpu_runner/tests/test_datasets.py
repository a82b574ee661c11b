"""Course datasets on the runner: fetched only over https from public addresses, cached by
sha256, and bound per job, read-only, so one course can neither swap nor read another's data."""

import datetime
import functools
import hashlib
import http.server
import io
import ssl
import threading
import time

import pytest

from gpu_runner import datasets
from gpu_runner.execute import execute
from gpu_runner.fetch import FetchRefused, address_problem, fetch, url_problem
from gpu_runner.sandbox.diagnose import sandbox_status
from gpu_runner.sandbox.launch import Launcher, SandboxConfig
from gpu_runner.sandbox.pool import WarmPool

BODY = b"the file a course declared\n"


# --- where a worker may fetch from ----------------------------------------------------------------
@pytest.mark.parametrize(
    "url,reason",
    [
        ("http://example.org/names.txt", "only https:// URLs are fetched, not http://"),
        ("https://127.0.0.1/names.txt", "127.0.0.1 is a loopback address"),
        ("https://10.20.30.40/names.txt", "10.20.30.40 is a private address"),
        ("https://169.254.169.254/latest/meta-data/", "169.254.169.254 is a link-local address"),
        ("https://[::1]/names.txt", "::1 is a loopback address"),
        ("https://[::ffff:10.0.0.1]/x", "10.0.0.1 is a private address"),
        ("https://user:secret@example.org/x", "must not carry a user name or password"),
    ],
)
def test_refused_before_any_connection(url, reason):
    assert reason in url_problem(url)
    with pytest.raises(FetchRefused, match=reason.replace(".", r"\.").replace("[", r"\[")):
        fetch(url, io.BytesIO(), max_bytes=100)


def test_a_name_that_resolves_to_a_loopback_address_is_refused():
    assert url_problem("https://localhost:9/names.txt") is None  # a name: only its addresses tell
    with pytest.raises(FetchRefused, match=r"localhost resolves to 127\.0\.0\.1, and 127\.0\.0\.1 is a loopback"):
        fetch("https://localhost:9/names.txt", io.BytesIO(), max_bytes=100)


def test_public_addresses_pass():
    assert address_problem("93.184.216.34") is None and address_problem("2606:4700::6810:84e5") is None


@pytest.fixture(scope="module")
def https_server(tmp_path_factory):
    """A real HTTPS server on 127.0.0.1 with a self-signed certificate, serving a file, redirects
    to forbidden places, and a body larger than declared."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    folder = tmp_path_factory.mktemp("tls")
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    import ipaddress

    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .sign(key, hashes.SHA256())
    )
    (folder / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (folder / "key.pem").write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )

    class Handler(http.server.BaseHTTPRequestHandler):
        routes = {}

        def do_GET(self):
            status, headers, body = self.routes.get(self.path, (404, {}, b""))
            self.send_response(status)
            for k, v in headers.items():
                self.send_header(k, v.format(port=self.server.server_port))
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    Handler.routes = {
        "/names.txt": (200, {}, BODY),
        "/moved": (302, {"Location": "/names.txt"}, b""),
        "/to-private": (302, {"Location": "https://10.0.0.7/names.txt"}, b""),
        "/to-metadata": (307, {"Location": "https://169.254.169.254/latest/meta-data/"}, b""),
        "/to-loopback": (301, {"Location": "https://127.0.0.2:{port}/names.txt"}, b""),
        "/to-http": (302, {"Location": "http://127.0.0.1:{port}/names.txt"}, b""),
        "/big": (200, {}, BODY * 10),
    }
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(folder / "cert.pem", folder / "key.pem")
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    client = ssl.create_default_context(cafile=str(folder / "cert.pem"))
    # The platform's rule, except that this one test server on 127.0.0.1 stands in for a public host.
    allow = functools.partial(_allow_only, "127.0.0.1")
    yield f"https://127.0.0.1:{server.server_port}", functools.partial(fetch, context=client, allow=allow)
    server.shutdown()


def _allow_only(exception, address):
    return None if address == exception else address_problem(address)


def test_the_test_server_itself_is_refused_by_the_real_rule(https_server):
    base, _ = https_server
    with pytest.raises(FetchRefused, match="127.0.0.1 is a loopback address"):
        fetch(f"{base}/names.txt", io.BytesIO(), max_bytes=1000)


def test_a_file_and_a_redirect_to_it_are_fetched(https_server):
    base, get = https_server
    for path in ("/names.txt", "/moved"):
        out = io.BytesIO()
        assert get(f"{base}{path}", out, max_bytes=len(BODY)) == len(BODY)
        assert out.getvalue() == BODY


@pytest.mark.parametrize(
    "path,reason",
    [
        ("/to-private", "https://10.0.0.7/names.txt: 10.0.0.7 is a private address"),
        ("/to-metadata", "169.254.169.254 is a link-local address"),
        ("/to-loopback", "127.0.0.2 is a loopback address"),
        ("/to-http", "only https:// URLs are fetched, not http://"),
        ("/big", "more than the declared 27"),
    ],
)
def test_redirects_and_oversized_bodies_are_refused(https_server, path, reason):
    base, get = https_server
    out = io.BytesIO()
    with pytest.raises(FetchRefused, match=reason.replace(".", r"\.")):
        get(f"{base}{path}", out, max_bytes=len(BODY))
    assert len(out.getvalue()) <= len(BODY)


def test_a_fetched_file_is_verified_and_cached_under_its_sha256(https_server, tmp_path):
    base, get = https_server
    good = {"name": "names.txt", "url": f"{base}/names.txt", "sha256": hashlib.sha256(BODY).hexdigest(), "size": 27}
    path = datasets.ensure(tmp_path, good, fetch=get)
    assert path == datasets.blob_path(tmp_path, good["sha256"]) and path.read_bytes() == BODY
    wrong = {**good, "sha256": hashlib.sha256(b"other").hexdigest()}
    with pytest.raises(datasets.DatasetError, match="does not match the declared"):
        datasets.ensure(tmp_path, wrong, fetch=get)
    assert not datasets.blob_path(tmp_path, wrong["sha256"]).exists()


# --- one course, one set of files ------------------------------------------------------------------
PROBE = """
import hashlib, os


def look(paths):
    seen = {}
    for path in paths:
        try:
            with open(path, "rb") as fh:
                seen[path] = hashlib.sha256(fh.read()).hexdigest()
        except OSError as exc:
            seen[path] = type(exc).__name__
    return seen


def listing(root):
    try:
        return sorted(os.listdir(root))
    except OSError as exc:
        return type(exc).__name__
"""
TEST = """
import probe


def test_data(check):
    with open(check.data("tiny.txt"), "rb") as fh:
        check("tiny.txt", fh.read().decode())
    check("data folder", probe.listing("/data"))
    check("elsewhere", probe.look(PATHS))
"""


@pytest.fixture(scope="module")
def pool(tmp_path_factory):
    cache = tmp_path_factory.mktemp("cache")
    config = SandboxConfig(data_dir=cache, uid=62011, gid=62011)
    ok, why = sandbox_status(config)
    if not ok:
        pytest.fail(f"the sandbox cannot run on this machine: {why}")
    pool = WarmPool(Launcher(config), enabled=True)
    yield pool, cache
    pool.close()


def _job(declared, paths):
    from grader.jobs import build_job

    spec = {
        "slug": "read-data",
        "title": "Reads a dataset",
        "files": ["probe.py"],
        "resources": {"device": "cpu", "wall_seconds": 20, "memory_mb": 256, "datasets": [d["name"] for d in declared]},
        "datasets": declared,
        "tests": [{"id": "test_data", "file": "tests/visible/test_data.py", "visibility": "visible", "title": "t"}],
    }
    bundle = {"tests": {"tests/visible/test_data.py": f"PATHS = {paths!r}\n" + TEST}, "solution": {"probe.py": PROBE}}
    return build_job(
        spec=spec,
        bundle=bundle,
        content_hash="h",
        files={"probe.py": PROBE},
        tests=spec["tests"],
        support={},
        reference_support={},
        cached_reference={},
    )


def _observed(events):
    return {e["key"]: e["value"] for e in events if e.get("t") == "obs"}


def test_two_courses_with_one_name_each_see_their_own_file_and_nothing_else(pool, tmp_path):
    pool, cache = pool
    mirror_a, mirror_b = tmp_path / "a", tmp_path / "b"
    mirror_a.mkdir()
    mirror_b.mkdir()
    (mirror_a / "tiny.txt").write_bytes(b"course A's data\n")
    (mirror_b / "tiny.txt").write_bytes(b"course B's data, same name\n")
    (mirror_a / "secret.txt").write_bytes(b"only course A declares this one\n")

    def declared(mirror, *names):
        return [
            {
                "name": n,
                "url": f"https://example.invalid/{n}",
                "sha256": hashlib.sha256((mirror / n).read_bytes()).hexdigest(),
                "size": (mirror / n).stat().st_size,
            }
            for n in names
        ]

    a, b = declared(mirror_a, "tiny.txt", "secret.txt"), declared(mirror_b, "tiny.txt")
    blobs = {d["sha256"]: str(datasets.blob_path(cache, d["sha256"])) for d in a + b}
    # B's job tries every host path of A's files, the cache itself, and A-only names under /data.
    paths = [*blobs.values(), "/data/secret.txt", "/data/../secret.txt", str(cache), f"{cache}/sha256"]

    first_a = execute(_job(a, paths), pool=pool, data_dir=cache, mirror_dir=str(mirror_a))
    on_b = execute(_job(b, paths), pool=pool, data_dir=cache, mirror_dir=str(mirror_b))
    again_a = execute(_job(a, paths), pool=pool, data_dir=cache, mirror_dir=str(mirror_a))
    for payload in (first_a, on_b, again_a):
        assert payload["gradable"], payload.get("infrastructure_error")

    # Both files live side by side in the cache, each under its own sha256.
    assert {p.name for p in (cache / "sha256").iterdir()} == {d["sha256"] for d in a + b}
    seen_b = _observed(on_b["learner_events"])
    assert seen_b["tiny.txt"] == "course B's data, same name\n"
    assert seen_b["data folder"] == ["tiny.txt"]  # only its own course's dataset
    # Nothing of A's could be opened from B's sandbox (each value is the error, never a digest).
    assert set(seen_b["elsewhere"].values()) <= {"FileNotFoundError", "PermissionError", "IsADirectoryError"}, seen_b
    # B's run changed nothing for A: same file, and the reference run saw A's file too.
    for payload in (first_a, again_a):
        mine = _observed(payload["learner_events"])
        assert mine["tiny.txt"] == "course A's data\n" and mine["data folder"] == ["secret.txt", "tiny.txt"]
    assert _observed(on_b["reference_events"])["tiny.txt"] == "course B's data, same name\n"
    assert _observed(again_a["reference_events"])["tiny.txt"] == "course A's data\n"
    deadline = time.monotonic() + 10  # used spares are torn down in the background
    while list((cache / "spares").glob("*/tiny.txt")) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not list((cache / "spares").glob("*/tiny.txt"))  # their /data folders went with them


def test_a_missing_dataset_is_not_the_learners_problem(pool, tmp_path):
    pool, cache = pool
    gone = [{"name": "tiny.txt", "url": "https://localhost:9/tiny.txt", "sha256": "0" * 64, "size": 10}]
    payload = execute(_job(gone, []), pool=pool, data_dir=cache, mirror_dir=str(tmp_path))
    assert payload["gradable"] is False
    assert payload["infrastructure_error"] == datasets.LEARNER_MESSAGE
    assert "localhost" not in payload["infrastructure_error"]
    assert "localhost resolves to 127.0.0.1" in payload["dataset_error"]  # for instructors
    assert "localhost resolves to 127.0.0.1" in datasets.failures(gone)["tiny.txt"]["error"]


def test_a_file_from_the_old_name_keyed_cache_is_taken_only_if_it_matches(tmp_path):
    (tmp_path / "names.txt").write_bytes(BODY)
    declared = {"name": "names.txt", "url": "", "sha256": hashlib.sha256(BODY).hexdigest(), "size": len(BODY)}
    assert datasets.ensure(tmp_path, declared).read_bytes() == BODY
    other = {**declared, "sha256": hashlib.sha256(b"another course's names").hexdigest()}
    with pytest.raises(datasets.DatasetError, match="does not match the declared"):
        datasets.ensure(tmp_path, other)
