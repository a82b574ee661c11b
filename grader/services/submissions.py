"""Creating submissions and handing them to the runner (DESIGN.md §4, steps 1-2)."""

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from courses import selectors as course_selectors
from grader.jobs import build_job
from grader.models import ReferenceRun, Submission
from grader.services.errors import SubmissionRejected
from grader.services.files import clean_files

__all__ = ["SubmissionRejected", "job_build", "submission_create", "submission_enqueue"]

QUEUE_FOR_DEVICE = {"cpu": "grade.cpu", "gpu": "grade.gpu"}


def submission_create(*, user, exercise, files: dict, kind: str = Submission.Kind.SUBMIT) -> Submission:
    """Validate and store a learner's files, then queue them for grading once committed.
    The caller has already checked the user may submit to this exercise (the permission gate)."""
    if kind not in Submission.Kind.values:
        raise SubmissionRejected(f"unknown submission kind {kind!r}")
    files = clean_files(exercise=exercise, files=files)
    course = exercise.version.course
    with transaction.atomic():
        counted = Submission.objects.filter(
            user=user, course=course, exercise_slug=exercise.slug, kind=Submission.Kind.SUBMIT, gradable=True
        ).count()
        submission = Submission.objects.create(
            user=user,
            course=course,
            exercise=exercise,
            exercise_slug=exercise.slug,
            kind=kind,
            files=files,
            number=counted + 1 if kind == Submission.Kind.SUBMIT else 0,
            queue=QUEUE_FOR_DEVICE[exercise.device],
            deadline_at=timezone.now() + timedelta(seconds=settings.GRADER_QUEUE_TIMEOUT_SECONDS),
        )
        transaction.on_commit(lambda: submission_enqueue(submission=submission))
    return submission


def _earlier_files(*, user, exercise, use: dict) -> tuple[dict, bool]:
    """Files the learner wrote for an earlier exercise (their latest passing submission), or the
    reference solution of that exercise when they have not passed it yet."""
    course = exercise.version.course
    theirs = (
        Submission.objects.filter(user=user, course=course, exercise_slug=use["exercise"], passed=True)
        .order_by("-created_at")
        .values_list("files", flat=True)
        .first()
    )
    if theirs and all(f in theirs for f in use["files"]):
        return {f: theirs[f] for f in use["files"]}, True
    return _reference_files_of(exercise=exercise, slug=use["exercise"], names=use["files"]), False


def _reference_files_of(*, exercise, slug: str, names: list) -> dict:
    other = course_selectors.exercise_in_version(version=exercise.version, slug=slug)
    solution = course_selectors.exercise_bundle(exercise=other)["solution"] if other else {}
    return {f: solution[f] for f in names if f in solution}


def job_build(
    *, exercise, files: dict, tests: list, user=None, submission_id=None, attempt: int = 1, kind: str = "submission"
) -> dict:
    """The self-contained job a runner needs (DESIGN.md §3): no database access on the GPU host."""
    spec = exercise.spec
    bundle = course_selectors.exercise_bundle(exercise=exercise)
    support = {f: bundle["starter"][f] for f in spec.get("support", []) if f in bundle["starter"]}
    support.update(course_selectors.shared_files(version=exercise.version, names=spec.get("shared", [])))
    reference_support = dict(support)
    own_code = {}
    for use in spec.get("uses", []):
        if user is not None:
            learner_files, mine = _earlier_files(user=user, exercise=exercise, use=use)
        else:
            learner_files, mine = (
                _reference_files_of(exercise=exercise, slug=use["exercise"], names=use["files"]),
                False,
            )
        support.update(learner_files)
        own_code[use["exercise"]] = "yours" if mine else "reference"
        reference_support.update(_reference_files_of(exercise=exercise, slug=use["exercise"], names=use["files"]))
    cached = dict(ReferenceRun.objects.filter(content_hash=exercise.content_hash).values_list("device", "events"))
    return build_job(
        spec=spec,
        bundle=bundle,
        content_hash=exercise.content_hash,
        files=files,
        tests=tests,
        support=support,
        reference_support=reference_support,
        cached_reference=cached,
        kind=kind,
        submission_id=submission_id,
        attempt=attempt,
        own_code=own_code,
    )


def _time_limits(spec: dict) -> tuple[int, int]:
    wall = max(
        float(spec["resources"].get("wall_seconds", 20)), float((spec.get("cpu_fallback") or {}).get("wall_seconds", 0))
    )
    # The first submission may also run the reference: two sandboxed runs plus start-up.
    soft = int(2 * wall + 60)
    return soft, soft + 30


def submission_enqueue(*, submission: Submission) -> None:
    """Send the job to its queue and tell the browser where it stands. Runs after commit."""
    from config.celery import app
    from gpu_runner.events import EventStream

    exercise = submission.exercise
    spec = exercise.spec
    tests = (
        spec["tests"]
        if submission.kind == Submission.Kind.SUBMIT
        else [t for t in spec["tests"] if t["visibility"] == "visible"]
    )
    job = job_build(
        exercise=exercise,
        files=submission.files,
        tests=tests,
        user=submission.user,
        submission_id=submission.pk,
        attempt=submission.attempt,
    )
    job["submission_kind"] = submission.kind
    soft, hard = _time_limits(spec)
    position = (
        Submission.objects.filter(
            queue=submission.queue, status=Submission.Status.QUEUED, created_at__lt=submission.created_at
        ).count()
        + 1
    )
    EventStream(submission.pk, submission.attempt).emit(
        "queued",
        position=position,
        queue=submission.queue,
        total=len(tests),
        own_code=job["own_code"],
        tests=[{"id": t["id"], "name": t["title"], "visibility": t["visibility"]} for t in tests],
    )
    app.send_task("gpu_runner.run_job", args=[job], queue=submission.queue, soft_time_limit=soft, time_limit=hard)
