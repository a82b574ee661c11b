"""Course datasets on a worker: fetched once by URL (or copied from the offline mirror in
COURSE_ASSETS_DIR), verified by sha256, cached in DATASET_CACHE_DIR, bound read-only into every
sandbox at /data/<name>."""

import hashlib
import os
import shutil
import tempfile
import urllib.request
from pathlib import Path


class DatasetError(Exception):
    pass


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def cached_path(cache_dir: Path, name: str) -> Path:
    return Path(cache_dir) / os.path.basename(name)


def is_cached(cache_dir: Path, dataset: dict) -> bool:
    path = cached_path(cache_dir, dataset["name"])
    return path.is_file() and path.stat().st_size == int(dataset.get("size") or path.stat().st_size)


def ensure(cache_dir: Path, dataset: dict, *, mirror_dir: str = "", allow_download: bool = True) -> Path:
    """The cached, verified file for `dataset` ({name, url, sha256, size}); fetch it if needed."""
    cache_dir = Path(cache_dir)
    cache_dir.mkdir(parents=True, exist_ok=True)
    os.chmod(cache_dir, 0o755)  # the sandbox's unprivileged uid reads it
    target = cached_path(cache_dir, dataset["name"])
    if target.is_file() and _sha256(target) == dataset["sha256"]:
        return target
    sources = []
    if mirror_dir:
        candidate = Path(mirror_dir) / os.path.basename(dataset["name"])
        if candidate.is_file():
            sources.append(("mirror", str(candidate)))
    if allow_download and dataset.get("url"):
        sources.append(("url", dataset["url"]))
    if not sources:
        raise DatasetError(
            f"dataset {dataset['name']} is not cached and no source is reachable: run `manage.py course assets` or set COURSE_ASSETS_DIR"
        )
    errors = []
    for kind, source in sources:
        fd, tmp = tempfile.mkstemp(dir=cache_dir, prefix=".partial-")
        os.close(fd)
        try:
            if kind == "mirror":
                shutil.copyfile(source, tmp)
            else:
                with urllib.request.urlopen(source, timeout=30) as response, open(tmp, "wb") as out:
                    shutil.copyfileobj(response, out)
            actual = _sha256(Path(tmp))
            if actual != dataset["sha256"]:
                errors.append(f"{source}: sha256 {actual[:12]}… does not match the declared {dataset['sha256'][:12]}…")
                continue
            os.chmod(tmp, 0o644)
            os.replace(tmp, target)
            return target
        except OSError as exc:
            errors.append(f"{source}: {exc}")
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
    raise DatasetError(f"dataset {dataset['name']} could not be fetched: " + "; ".join(errors))
