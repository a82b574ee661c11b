"""Assembling a runner job from an exercise's files. Pure: the same code builds jobs from the
database (submissions) and from a folder on disk (`manage.py course test`)."""


def wall_seconds(spec: dict) -> float:
    """The longest a run of this exercise may take: its own limit or its CPU fallback's."""
    return max(
        float(spec["resources"].get("wall_seconds", 20)), float((spec.get("cpu_fallback") or {}).get("wall_seconds", 0))
    )


def build_job(
    *,
    spec: dict,
    bundle: dict,
    content_hash: str,
    files: dict,
    tests: list,
    support: dict,
    reference_support: dict,
    cached_reference: dict,
    kind: str = "submission",
    submission_id=None,
    attempt: int = 1,
    own_code: dict | None = None,
) -> dict:
    job = {
        "v": 1,
        "kind": kind,
        "submission_id": submission_id,
        "attempt": attempt,
        "exercise": {"slug": spec["slug"], "title": spec["title"], "content_hash": content_hash},
        "device": spec["resources"]["device"],
        "cpu_fallback": spec.get("cpu_fallback"),
        "resources": spec["resources"],
        "preload": spec["resources"].get("preload") or [],
        "datasets": spec.get("datasets") or [],
        "config": spec.get("config") or {},
        "seed": spec.get("seed", 1337),
        "files": files,
        "support_files": support,
        "reference_support_files": reference_support,
        "tests": tests,
        "test_sources": dict(bundle["tests"]),
        "reference": cached_reference,
        "reference_tests": spec["tests"],
        "own_code": own_code or {},
    }
    # The runner needs the reference solution whenever the cache lacks a test of this job (on the
    # trusted worker only: it never enters the learner's sandbox).
    job["reference_files"] = {f: bundle["solution"][f] for f in spec["files"]}
    return job
