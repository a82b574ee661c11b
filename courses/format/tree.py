"""A course folder as an in-memory tree of files: {"posix/relative/path": bytes}.

Validation, import, the web editor and export all work on trees, so a folder on disk and a
course being edited in the browser are checked by exactly the same code. Loading from disk is
where paths that escape the folder are caught: symlinks pointing outside, absolute or `..` paths.
"""

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

MAX_FILE_BYTES = 2 << 20
MAX_TREE_BYTES = 64 << 20
IGNORED_NAMES = {".git", "__pycache__", ".DS_Store", ".pytest_cache", ".ipynb_checkpoints", "node_modules"}


@dataclass
class Problem:
    file: str
    line: int
    message: str
    severity: str = "error"  # or "warning": reported, but the course is still valid

    def __str__(self):
        prefix = "warning: " if self.severity == "warning" else ""
        return f"{self.file}:{self.line}: {prefix}{self.message}"


@dataclass
class CourseTree:
    files: dict[str, bytes] = field(default_factory=dict)

    def text(self, path: str) -> str:
        return self.files[path].decode("utf-8")

    def exists(self, path: str) -> bool:
        return path in self.files

    def under(self, prefix: str) -> dict[str, bytes]:
        prefix = prefix.rstrip("/") + "/"
        return {p[len(prefix) :]: b for p, b in self.files.items() if p.startswith(prefix)}

    def dirs(self, prefix: str) -> list[str]:
        """Immediate sub-directory names under prefix."""
        prefix = prefix.rstrip("/") + "/"
        return sorted(
            {p[len(prefix) :].split("/", 1)[0] for p in self.files if p.startswith(prefix) and "/" in p[len(prefix) :]}
        )

    def manifest(self) -> dict[str, str]:
        return {path: hashlib.sha256(data).hexdigest() for path, data in sorted(self.files.items())}

    def content_hash(self) -> str:
        return manifest_hash(self.manifest())


def manifest_hash(manifest: dict[str, str]) -> str:
    return hashlib.sha256(json.dumps(sorted(manifest.items()), separators=(",", ":")).encode()).hexdigest()


def check_relative(path: str) -> str | None:
    """Why `path` is not an acceptable course-relative path, or None."""
    if not path or path.startswith("/") or "\\" in path or (len(path) > 1 and path[1] == ":"):
        return f"path {path!r} must be relative to the course folder"
    parts = PurePosixPath(path).parts
    if any(part in ("..", ".") for part in parts):
        return f"path {path!r} escapes the course folder"
    return None


def load(root: str | os.PathLike) -> tuple[CourseTree, list[Problem]]:
    """Read a course folder. Problems are returned, not raised, so validation reports them all."""
    root = Path(root)
    problems: list[Problem] = []
    tree = CourseTree()
    if not root.is_dir():
        return tree, [Problem(str(root), 1, "not a directory")]
    real_root = root.resolve()
    total = 0
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames[:] = sorted(d for d in dirnames if d not in IGNORED_NAMES)
        for name in dirnames:
            full = Path(dirpath) / name
            if full.is_symlink():
                rel = full.relative_to(root).as_posix()
                problems.append(Problem(rel, 1, "symlinked directories are not allowed in a course folder"))
        for name in sorted(filenames):
            if name in IGNORED_NAMES or name.endswith(".pyc"):
                continue
            full = Path(dirpath) / name
            rel = full.relative_to(root).as_posix()
            if full.is_symlink():
                target = full.resolve()
                if not target.is_relative_to(real_root):
                    problems.append(
                        Problem(rel, 1, f"symlink points outside the course folder (to {os.readlink(full)})")
                    )
                    continue
            if not full.is_file():
                problems.append(Problem(rel, 1, "not a regular file"))
                continue
            size = full.stat().st_size
            if size > MAX_FILE_BYTES:
                problems.append(
                    Problem(
                        rel,
                        1,
                        f"file is {size} bytes; course files may be at most {MAX_FILE_BYTES} bytes (declare large data as a dataset)",
                    )
                )
                continue
            total += size
            if total > MAX_TREE_BYTES:
                problems.append(Problem(rel, 1, f"course folder exceeds {MAX_TREE_BYTES >> 20} MiB"))
                return tree, problems
            tree.files[rel] = full.read_bytes()
    return tree, problems


def write(tree: CourseTree, root: str | os.PathLike) -> None:
    """Write a tree to a folder (export). The folder must be empty or absent."""
    root = Path(root)
    if root.exists() and any(root.iterdir()):
        raise FileExistsError(f"{root} is not empty")
    for path, data in sorted(tree.files.items()):
        problem = check_relative(path)
        if problem:
            raise ValueError(problem)
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
