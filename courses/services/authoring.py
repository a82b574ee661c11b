"""The instructor's in-browser editing: a workspace copy of the latest version, validated on every
save with the same validator as the CLI, published as a new immutable version."""

import hashlib

from django.db import transaction

from courses.format.tree import CourseTree, Problem, check_relative
from courses.format.validate import validate
from courses.models import AuthoringWorkspace, Blob, Course
from courses.services.versions import _exercise_hash, version_import, version_publish, version_tree

MAX_FILE_BYTES = 2 << 20


def workspace_get_or_create(*, course: Course, user) -> AuthoringWorkspace:
    workspace = AuthoringWorkspace.objects.filter(course=course).select_related("base_version").first()
    if workspace is None:
        latest = course.versions.order_by("-number").first()
        if latest is None:
            raise ValueError("this course has no version to edit yet: import it with `manage.py course import`")
        workspace = AuthoringWorkspace.objects.create(
            course=course, base_version=latest, manifest=dict(latest.manifest), updated_by=user
        )
    return workspace


def workspace_tree(*, workspace: AuthoringWorkspace) -> CourseTree:
    blobs = dict(Blob.objects.filter(sha256__in=set(workspace.manifest.values())).values_list("sha256", "data"))
    return CourseTree(files={path: bytes(blobs[h]) for path, h in workspace.manifest.items() if h in blobs})


def workspace_problems(*, workspace: AuthoringWorkspace, dataset_dirs: tuple = ()) -> list[Problem]:
    """What validation says about the workspace: errors, which block publishing, then warnings
    (severity "warning"), which do not."""
    spec, problems = validate(workspace_tree(workspace=workspace), dataset_dirs=dataset_dirs)
    return problems + spec.get("warnings", [])


@transaction.atomic
def workspace_write(*, workspace: AuthoringWorkspace, path: str, content: str | None, user) -> AuthoringWorkspace:
    """Create, change (content) or delete (content=None) one file of the workspace."""
    problem = check_relative(path)
    if problem:
        raise ValueError(problem)
    workspace = AuthoringWorkspace.objects.select_for_update().get(pk=workspace.pk)
    if content is None:
        workspace.manifest.pop(path, None)
    else:
        data = content.replace("\r\n", "\n").encode("utf-8")
        if len(data) > MAX_FILE_BYTES:
            raise ValueError(f"{path} is larger than {MAX_FILE_BYTES >> 20} MiB")
        digest = hashlib.sha256(data).hexdigest()
        Blob.objects.get_or_create(sha256=digest, defaults={"size": len(data), "data": data})
        workspace.manifest[path] = digest
    workspace.updated_by = user
    workspace.save(update_fields=["manifest", "updated_by", "updated_at"])
    return workspace


def workspace_grading_changes(*, workspace: AuthoringWorkspace, dataset_dirs: tuple = ()) -> list[str]:
    """Exercises whose grading the workspace changes against the published version (their tests,
    solution, data or anything else their reference observations depend on): what a replay
    against past submissions should check before publishing. Empty while the workspace does not
    validate."""
    from courses.models import Exercise

    tree = workspace_tree(workspace=workspace)
    spec, problems = validate(tree, dataset_dirs=dataset_dirs)
    if problems or workspace.course.published_version_id is None:
        return []
    manifest = tree.manifest()
    published = dict(
        Exercise.objects.filter(version_id=workspace.course.published_version_id).values_list("slug", "content_hash")
    )
    return [
        slug
        for slug, ex in spec["exercises"].items()
        if slug in published and _exercise_hash(ex, manifest, spec) != published[slug]
    ]


def workspace_discard(*, workspace: AuthoringWorkspace) -> None:
    workspace.delete()


@transaction.atomic
def workspace_publish(*, workspace: AuthoringWorkspace, user, dataset_dirs: tuple = ()):
    """Import the workspace as version N+1 and publish it. Raises CourseInvalid on problems."""
    version, created = version_import(
        tree=workspace_tree(workspace=workspace), user=user, note="edited in the browser", dataset_dirs=dataset_dirs
    )
    version_publish(version=version, user=user)
    workspace.base_version = version
    workspace.manifest = dict(version.manifest)
    workspace.save(update_fields=["base_version", "manifest", "updated_at"])
    return version, created


def workspace_reset(*, workspace: AuthoringWorkspace) -> None:
    latest = workspace.course.versions.order_by("-number").first()
    workspace.base_version = latest
    workspace.manifest = dict(version_tree(latest).manifest())
    workspace.save(update_fields=["base_version", "manifest", "updated_at"])
