"""Course datasets on a worker: content-addressed, verified, and bound per job.

- The cache holds each file once under its sha256 (DATASET_CACHE_DIR/sha256/<hex>), never under
  the name a course gives it: course B declaring course A's file name with other content gets
  its own file, and A's file (and A's cached reference observations) stay as they were.
- A file enters the cache only after its sha256 and size match the declaration, whether it came
  from the offline mirror (COURSE_ASSETS_DIR, looked up by declared name) or from its URL
  (fetch.py: https only, public addresses only, at most the declared size).
- A sandbox sees only its own job's datasets, read-only, under the names its course declares:
  every spare gets an empty folder of its own bound at /data when it starts (spares start before
  their job is known), and when a job is handed over its files are hard-linked into that folder
  (`bind`). Nothing else of the cache is visible inside.
- A missing dataset makes the job not gradable with LEARNER_MESSAGE (no URL, no error text); the
  detail goes to the log and to a record instructors see (`report_failure`, `failures`).
"""

import hashlib
import json
import logging
import os
import shutil
import tempfile
import time
from pathlib import Path

from gpu_runner import fetch as fetching

log = logging.getLogger(__name__)
LEARNER_MESSAGE = "this exercise's data is not available yet; your instructor has been told"
FAILURE_TTL_SECONDS = 14 * 24 * 3600
_verified: dict[str, tuple[int, int]] = {}  # path -> (size, mtime_ns) checked by this process


class DatasetError(Exception):
    """A dataset could not be made available. The text is for instructors and operators."""


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def name_problem(name: str) -> str | None:
    """A declared name must be a plain file name: it becomes /data/<name> in the sandbox."""
    if not name or name in (".", "..") or name.startswith(".") or "/" in name or "\\" in name or "\x00" in name:
        return "name must be a plain file name (no folders, not starting with a dot)"
    if len(name) > 200:
        return "name must be at most 200 characters"
    return None


def blob_path(cache_dir, sha256: str) -> Path:
    return Path(cache_dir) / "sha256" / sha256


def is_cached(cache_dir, dataset: dict) -> bool:
    path = blob_path(cache_dir, dataset["sha256"])
    return path.is_file() and path.stat().st_size == int(dataset.get("size") or path.stat().st_size)


def _trusted(path: Path, sha256: str) -> bool:
    """Is the cached file intact? Hashed once per process (and again if it changed)."""
    try:
        st = path.stat()
    except OSError:
        return False
    mark = (st.st_size, st.st_mtime_ns)
    if _verified.get(str(path)) == mark:
        return True
    if _sha256(path) != sha256:
        return False
    _verified[str(path)] = mark
    return True


def ensure(cache_dir, dataset: dict, *, mirror_dir: str = "", allow_download: bool = True, fetch=None) -> Path:
    """The cached, verified file for `dataset` ({name, url, sha256, size}); fetch it if needed."""
    fetch = fetch or fetching.fetch
    sha, name = dataset["sha256"], dataset["name"]
    target = blob_path(cache_dir, sha)
    for folder in (Path(cache_dir), target.parent):
        folder.mkdir(parents=True, exist_ok=True)
        os.chmod(folder, 0o755)  # the sandbox's unprivileged uid reaches the linked files
    if target.is_file():
        if _trusted(target, sha):
            return target
        log.warning("dataset %s: cached file %s is corrupt; fetching it again", name, target)
        target.unlink(missing_ok=True)
    sources = []
    # The offline mirror, then a file an older (name-keyed) cache left under this name; either is
    # copied in only if it matches the declared sha256.
    for folder in (*mirror_folders(mirror_dir), cache_dir):
        candidate = Path(folder) / name if folder and not name_problem(name) else None
        if candidate is not None and candidate.is_file():
            sources.append(("mirror", str(candidate)))
    if allow_download and dataset.get("url"):
        sources.append(("url", dataset["url"]))
    if not sources:
        raise DatasetError(
            f"dataset {name} is not cached and no source is reachable: run `manage.py course assets` or set COURSE_ASSETS_DIR"
        )
    size = int(dataset.get("size") or 0)
    errors = []
    for kind, source in sources:
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".partial-")
        try:
            with os.fdopen(fd, "wb") as out:
                if kind == "mirror":
                    with open(source, "rb") as src:
                        shutil.copyfileobj(src, out)
                else:
                    fetch(source, out, max_bytes=size or 1 << 40)
            actual = _sha256(Path(tmp))
            if actual != sha:
                errors.append(f"{source}: sha256 {actual[:12]}… does not match the declared {sha[:12]}…")
                continue
            if size and os.path.getsize(tmp) != size:
                errors.append(f"{source}: {os.path.getsize(tmp)} bytes, not the declared {size}")
                continue
            os.chmod(tmp, 0o444)
            os.replace(tmp, target)
            _verified[str(target)] = (target.stat().st_size, target.stat().st_mtime_ns)
            clear_failure(dataset)
            return target
        except fetching.FetchRefused as exc:
            errors.append(str(exc))
        except OSError as exc:
            errors.append(f"{source}: {exc}")
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
    raise DatasetError(f"dataset {name} could not be fetched: " + "; ".join(errors))


def ensure_all(cache_dir, declared: list, *, mirror_dir: str = "", fetch=None) -> dict[str, str]:
    """{declared name: cached path} for a job's datasets. On the first failure the detail is
    logged and recorded for instructors, then DatasetError is raised."""
    found = {}
    for dataset in declared or []:
        try:
            found[dataset["name"]] = str(ensure(cache_dir, dataset, mirror_dir=mirror_dir, fetch=fetch))
        except DatasetError as exc:
            log.warning("%s", exc)
            report_failure(dataset, str(exc))
            raise
    return found


def mirror_folders(mirror_dir) -> tuple:
    """COURSE_ASSETS_DIR is a path list, like PATH: the workplace's mirror, then var/mirror
    (tools/registry_assets.py)."""
    return tuple(part for part in str(mirror_dir or "").split(os.pathsep) if part)


def local_mirrors() -> tuple:
    """Folders `course validate` checks declared datasets against, by name: the offline mirrors.
    (The cache is keyed by sha256, so whatever it holds matches by construction.)"""
    from django.conf import settings

    return mirror_folders(settings.COURSE_ASSETS_DIR)


# --- per-spare /data folders ----------------------------------------------------------------------
_swept = False


def spare_dir(cache_dir) -> Path:
    """A new, empty folder for one spare's /data (same file system as the cache, so files can be
    hard-linked into it). Folders left by dead worker processes are removed on first use."""
    global _swept
    root = Path(cache_dir) / "spares"
    root.mkdir(parents=True, exist_ok=True)
    for folder in (Path(cache_dir), root):
        os.chmod(folder, 0o755)
    if not _swept:
        _swept = True
        for old in root.iterdir():
            pid = old.name.split("-", 1)[0]
            if pid.isdigit() and int(pid) != os.getpid() and not _alive(int(pid)):
                shutil.rmtree(old, ignore_errors=True)
    path = Path(tempfile.mkdtemp(dir=root, prefix=f"{os.getpid()}-"))
    os.chmod(path, 0o755)
    return path


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def bind(folder, files: dict[str, str]) -> None:
    """Put a job's datasets into its spare's /data folder under their declared names: a hard
    link to the cached file (no copy), or a copy where the file system refuses links."""
    if not folder or not files:
        return
    for name, source in files.items():
        if name_problem(name):
            raise DatasetError(f"dataset {name!r}: {name_problem(name)}")
        dest = Path(folder) / name
        try:
            os.link(source, dest)
        except FileExistsError:
            continue
        except OSError:
            try:
                shutil.copyfile(source, dest)
                os.chmod(dest, 0o444)
            except OSError as exc:
                raise DatasetError(f"dataset {name}: could not place it in the sandbox's /data: {exc}") from None


# --- what instructors are told ---------------------------------------------------------------------
def _redis():
    import redis
    from django.conf import settings

    return redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2), settings.KEY_PREFIX


def report_failure(dataset: dict, detail: str) -> None:
    """Record why a dataset is unavailable, for the instructor's pages (any worker, any host)."""
    try:
        client, prefix = _redis()
        record = {"name": dataset.get("name"), "url": dataset.get("url"), "error": detail, "at": time.time()}
        client.set(f"{prefix}datasets:failed:{dataset['sha256']}", json.dumps(record), ex=FAILURE_TTL_SECONDS)
    except Exception as exc:  # telling instructors must never break grading
        log.warning("could not record the dataset failure: %s", exc)


def clear_failure(dataset: dict) -> None:
    try:
        client, prefix = _redis()
        client.delete(f"{prefix}datasets:failed:{dataset['sha256']}")
    except Exception as exc:
        log.warning("could not clear the dataset failure record: %s", exc)


def failures(declared: list) -> dict[str, dict]:
    """{name: record} of the recorded failures among `declared` datasets."""
    if not declared:
        return {}
    try:
        client, prefix = _redis()
        values = client.mget([f"{prefix}datasets:failed:{d['sha256']}" for d in declared])
    except Exception as exc:
        log.warning("could not read dataset failure records: %s", exc)
        return {}
    return {d["name"]: json.loads(v) for d, v in zip(declared, values, strict=True) if v}
