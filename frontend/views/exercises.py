"""The exercise page and its JSON endpoints (draft autosave, reset, run/submit), submission
history and a submission's detail with a diff against the previous attempt."""

import difflib

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from courses import selectors as course_selectors
from courses.models import Membership
from courses.policies import page_words
from frontend import page_cache
from frontend.page_cache import cached_page
from frontend.views.body import read_json
from frontend.views.courses import item_url, learner_context
from frontend.views.staff_engine import staff_extras
from grader import policy_limits, prerequisites
from grader import selectors as grader_selectors
from grader import services as grader_services
from grader.models import Submission

MAX_BODY = 2 << 20


def _exercise_for(request, slug, exercise_slug):
    course, membership, version = learner_context(request, slug)
    if version is None:
        raise PermissionDenied("Enroll in this course to work on its exercises.")
    return course, membership, course_selectors.exercise_get(version=version, slug=exercise_slug)


def _starting_files(user, course, exercise) -> tuple[dict, str]:
    """(files, where they came from): the draft, else the learner's passing code of the
    exercise named in starter_from, else the starter (which never holds another exercise's
    solution: `course validate` checks)."""
    bundle = course_selectors.exercise_bundle(exercise=exercise)
    starter = {f: bundle["starter"].get(f, "") for f in exercise.spec["files"]}
    draft = grader_selectors.draft_get(user=user, course=course, exercise_slug=exercise.slug)
    if draft:
        return {**starter, **{k: v for k, v in draft.files.items() if k in starter}}, "draft"
    return _fresh_files(user, exercise, starter)


def _fresh_files(user, exercise, starter) -> tuple[dict, str]:
    carried = prerequisites.starter_from_files(user=user, exercise=exercise)
    if carried:
        return {**starter, **carried}, f"your passing code from {exercise.spec['starter_from']}"
    return starter, "starter"


def _locks(request, course, exercise) -> list[dict]:
    """Unmet prerequisites for the page: message, link, and whether they lock it for this user."""
    return [
        {
            "message": lock.message,
            "title": lock.title,
            "url": reverse("exercise_detail", args=[course.slug, lock.prerequisite.exercise]),
            "locks": locks,
            "policy": lock.prerequisite.policy,
            "grading": locks
            and prerequisites.grading_now(user=request.user, course=course, slug=lock.prerequisite.exercise),
        }
        for lock, locks in prerequisites.unmet(user=request.user, exercise=exercise)
    ]


def _dataset_problem(exercise) -> str:
    """Datasets of this exercise that are not available: not cached here, or reported missing by
    a worker (with the worker's reason: for instructors only)."""
    from gpu_runner.datasets import failures, is_cached

    declared = exercise.spec.get("datasets") or []
    reported = failures(declared)
    missing = [
        f"{d['name']} ({reported[d['name']]['error']})" if d["name"] in reported else d["name"]
        for d in declared
        if d["name"] in reported or not is_cached(settings.DATASET_CACHE_DIR, d)
    ]
    return "; ".join(missing)


@login_required
@cached_page
def exercise_detail(request, slug, exercise_slug):
    course, membership, version = learner_context(request, slug)
    if version is None:
        messages.info(request, "Enroll in the course to work on its exercises.")
        return redirect("course_detail", slug=slug)
    exercise = course_selectors.exercise_get(version=version, slug=exercise_slug)
    spec = exercise.spec
    is_instructor = course_selectors.has_role(user=request.user, course=course, role=Membership.Role.INSTRUCTOR)
    policy = course_selectors.policy_for(course=course, exercise_slug=exercise.slug)
    dates = page_words(policy, timezone.now())
    page_cache.not_after(request, dates["release_at"], dates["due_at"])
    if dates["opens"] and not policy_limits.exempt(user=request.user, course=course):
        return render(
            request, "frontend/exercise_locked.html", {"course": course, "exercise": exercise, "opens": dates}
        )
    unmet = _locks(request, course, exercise)
    locking = [u for u in unmet if u["locks"]]
    if locking:
        return render(
            request,
            "frontend/exercise_locked.html",
            {
                "course": course,
                "exercise": exercise,
                "locks": locking,
                "membership": membership,
                "grading": any(u["grading"] for u in locking),
            },
        )
    bundle = course_selectors.exercise_bundle(exercise=exercise)
    files, files_from = _starting_files(request.user, course, exercise)
    readonly = {f: bundle["starter"][f] for f in spec.get("support", []) if f in bundle["starter"]}
    readonly.update(course_selectors.shared_files(version=version, names=spec.get("shared", [])))
    for use in spec.get("uses") or []:  # their own earlier code, shown read-only (never a reference)
        theirs = prerequisites.passing_files(user=request.user, course=course, slug=use["exercise"], names=use["files"])
        if theirs:
            readonly.update(theirs[1])
    visible_tests = {p: t for p, t in bundle["tests"].items() if p.startswith("tests/visible/")}
    latest = (
        Submission.objects.filter(user=request.user, course=course, exercise_slug=exercise.slug)
        .order_by("-created_at")
        .first()
    )
    order = course_selectors.reading_order(version=version)
    index = next(i for i, (kind, item) in enumerate(order) if kind == "exercise" and item.pk == exercise.pk)
    page_cache.touch(request, membership, "exercise", exercise.slug)
    progress = course_selectors.progress_by_slug(user=request.user, course=course).get(exercise.slug)
    page = {
        "files": files,
        "editable": spec["files"],
        "readonly": readonly,
        "tests": visible_tests,
        "endpoints": {
            "submit": reverse("exercise_submit", args=[course.slug, exercise.slug]),
            "draft": reverse("exercise_draft", args=[course.slug, exercise.slug]),
            "reset": reverse("exercise_reset", args=[course.slug, exercise.slug]),
            "history": reverse("exercise_history", args=[course.slug, exercise.slug]),
        },
        "latest": {"id": latest.pk, "status": latest.status, "ws": f"/ws/submissions/{latest.pk}/"} if latest else None,
        "hints": {t["id"]: t["hints"] for t in spec["tests"]},
        "test_titles": {t["id"]: t["title"] for t in spec["tests"]},
        "exercise": exercise.slug,
        "course": course.slug,
        "limits": policy_limits.learner_limits(user=request.user, exercise=exercise, policy=policy),
    }
    window, gpu = page["limits"]["window"] or {}, page["limits"]["gpu"] or {}
    if window.get("retry_after"):
        page_cache.skip(request)  # a countdown: true only now
    page_cache.not_after(request, window.get("next_at"), gpu.get("resets_at"))
    return render(
        request,
        "frontend/exercise.html",
        {
            "course": course,
            "exercise": exercise,
            "spec": spec,
            "page": page,
            "files_from": files_from,
            "membership": membership,
            "progress": progress,
            "device": exercise.device,
            "prev": (order[index - 1], item_url(course, *order[index - 1])) if index > 0 else None,
            "next": (order[index + 1], item_url(course, *order[index + 1])) if index + 1 < len(order) else None,
            "missing_datasets": _dataset_problem(exercise) if is_instructor else bool(_dataset_problem(exercise)),
            "is_instructor": is_instructor,
            "unmet": unmet,
            "tutor_context": {"kind": "exercise", "slug": exercise.slug},
            "dates": dates,
            "limits": page["limits"],
        },
    )


def _require_open(request, course, exercise):
    """Before its release date a learner cannot open an exercise: nor its starter (reset) or a
    draft. Submit says the same through submission_create."""
    policy = course_selectors.policy_for(course=course, exercise_slug=exercise.slug)
    if not policy.released(timezone.now()) and not policy_limits.exempt(user=request.user, course=course):
        raise PermissionDenied(page_words(policy, timezone.now())["opens"])


def _json_body(request) -> dict:
    # BadBody is a ValueError: the callers' `except ValueError` answers it with a 400.
    return read_json(request, fields={"files": dict, "kind": str}, max_bytes=MAX_BODY)


def _require_member(request, course):
    if not course_selectors.has_role(user=request.user, course=course, role=Membership.Role.STUDENT):
        raise PermissionDenied("Enroll in this course to submit code.")


@login_required
@require_POST
def exercise_submit(request, slug, exercise_slug):
    course, _membership, exercise = _exercise_for(request, slug, exercise_slug)
    _require_member(request, course)
    try:
        data = _json_body(request)
        submission = grader_services.submission_create(
            user=request.user, exercise=exercise, files=data.get("files"), kind=data.get("kind", Submission.Kind.SUBMIT)
        )
    except grader_services.SubmissionLimited as exc:
        response = JsonResponse({"error": str(exc), "limited": True, "quota": exc.quota or {}}, status=429)
        if exc.retry_after:
            response["Retry-After"] = str(exc.retry_after)
        return response
    except grader_services.SubmissionClosed as exc:
        return JsonResponse({"error": str(exc), "closed": True}, status=403)
    except grader_services.PrerequisiteLocked as exc:
        url = reverse("exercise_detail", args=[course.slug, exc.lock.prerequisite.exercise])
        return JsonResponse(
            {"error": str(exc), "locked": {"exercise": exc.lock.prerequisite.exercise, "url": url}}, status=403
        )
    except (ValueError, grader_services.SubmissionRejected) as exc:
        return JsonResponse({"error": str(exc)}, status=400)
    return JsonResponse(
        {
            "id": submission.pk,
            "kind": submission.kind,
            "ws": f"/ws/submissions/{submission.pk}/",
            "url": reverse("submission_detail", args=[submission.pk]),
            "quota": submission.quota,
        },
        status=201,
    )


@login_required
@require_POST
def exercise_draft(request, slug, exercise_slug):
    course, _membership, exercise = _exercise_for(request, slug, exercise_slug)
    _require_member(request, course)
    _require_open(request, course, exercise)
    try:
        draft = grader_services.draft_save(user=request.user, exercise=exercise, files=_json_body(request).get("files"))
    except (ValueError, grader_services.SubmissionRejected) as exc:
        return JsonResponse({"error": str(exc)}, status=400)
    return JsonResponse({"saved_at": draft.updated_at.isoformat()})


@login_required
@require_POST
def exercise_reset(request, slug, exercise_slug):
    course, _membership, exercise = _exercise_for(request, slug, exercise_slug)
    _require_member(request, course)
    _require_open(request, course, exercise)
    grader_services.draft_reset(user=request.user, exercise=exercise)
    bundle = course_selectors.exercise_bundle(exercise=exercise)
    files, _source = _fresh_files(
        request.user, exercise, {f: bundle["starter"].get(f, "") for f in exercise.spec["files"]}
    )
    return JsonResponse({"files": files})


@login_required
def exercise_history(request, slug, exercise_slug):
    course, _membership, exercise = _exercise_for(request, slug, exercise_slug)
    history = grader_selectors.submission_history(user=request.user, course=course, exercise_slug=exercise.slug)
    template = "frontend/partials/history.html" if request.htmx else "frontend/history.html"
    return render(request, template, {"course": course, "exercise": exercise, "history": history})


def _diff(old: dict, new: dict) -> list[dict]:
    out = []
    for name in sorted(set(old) | set(new)):
        a, b = (old.get(name) or "").splitlines(), (new.get(name) or "").splitlines()
        lines = list(difflib.unified_diff(a, b, fromfile=f"previous/{name}", tofile=f"this/{name}", lineterm="", n=3))
        kinds = [
            "meta"
            if ln.startswith(("---", "+++", "@@"))
            else "add"
            if ln.startswith("+")
            else "del"
            if ln.startswith("-")
            else "ctx"
            for ln in lines
        ]
        out.append({"name": name, "lines": list(zip(kinds, lines, strict=True)), "changed": bool(lines)})
    return out


@login_required
def submission_detail(request, submission_id):
    submission = grader_selectors.submission_get_for_user(user=request.user, submission_id=submission_id)
    previous = grader_selectors.submission_previous(submission=submission)
    staff = grader_selectors.can_review(user=request.user, submission=submission)
    if request.GET.get("format") == "json":
        result = submission.result
        if result and not staff:  # what was only recorded, and how it was seen, is for staff
            result = {k: v for k, v in result.items() if k != "integrity"}
        return JsonResponse(
            {
                "id": submission.pk,
                "status": submission.status,
                "result": result,
                "files": submission.files,
                "kind": submission.kind,
            }
        )
    return render(
        request,
        "frontend/submission.html",
        {
            "submission": submission,
            "previous": previous,
            "course": submission.course,
            "diff": _diff(previous.files if previous else {}, submission.files) if previous else None,
            "result_json": submission.result,
            "integrity": grader_selectors.integrity_reasons(submission, limit=50) if staff else None,
            **staff_extras(request, submission),
        },
    )
