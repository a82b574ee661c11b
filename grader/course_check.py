"""`manage.py course test`: prove a course's exercises grade what they claim, through the real
runner (sandbox, warm pool, trusted comparison):

- the reference solution passes every test;
- the starter code fails at least one test (it "runs but fails");
- every mutant (a known-wrong implementation) fails at least one test, and every test its
  [mutants.<name>] `fails` list names.
"""

from dataclasses import dataclass

from courses.format.exercises import bundle as split_bundle
from courses.format.mutants import mutant_sources
from courses.format.tree import CourseTree
from gpu_runner.execute import execute
from grader.jobs import build_job


@dataclass
class Row:
    exercise: str
    candidate: str
    expect: str  # "pass" or "fail"
    ok: bool
    passed: int
    total: int
    detail: str
    seconds: float


def _exercise_files(tree: CourseTree, ex: dict) -> dict:
    return split_bundle({rel: data.decode("utf-8", "replace") for rel, data in tree.under(ex["path"]).items()})


def _support(tree, spec, ex, bundle) -> dict:
    support = {f: bundle["starter"][f] for f in ex.get("support", []) if f in bundle["starter"]}
    support.update({f: tree.text(f"shared/{f}") for f in ex.get("shared", []) if tree.exists(f"shared/{f}")})
    for use in ex.get("uses", []):
        other = spec["exercises"][use["exercise"]]
        solution = _exercise_files(tree, other)["solution"]
        support.update({f: solution[f] for f in use["files"] if f in solution})
    return support


def _why(payload) -> str:
    """Why a run was not gradable, as the instructor needs it (a dataset's real reason too)."""
    return payload.get("dataset_error") or payload.get("infrastructure_error", "")


def _grade(payload) -> dict:
    if not payload.get("gradable", True):
        return {"status": "error", "tests": [], "message": _why(payload)}
    return payload["result"]


def check_exercise(
    tree: CourseTree, spec: dict, ex: dict, *, pool, data_dir, mirror_dir="", progress=None, fail_fast=False
) -> list[Row]:
    """`fail_fast`: a starter or mutant stops once it has failed a test and every test its `fails`
    names, rather than running the rest (a mutant caught by the first test need not train)."""
    bundle = _exercise_files(tree, ex)
    support = _support(tree, spec, ex, bundle)
    tests = [{**t, "name": t["title"]} for t in ex["tests"]]
    rows = []

    def job(files, cached):
        return build_job(
            spec=ex,
            bundle=bundle,
            content_hash="course-test",
            files=files,
            tests=tests,
            support=support,
            reference_support=support,
            cached_reference=cached,
            kind="course-test",
        )

    # The reference: run it as the "learner" too, so its own tests judge it.
    first = execute(job(bundle["solution"], {}), pool=pool, data_dir=data_dir, mirror_dir=mirror_dir)
    if not first.get("gradable", True):
        rows.append(
            Row(
                ex["slug"],
                "reference",
                "pass",
                False,
                0,
                len(tests),
                _why(first),
                first["finished_at"] - first["started_at"],
            )
        )
        if progress:
            progress(rows[-1])
        return rows
    reference = {first["reference_device"]: first["reference_events"]}
    result = _grade(first)
    passed = sum(t["status"] == "passed" for t in result["tests"])
    failing = [t for t in result["tests"] if t["status"] != "passed"]
    # Honest code must never trip the tamper guard: a reference that does is a false positive the
    # platform has to fix before learners meet it.
    tripped = [i for i in first.get("reference_integrity") or [] if i["level"] == "evidence"]
    detail = f"{failing[0]['id']}: {failing[0]['message']}" if failing else ""
    if tripped:
        detail = f"the reference trips the tamper guard ({tripped[0]['detail']}); report this to the platform team"
    rows.append(
        Row(
            ex["slug"],
            "reference",
            "pass",
            not failing and not tripped,
            passed,
            len(tests),
            detail,
            first["finished_at"] - first["started_at"],
        )
    )
    if progress:
        progress(rows[-1])

    candidates = [
        (
            "starter",
            {**bundle["solution"], **{f: bundle["starter"][f] for f in ex["files"] if f in bundle["starter"]}},
            [],
        )
    ]
    for mutant in ex.get("mutants", []):
        files = {**bundle["solution"], **mutant_sources(mutant, bundle)}
        candidates.append((f"mutant:{mutant['name']}", files, mutant.get("fails") or []))
    for name, files, must_fail in candidates:
        candidate = job(files, reference)
        if fail_fast:
            candidate["stop_once_failed"] = list(must_fail)
        payload = execute(candidate, pool=pool, data_dir=data_dir, mirror_dir=mirror_dir)
        result = _grade(payload)
        statuses = {t["id"]: t["status"] for t in result["tests"]}
        passed = sum(s == "passed" for s in statuses.values())
        failed_tests = [t for t in result["tests"] if t["status"] != "passed"]
        missed = [tid for tid in must_fail if statuses.get(tid) == "passed"]
        ok = bool(failed_tests) and not missed
        if not payload.get("gradable", True):
            ok, detail = False, _why(payload)
        elif missed:
            detail = f"expected to fail {', '.join(missed)} but passed it"
        elif not failed_tests:
            detail = "passes every test: the tests do not catch this"
        else:
            first_fail = next((t for t in failed_tests if t["status"] in ("failed", "error")), failed_tests[0])
            detail = f"{first_fail['id']}: {first_fail['message'].splitlines()[0] if first_fail['message'] else first_fail['status']}"
        ran = {e.get("test") for e in payload.get("learner_events") or [] if e.get("t") == "test"}
        if fail_fast and payload.get("gradable", True) and len(ran) < len(tests):
            detail += f" (stopped after {len(ran)} of {len(tests)} tests)"
        rows.append(
            Row(
                ex["slug"], name, "fail", ok, passed, len(tests), detail, payload["finished_at"] - payload["started_at"]
            )
        )
        if progress:
            progress(rows[-1])
    return rows
