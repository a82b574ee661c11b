"""The exercise page and its JSON endpoints (draft autosave, reset, run/submit), submission
history and a submission's detail with a diff against the previous attempt."""

import difflib
import json

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from courses import selectors as course_selectors
from courses.models import Membership
from frontend.views.courses import item_url, learner_context
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
    exercise named in starter_from, else the starter."""
    bundle = course_selectors.exercise_bundle(exercise=exercise)
    starter = {f: bundle["starter"].get(f, "") for f in exercise.spec["files"]}
    draft = grader_selectors.draft_get(user=user, course=course, exercise_slug=exercise.slug)
    if draft:
        return {**starter, **{k: v for k, v in draft.files.items() if k in starter}}, "draft"
    source = exercise.spec.get("starter_from")
    if source:
        passing = (
            Submission.objects.filter(user=user, course=course, exercise_slug=source, passed=True)
            .order_by("-created_at")
            .values_list("files", flat=True)
            .first()
        )
        if passing:
            carried = {f: passing[f] for f in starter if f in passing}
            if carried:
                return {**starter, **carried}, f"your passing code from {source}"
    return starter, "starter"


def _dataset_problem(exercise) -> str:
    from gpu_runner.datasets import is_cached

    missing = [d["name"] for d in exercise.spec.get("datasets") or [] if not is_cached(settings.DATASET_CACHE_DIR, d)]
    return ", ".join(missing)


@login_required
def exercise_detail(request, slug, exercise_slug):
    course, membership, version = learner_context(request, slug)
    if version is None:
        messages.info(request, "Enroll in the course to work on its exercises.")
        return redirect("course_detail", slug=slug)
    exercise = course_selectors.exercise_get(version=version, slug=exercise_slug)
    spec = exercise.spec
    bundle = course_selectors.exercise_bundle(exercise=exercise)
    files, files_from = _starting_files(request.user, course, exercise)
    readonly = {f: bundle["starter"][f] for f in spec.get("support", []) if f in bundle["starter"]}
    readonly.update(course_selectors.shared_files(version=version, names=spec.get("shared", [])))
    visible_tests = {p: t for p, t in bundle["tests"].items() if p.startswith("tests/visible/")}
    latest = (
        Submission.objects.filter(user=request.user, course=course, exercise_slug=exercise.slug)
        .order_by("-created_at")
        .first()
    )
    order = course_selectors.reading_order(version=version)
    index = next(i for i, (kind, item) in enumerate(order) if kind == "exercise" and item.pk == exercise.pk)
    from courses.services import membership_touch

    membership_touch(membership=membership, kind="exercise", slug=exercise.slug)
    progress = course_selectors.progress_by_slug(user=request.user, course=course).get(exercise.slug)
    is_instructor = course_selectors.has_role(user=request.user, course=course, role=Membership.Role.INSTRUCTOR)
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
    }
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
            "missing_datasets": _dataset_problem(exercise),
            "is_instructor": is_instructor,
            "tutor_context": {"kind": "exercise", "slug": exercise.slug},
        },
    )


def _json_body(request) -> dict:
    if len(request.body) > MAX_BODY:
        raise ValueError("the request is too large")
    try:
        data = json.loads(request.body or b"{}")
    except ValueError:
        raise ValueError("the request body is not valid JSON") from None
    if not isinstance(data, dict):
        raise ValueError("the request body must be a JSON object")
    return data


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
    except (ValueError, grader_services.SubmissionRejected) as exc:
        return JsonResponse({"error": str(exc)}, status=400)
    return JsonResponse(
        {
            "id": submission.pk,
            "kind": submission.kind,
            "ws": f"/ws/submissions/{submission.pk}/",
            "url": reverse("submission_detail", args=[submission.pk]),
        },
        status=201,
    )


@login_required
@require_POST
def exercise_draft(request, slug, exercise_slug):
    course, _membership, exercise = _exercise_for(request, slug, exercise_slug)
    _require_member(request, course)
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
    grader_services.draft_reset(user=request.user, exercise=exercise)
    bundle = course_selectors.exercise_bundle(exercise=exercise)
    return JsonResponse({"files": {f: bundle["starter"].get(f, "") for f in exercise.spec["files"]}})


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
    if request.GET.get("format") == "json":
        return JsonResponse(
            {
                "id": submission.pk,
                "status": submission.status,
                "result": submission.result,
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
        },
    )
