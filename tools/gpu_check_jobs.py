"""Jobs for tools/gpu_check.py, built from the course FOLDER (a GPU host has no database): the
same `build_job` that `manage.py course test` and the web side use, fed from the folder."""

from pathlib import Path

from courses.format.mutants import mutant_sources
from courses.format.tree import load
from courses.format.validate import validate
from grader.course_check import _exercise_files, _support
from grader.jobs import build_job
from tools import gpu_check_probes as probes

ROOT = Path(__file__).resolve().parent.parent
COURSE = ROOT / "content" / "zero-to-gpt"
EXERCISE = "train-shakespeare"
CURVE_FILE = "tests/hidden/gpu_curve.py"


class Exercise:
    """The capstone as the folder has it, with the check's overrides applied to the config the
    job will run with (the GPU [config], or [cpu_fallback] on a CPU)."""

    def __init__(self, mirror_dirs, *, gpu: bool, overrides: dict):
        tree, problems = load(COURSE)
        spec, more = validate(tree, dataset_dirs=mirror_dirs)
        if problems or more:
            raise SystemExit(f"{COURSE} does not validate: {(problems + more)[0]}")
        self.tree, self.spec, self.gpu = tree, spec, gpu
        ex = spec["exercises"][EXERCISE]
        fallback = dict(ex["cpu_fallback"] or {})
        fallback["config"] = {**(fallback.get("config") or {}), **overrides}
        self.ex = {**ex, "config": {**ex["config"], **overrides}, "cpu_fallback": fallback}
        self.bundle = _exercise_files(tree, self.ex)
        self.support = _support(tree, spec, self.ex, self.bundle)
        self.tests = [{**t, "name": t["title"]} for t in self.ex["tests"]]

    @property
    def config(self) -> dict:
        """The configuration a run on this machine's device uses (what execute() would pick)."""
        return dict(self.ex["config"]) if self.gpu else {**self.ex["config"], **self.ex["cpu_fallback"]["config"]}

    def job(self, files: dict, *, kind: str, cached=None, wall_seconds=None) -> dict:
        spec = self.ex
        if wall_seconds is not None:
            resources = {**spec["resources"], "wall_seconds": wall_seconds}
            fallback = {**spec["cpu_fallback"], "wall_seconds": min(wall_seconds, spec["cpu_fallback"]["wall_seconds"])}
            spec = {**spec, "resources": resources, "cpu_fallback": fallback}
        return build_job(
            spec=spec,
            bundle=self.bundle,
            content_hash="gpu-check",
            files=files,
            tests=self.tests,
            support=self.support,
            reference_support=self.support,
            cached_reference=cached or {},
            kind=kind,
        )

    def solution(self) -> dict:
        return dict(self.bundle["solution"])

    def mutant(self, name: str) -> tuple[dict, list]:
        """A mutant's files and the tests it must fail."""
        found = [m for m in self.ex["mutants"] if m["name"] == name]
        if not found:
            known = ", ".join(m["name"] for m in self.ex["mutants"])
            raise SystemExit(f"no mutant {name!r} in {EXERCISE} (it has: {known})")
        return {**self.solution(), **mutant_sources(found[0], self.bundle)}, list(found[0].get("fails") or [])

    def curve_job(self, config: dict, *, wall_seconds: float) -> dict:
        """The reference loop with val loss logged against training time (CURVE_TEST)."""
        hidden = self.bundle["tests"]["tests/hidden/test_train_shakespeare.py"]
        bundle = {**self.bundle, "tests": {CURVE_FILE: hidden + probes.CURVE_TEST}}
        test = {"id": "test_gpu_curve", "file": CURVE_FILE, "visibility": "hidden", "title": "curve", "timeout": None}
        resources = {**self.ex["resources"], "device": "gpu" if self.gpu else "cpu", "wall_seconds": wall_seconds}
        if not self.gpu:
            resources.update({k: self.ex["cpu_fallback"][k] for k in ("memory_mb", "threads")})
        spec = {**self.ex, "resources": resources, "config": config, "cpu_fallback": None, "tests": [test]}
        return build_job(
            spec=spec,
            bundle=bundle,
            content_hash="gpu-check-curve",
            files=self.solution(),
            tests=[test],
            support=self.support,
            reference_support=self.support,
            cached_reference={},
            kind="course-full",
        )


def small_job(slug: str, source: str, test_id: str, *, gpu: bool, config=None, files=None, **resources) -> dict:
    """A one-test job of gpu_check's own (the probes): no datasets, torch preloaded."""
    test = {"id": test_id, "file": f"tests/{slug}.py", "visibility": "visible", "title": slug, "timeout": None}
    res = {"device": "gpu" if gpu else "cpu", "wall_seconds": 240, "memory_mb": 8192, "threads": 1}
    res.update({"preload": ["torch"], "processes": 256, "disk_mb": 256, **resources})
    spec = {
        "slug": slug,
        "title": slug,
        "resources": res,
        "cpu_fallback": {"allowed": True, **{k: res[k] for k in ("wall_seconds", "memory_mb", "threads")}},
        "config": config or {},
        "files": sorted(files or {}),
        "tests": [test],
    }
    return build_job(
        spec=spec,
        bundle={"tests": {test["file"]: source}, "solution": dict(files or {})},
        content_hash=f"gpu-check-{slug}",
        files=dict(files or {}),
        tests=[{**test, "name": slug}],
        support={},
        reference_support={},
        cached_reference={},
        kind="course-test",
    )


def cap_job(*, gpu: bool, cap_mb: int, alloc_mb: int) -> dict:
    """A learner's allocate() past gpu_memory_mb, graded against a reference that stays under it."""
    job = small_job(
        "gpu-cap",
        probes.CAP_TEST,
        "test_allocation",
        gpu=gpu,
        config={"mb": alloc_mb},
        files={"alloc.py": probes.CAP_LEARNER},
        gpu_memory_mb=cap_mb,
    )
    job["reference_files"] = {"alloc.py": probes.CAP_REFERENCE}
    return job
