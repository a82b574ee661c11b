"""Which of an exercise's prerequisites a learner has passed, and the exact earlier files a
submission runs with (`Submission.uses_files`).

Passed means a passing Submit of that exercise (a Run covers only the visible tests and never
counts). The reference solution of a prerequisite reaches a learner's sandbox only where the
instructor opted in (`if_not_passed = "reference"`) or the user is an instructor previewing the
course; everyone else finds the exercise locked (courses/prerequisites.py).
"""

from dataclasses import dataclass

from courses import prerequisites as rules
from courses import selectors as course_selectors
from courses.models import Membership
from grader.models import Submission
from grader.services.errors import PrerequisiteLocked


@dataclass(frozen=True)
class Lock:
    prerequisite: rules.Prerequisite
    title: str
    message: str


def passing_files(*, user, course, slug: str, names) -> tuple[int, dict] | None:
    """(submission id, files) of the learner's latest passing Submit of `slug` that has every
    file in `names`, or None."""
    rows = (
        Submission.objects.filter(
            user=user, course=course, exercise_slug=slug, kind=Submission.Kind.SUBMIT, passed=True
        )
        .order_by("-created_at")
        .values_list("pk", "files")
    )
    for pk, files in rows.iterator():
        if all(name in files for name in names):
            return pk, {name: files[name] for name in names}
    return None


def reference_files(*, exercise, slug: str, names) -> dict:
    """Files of another exercise's reference solution (same course version). Trusted side only,
    or a learner's sandbox where the instructor opted in."""
    other = course_selectors.exercise_in_version(version=exercise.version, slug=slug)
    solution = course_selectors.exercise_bundle(exercise=other)["solution"] if other else {}
    return {name: solution[name] for name in names if name in solution}


def _is_previewing_staff(user, course) -> bool:
    return course_selectors.has_role(user=user, course=course, role=Membership.Role.INSTRUCTOR)


def _lock(exercise, prerequisite) -> Lock:
    other = course_selectors.exercise_in_version(version=exercise.version, slug=prerequisite.exercise)
    title = other.title if other else prerequisite.exercise
    return Lock(
        prerequisite=prerequisite, title=title, message=rules.lock_message(title=title, prerequisite=prerequisite)
    )


def unmet(*, user, exercise) -> list[tuple[Lock, bool]]:
    """Prerequisites `user` has not passed, each with whether it locks the exercise for them
    (False where the instructor opted in to the reference, or for instructors themselves)."""
    course = exercise.version.course
    found = []
    staff = None
    for prerequisite in rules.prerequisites_of(exercise.spec):
        if prerequisite.how == "uses":
            if passing_files(user=user, course=course, slug=prerequisite.exercise, names=prerequisite.files):
                continue
        elif _passed_any(user, course, prerequisite.exercise):
            continue
        if staff is None:
            staff = _is_previewing_staff(user, course)
        locks = not (rules.applies_reference(prerequisite.policy) or staff)
        found.append((_lock(exercise, prerequisite), locks))
    return found


def _passed_any(user, course, slug) -> bool:
    return Submission.objects.filter(
        user=user, course=course, exercise_slug=slug, kind=Submission.Kind.SUBMIT, passed=True
    ).exists()


def grading_now(*, user, course, slug: str) -> bool:
    """Whether a Submit of `slug` by this learner is still queued or running. The runner shows a
    verdict a moment before the database records it, so a learner who goes straight on from a
    passing Submit can arrive while the lock still stands: the page says so and looks again."""
    return Submission.objects.filter(
        user=user,
        course=course,
        exercise_slug=slug,
        kind=Submission.Kind.SUBMIT,
        status__in=(Submission.Status.QUEUED, Submission.Status.RUNNING),
    ).exists()


def first_lock(*, user, exercise) -> Lock | None:
    return next((lock for lock, locks in unmet(user=user, exercise=exercise) if locks), None)


def require_unlocked(*, user, exercise) -> None:
    """Raise PrerequisiteLocked if a prerequisite locks the exercise for `user`."""
    lock = first_lock(user=user, exercise=exercise)
    if lock is not None:
        raise PrerequisiteLocked(lock)


def uses_files_resolve(*, user, exercise) -> dict:
    """The earlier files this user's submission runs with, as stored in `Submission.uses_files`:
    {slug: {"source": "yours" | "reference", "submission": id | None, "files": {...}}}.
    Raises PrerequisiteLocked when a `[[uses]]` prerequisite locks the exercise for this user
    (the whole lock, starter_from included, is `require_unlocked`)."""
    lock = next(
        (lock for lock, locks in unmet(user=user, exercise=exercise) if locks and lock.prerequisite.how == "uses"), None
    )
    if lock is not None:
        raise PrerequisiteLocked(lock)
    course = exercise.version.course
    resolved = {}
    for use in exercise.spec.get("uses") or []:
        theirs = passing_files(user=user, course=course, slug=use["exercise"], names=use["files"])
        if theirs is not None:
            resolved[use["exercise"]] = {"source": "yours", "submission": theirs[0], "files": theirs[1]}
        else:
            resolved[use["exercise"]] = {
                "source": "reference",
                "submission": None,
                "files": reference_files(exercise=exercise, slug=use["exercise"], names=use["files"]),
            }
    return resolved


def starter_from_files(*, user, exercise) -> dict:
    """The learner's passing code of the exercise named in `starter_from`, for the files this
    exercise shares with it; empty when they have not passed it (never the reference: starters
    never contain another exercise's solution)."""
    source = exercise.spec.get("starter_from")
    if not source:
        return {}
    course = exercise.version.course
    rows = (
        Submission.objects.filter(
            user=user, course=course, exercise_slug=source, kind=Submission.Kind.SUBMIT, passed=True
        )
        .order_by("-created_at")
        .values_list("files", flat=True)
    )
    files = next(iter(rows[:1]), None) or {}
    return {name: files[name] for name in exercise.spec["files"] if name in files}
