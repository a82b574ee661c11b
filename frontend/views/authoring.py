"""Instructors edit a course in the browser: files, live preview, validation on save (the CLI's
messages, by line), publishing a new version, export as a folder, version list and rollback."""

import io
import zipfile

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from courses import rendering, selectors, services
from courses.format.lessons import parse_front_matter
from courses.models import CourseVersion, Membership
from frontend.views.body import BadBody, read_json

INSTRUCTOR = Membership.Role.INSTRUCTOR


def _dataset_dirs():
    from gpu_runner.datasets import local_mirrors

    return local_mirrors()


def _problems_json(problems):
    return [{"file": p.file, "line": p.line, "message": p.message, "severity": p.severity} for p in problems]


@login_required
def workspace(request, slug):
    course = selectors.course_get_for_user(user=request.user, slug=slug, role=INSTRUCTOR)
    try:
        ws = services.workspace_get_or_create(course=course, user=request.user)
    except ValueError as exc:
        messages.error(request, str(exc))
        return redirect("course_detail", slug=slug)
    paths = sorted(ws.manifest)
    path = request.GET.get("path") or next(
        (p for p in paths if p.endswith(".md") and "/lessons/" in p), paths[0] if paths else ""
    )
    tree = services.workspace_tree(workspace=ws)
    content = tree.files.get(path, b"").decode("utf-8", "replace")
    problems = services.workspace_problems(workspace=ws, dataset_dirs=_dataset_dirs())
    changed = ws.manifest != ws.base_version.manifest
    datasets = _dataset_status(course.versions.order_by("-number").first())
    page = {
        "path": path,
        "content": content,
        "problems": _problems_json(problems),
        "paths": paths,
        "endpoints": {"save": f"/courses/{slug}/author/file/", "preview": f"/courses/{slug}/author/preview/"},
    }
    return render(
        request,
        "frontend/author.html",
        {
            "course": course,
            "workspace": ws,
            "paths": paths,
            "path": path,
            "page": page,
            "problems": problems,
            "changed": changed,
            "grading_changes": services.workspace_grading_changes(workspace=ws, dataset_dirs=_dataset_dirs())
            if changed
            else [],
            "latest": course.versions.order_by("-number").first(),
            "datasets": datasets,
        },
    )


def _dataset_status(version) -> list[dict]:
    """Each dataset of the latest version: whether this server has it, and any failure a worker
    or `course assets` reported (its full reason: this page is for instructors)."""
    from gpu_runner.datasets import failures, is_cached

    declared = list(((version.meta if version else {}).get("datasets") or {}).values())
    reported = failures(declared)
    return [
        {
            "name": d["name"],
            "cached": is_cached(settings.DATASET_CACHE_DIR, d),
            "error": (reported.get(d["name"]) or {}).get("error", ""),
        }
        for d in declared
    ]


@login_required
@require_POST
def file_view(request, slug):
    course = selectors.course_get_for_user(user=request.user, slug=slug, role=INSTRUCTOR)
    ws = services.workspace_get_or_create(course=course, user=request.user)
    try:
        data = read_json(request, fields={"path": str, "content": str, "delete": bool})
    except BadBody as exc:
        return exc.response()
    try:
        path = data.get("path", "")
        content = data.get("content")
        if data.get("delete"):
            content = None
        elif content is None:
            raise ValueError("the field 'content' is missing (send delete: true to remove a file)")
        ws = services.workspace_write(workspace=ws, path=path, content=content, user=request.user)
    except ValueError as exc:
        return JsonResponse({"error": str(exc)}, status=400)
    problems = services.workspace_problems(workspace=ws, dataset_dirs=_dataset_dirs())
    return JsonResponse(
        {"saved": True, "problems": _problems_json(problems), "changed": ws.manifest != ws.base_version.manifest}
    )


@login_required
@require_POST
def preview(request, slug):
    """Render Markdown exactly as learners will see it (same renderer, same sanitiser)."""
    course = selectors.course_get_for_user(user=request.user, slug=slug, role=INSTRUCTOR)
    try:
        data = read_json(request, fields={"content": str, "path": str})
    except BadBody as exc:
        return exc.response()
    text, path = data.get("content", ""), data.get("path", "preview.md")
    if "/lessons/" in path and text.startswith("---"):
        from courses.format.tree import CourseTree
        from courses.format.validate import Context

        ctx = Context(CourseTree(files={path: text.encode("utf-8")}))
        parsed = parse_front_matter(ctx, path)
        body = parsed[1] if parsed else text
        title = (parsed[0].get("title") if parsed else "") or ""
    else:
        body, title = text, ""
    rendered = rendering.render(body, link_base=f"/courses/{course.slug}/lessons/")
    return JsonResponse({"html": rendered.html, "title": title, "toc": rendered.toc})


@login_required
@require_POST
def publish(request, slug):
    course = selectors.course_get_for_user(user=request.user, slug=slug, role=INSTRUCTOR)
    ws = services.workspace_get_or_create(course=course, user=request.user)
    try:
        version, created = services.workspace_publish(workspace=ws, user=request.user, dataset_dirs=_dataset_dirs())
    except services.CourseInvalid as exc:
        messages.error(request, f"Not published: {len(exc.problems)} problem(s) to fix first.")
        return redirect("author_workspace", slug=slug)
    if created:
        messages.success(
            request,
            f"Published version {version.number}. Learners see it now; earlier submissions keep pointing at the version they were graded on. "
            "Expected values of changed exercises are being computed: see Versions.",
        )
    else:
        messages.info(request, f"Nothing changed since version {version.number}; it is published.")
    return redirect("author_workspace", slug=slug)


@login_required
def export(request, slug):
    course = selectors.course_get_for_user(user=request.user, slug=slug, role=INSTRUCTOR)
    ws = services.workspace_get_or_create(course=course, user=request.user)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path, data in sorted(services.workspace_tree(workspace=ws).files.items()):
            archive.writestr(f"{course.slug}/{path}", data)
    response = HttpResponse(buffer.getvalue(), content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="{course.slug}.zip"'
    return response


@login_required
def versions(request, slug):
    from grader.selectors import references_status

    course = selectors.course_get_for_user(user=request.user, slug=slug, role=INSTRUCTOR)
    latest = course.versions.order_by("-number").first()
    return render(
        request,
        "frontend/versions.html",
        {
            "course": course,
            "versions": course.versions.select_related("created_by").order_by("-number"),
            "latest": latest,
            "references": references_status(version=latest) if latest else None,
        },
    )


@login_required
def version_references(request, slug, number):
    """The expected-values panel of one version (polled by the versions page while computing)."""
    from grader.selectors import references_status

    course = selectors.course_get_for_user(user=request.user, slug=slug, role=INSTRUCTOR)
    version = get_object_or_404(CourseVersion, course=course, number=number)
    return render(
        request,
        "frontend/partials/version_references.html",
        {"course": course, "version": version, "status": references_status(version=version)},
    )


@login_required
@require_POST
def version_publish(request, slug, number):
    course = selectors.course_get_for_user(user=request.user, slug=slug, role=INSTRUCTOR)
    version = CourseVersion.objects.filter(course=course, number=number).first()
    if version is None:
        messages.error(request, f"There is no version {number}.")
    else:
        services.version_publish(version=version, user=request.user)
        messages.success(request, f"Version {number} is now the one learners see.")
    return redirect("course_versions", slug=slug)
