"""Rewrite a course's full-copy mutants (mutants/<name>.py, mutants/<name>/...) as patches against
the solution (mutants/<name>.patch), so each mutant file holds only its mistake.

    python tools/mutants_to_patches.py content/zero-to-gpt
"""

import difflib
import shutil
import sys
import tomllib
from pathlib import Path


def convert(exercise: Path) -> int:
    spec = tomllib.loads((exercise / "exercise.toml").read_text())
    files, meta = spec.get("files") or [], spec.get("mutants") or {}
    mutants = exercise / "mutants"
    converted = 0
    for entry in sorted(mutants.iterdir()) if mutants.is_dir() else []:
        if entry.suffix == ".py":
            name, pairs = entry.stem, {(meta.get(entry.stem) or {}).get("replaces") or files[0]: entry}
        elif entry.is_dir():
            name, pairs = entry.name, {p.relative_to(entry).as_posix(): p for p in entry.rglob("*") if p.is_file()}
        else:
            continue
        chunks = []
        for target, path in sorted(pairs.items()):
            old = (exercise / "solution" / target).read_text().splitlines(keepends=True)
            new = path.read_text().splitlines(keepends=True)
            chunks += difflib.unified_diff(old, new, f"solution/{target}", f"mutant/{target}", n=2)
        if not chunks:
            continue
        about = (meta.get(name) or {}).get("about", "")
        text = (f"{about}\n\n" if about else "") + "".join(c if c.endswith("\n") else c + "\n" for c in chunks)
        (mutants / f"{name}.patch").write_text(text)
        shutil.rmtree(entry) if entry.is_dir() else entry.unlink()
        converted += 1
    return converted


def main(root):
    total = sum(convert(toml.parent) for toml in sorted(Path(root).rglob("exercise.toml")))
    print(f"converted {total} mutants to patches under {root}")


if __name__ == "__main__":
    main(sys.argv[1])
