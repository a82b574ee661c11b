"""Creating submissions and handing them to the runner (DESIGN.md §4, steps 1-2)."""

from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.utils import timezone

from config import ratelimits
from courses import selectors as course_selectors
from gpu_runner import contract
from gpu_runner.contract import QUEUE_FOR_DEVICE
from grader import policy_limits, prerequisites
from grader.jobs import build_job, wall_seconds
from grader.models import ReferenceRun, Submission
from grader.services.errors import PrerequisiteLocked, SubmissionClosed, SubmissionLimited, SubmissionRejected
from grader.services.files import clean_files

__all__ = [
    "PrerequisiteLocked",
    "SubmissionClosed",
    "SubmissionLimited",
    "SubmissionRejected",
    "job_build",
    "submission_create",
    "submission_enqueue",
    "submission_quota",
]
ACTIVE = (Submission.Status.QUEUED, Submission.Status.RUNNING)


def submission_quota(*, user, active: int | None = None) -> dict:
    """How many of the learner's submissions are waiting or running, against the cap, and the
    warning to show when the next one would be the last allowed (so nobody hits it blind).
    `active` is the count when the caller has just made it (submission_create has)."""
    if active is None:
        active = Submission.objects.filter(user=user, status__in=ACTIVE, regrade__isnull=True).count()
    count, cap = active, ratelimits.cap("submission.active")
    warning = ""
    if count >= cap:
        warning = ratelimits.cap_message("submission.active", active=count)
    elif count == cap - 1 and cap > 1:
        warning = (
            f"{count} of your submissions are still being graded; you can queue {cap - count} more until one finishes."
        )
    return {"active": count, "limit": cap, "warning": warning}


def _check_limits(*, user, exercise) -> int:
    """Caps on a learner's queued and running submissions, and a rate window: a loop that submits
    must not fill the queues (or hold every GPU worker) for everyone else. Returns how many of
    theirs were active before this one."""
    active = Submission.objects.filter(user=user, status__in=ACTIVE, regrade__isnull=True)
    count = active.count()
    if count >= ratelimits.cap("submission.active"):
        raise SubmissionLimited(ratelimits.cap_message("submission.active", active=count))
    if exercise.device == "gpu":
        gpu = active.filter(queue=QUEUE_FOR_DEVICE["gpu"]).count()
        if gpu >= ratelimits.cap("submission.active_gpu"):
            raise SubmissionLimited(ratelimits.cap_message("submission.active_gpu", active=gpu))
    decision = ratelimits.hit("submission.user", str(user.pk))
    if not decision.allowed:
        raise SubmissionLimited(decision.message, retry_after=decision.retry_after)
    return count


def submission_create(*, user, exercise, files: dict, kind: str = Submission.Kind.SUBMIT) -> Submission:
    """Validate and store a learner's files, then queue them for grading once committed.
    The caller has already checked the user may submit to this exercise (the permission gate)."""
    if kind not in Submission.Kind.values:
        raise SubmissionRejected(f"unknown submission kind {kind!r}")
    files = clean_files(exercise=exercise, files=files)
    # Refused (PrerequisiteLocked) before anything is stored when a prerequisite locks the exercise.
    prerequisites.require_unlocked(user=user, exercise=exercise)
    uses_files = prerequisites.uses_files_resolve(user=user, exercise=exercise)
    course = exercise.version.course
    with transaction.atomic():
        # One learner's submissions are created one at a time, so two requests at once cannot
        # both slip under the cap. (SQLite has no row locks; our IMMEDIATE transactions take its
        # database-wide write lock up front instead, so there the query would only cost time.)
        if connection.features.has_select_for_update:
            get_user_model().objects.select_for_update().filter(pk=user.pk).first()
        # The course's policy first (release, closed after due, submit window, GPU budget), so a
        # refused submit spends nothing of the platform's own rate window.
        standing = policy_limits.require_within_policy(user=user, exercise=exercise, kind=kind)
        active = _check_limits(user=user, exercise=exercise)
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
            uses_files=uses_files,
            number=counted + 1 if kind == Submission.Kind.SUBMIT else 0,
            queue=QUEUE_FOR_DEVICE[exercise.device],
            deadline_at=timezone.now() + timedelta(seconds=settings.GRADER_QUEUE_TIMEOUT_SECONDS),
        )
        transaction.on_commit(lambda: submission_enqueue(submission=submission))
    # For the response: the learner's quota now, without counting again.
    submission.quota = submission_quota(user=user, active=active + 1)
    submission.quota.update(window=standing["window"], gpu=standing["gpu"])
    return submission


def job_build(
    *,
    exercise,
    files: dict,
    tests: list,
    user=None,
    uses_files: dict | None = None,
    submission_id=None,
    attempt: int = 1,
    kind: str = "submission",
) -> dict:
    """The self-contained job a runner needs (DESIGN.md §3): no database access on the GPU host.

    `uses_files` are the earlier exercises' files the learner's sandbox gets (as stored on the
    submission); without them they are resolved for `user` now, which raises PrerequisiteLocked
    where a prerequisite locks the exercise. The reference run always gets the references."""
    spec = exercise.spec
    bundle = course_selectors.exercise_bundle(exercise=exercise)
    support = {f: bundle["starter"][f] for f in spec.get("support", []) if f in bundle["starter"]}
    support.update(course_selectors.shared_files(version=exercise.version, names=spec.get("shared", [])))
    reference_support = dict(support)
    if uses_files is None:
        if user is None:
            raise ValueError("job_build needs the submission's uses_files or the user to resolve them for")
        uses_files = prerequisites.uses_files_resolve(user=user, exercise=exercise)
    own_code = {}
    for use in spec.get("uses", []):
        entry = uses_files.get(use["exercise"]) or {}
        support.update({f: entry["files"][f] for f in use["files"] if f in (entry.get("files") or {})})
        own_code[use["exercise"]] = entry.get("source", "reference")
        reference_support.update(
            prerequisites.reference_files(exercise=exercise, slug=use["exercise"], names=use["files"])
        )
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


def _stored_uses_files(submission: Submission) -> dict:
    """The earlier files this submission runs with: stored when it was created, so a regrade or a
    re-enqueue by the reaper runs the same code. Rows from before they were stored get them now."""
    wanted = {u["exercise"] for u in submission.exercise.spec.get("uses") or []}
    if wanted <= set(submission.uses_files or {}):
        return submission.uses_files
    uses_files = prerequisites.uses_files_resolve(user=submission.user, exercise=submission.exercise)
    Submission.objects.filter(pk=submission.pk).update(uses_files=uses_files)
    submission.uses_files = uses_files
    return uses_files


def _time_limits(spec: dict) -> tuple[int, int]:
    wall = wall_seconds(spec)
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
    try:
        uses_files = _stored_uses_files(submission)
    except PrerequisiteLocked as exc:
        _refuse_locked(submission, str(exc))
        return
    job = job_build(
        exercise=exercise,
        files=submission.files,
        tests=tests,
        uses_files=uses_files,
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
    app.send_task(
        contract.RUN_JOB,
        args=[job],
        queue=submission.queue,
        soft_time_limit=soft,
        time_limit=hard,
        # A staff regrade waits behind learners' own jobs.
        priority=contract.PRIORITY_BATCH if submission.regrade_id else contract.PRIORITY_LEARNER,
    )


def _refuse_locked(submission: Submission, message: str) -> None:
    """A queued row from before prerequisites were checked at submit time, whose learner has not
    passed one: it is not gradable (no attempt used), and says why."""
    from gpu_runner import verdicts
    from gpu_runner.events import EventStream
    from grader.services.regrades import regrade_not_gradable
    from grader.services.results import result_event

    if submission.regrade_id is not None:  # a staff regrade: the learner keeps the grade they had
        regrade_not_gradable(submission=submission, attempt=submission.attempt, detail=message)
        return

    tests = [{**t, "name": t.get("title") or t["id"]} for t in submission.exercise.spec["tests"]]
    result = verdicts.infrastructure_result(tests=tests, message=message)
    result.update(kind=submission.kind, attempt=submission.number, timing={})
    if Submission.objects.filter(pk=submission.pk, attempt=submission.attempt, status=Submission.Status.QUEUED).update(
        status=Submission.Status.ERROR, gradable=False, result=result, finished_at=timezone.now(), error=message
    ):
        EventStream(submission.pk, submission.attempt).emit("result", **result_event(result, kind=submission.kind))
