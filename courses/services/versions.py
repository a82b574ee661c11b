"""Course versions: import a validated tree as a new immutable version, publish, roll back, export."""

import hashlib
import json

from django.db import transaction
from django.utils import timezone

from courses import rendering
from courses.format.tree import CourseTree, Problem, manifest_hash
from courses.format.validate import validate
from courses.models import Blob, Course, CourseVersion, Exercise, Lesson, Module
from courses.signals import version_ready


class CourseInvalid(Exception):
    def __init__(self, problems: list[Problem]):
        super().__init__(f"{len(problems)} problem(s) in the course folder")
        self.problems = problems


def lesson_link_base(course_slug: str) -> str:
    return f"/courses/{course_slug}/lessons/"


def _exercise_hash(ex: dict, manifest: dict, spec: dict, seen=None) -> str:
    """Everything grading an exercise depends on: its folder, its datasets, and the solution
    files it takes from earlier exercises. Equal hash, equal reference observations."""
    seen = seen or set()
    prefix = ex["path"] + "/"
    parts = {p[len(prefix) :]: h for p, h in manifest.items() if p.startswith(prefix)}
    parts["__datasets__"] = json.dumps([d["sha256"] for d in ex["datasets"]])
    for name in ex.get("shared", []):
        parts[f"__shared__/{name}"] = manifest.get(f"shared/{name}", "")
    for use in ex["uses"]:
        other = spec["exercises"].get(use["exercise"])
        if other and use["exercise"] not in seen:
            parts[f"__uses__/{use['exercise']}"] = _exercise_hash(other, manifest, spec, seen | {ex["slug"]})
    return hashlib.sha256(json.dumps(sorted(parts.items())).encode()).hexdigest()


def link_labels(spec: dict) -> dict:
    """How [[lesson#anchor]] links read: "Lesson title › Section title"."""
    labels = {}
    for slug, lesson in spec["lessons"].items():
        labels[slug] = lesson["title"]
        for h in rendering.render(lesson["body"]).toc:
            labels[f"{slug}#{h['anchor']}"] = f"{lesson['title']} › {h['text']}"
    return labels


def _without_title(prompt: str, title: str) -> str:
    """The exercise page shows the title already; drop a prompt's own leading `# Title`."""
    first, _, rest = prompt.lstrip().partition("\n")
    return rest if first.startswith("# ") else prompt


@transaction.atomic
def version_import(
    *, tree: CourseTree, user=None, note: str = "", dataset_dirs: tuple = ()
) -> tuple[CourseVersion, bool]:
    """Validate and store `tree` as the course's next version. All or nothing: a broken tree
    raises CourseInvalid and writes nothing. Importing an unchanged tree returns the latest
    version and False."""
    spec, problems = validate(tree, dataset_dirs=dataset_dirs)
    if problems:
        raise CourseInvalid(problems)
    meta = spec["course"]
    manifest = tree.manifest()
    digest = manifest_hash(manifest)
    course, created = Course.objects.select_for_update().get_or_create(
        slug=meta["slug"], defaults={"title": meta["title"], "summary": meta["summary"]}
    )
    latest = course.versions.order_by("-number").first()
    if latest is not None and latest.content_hash == digest:
        return latest, False
    if not created and (course.title, course.summary) != (meta["title"], meta["summary"]):
        course.title, course.summary = meta["title"], meta["summary"]
        course.save(update_fields=["title", "summary"])

    existing = set(Blob.objects.filter(sha256__in=set(manifest.values())).values_list("sha256", flat=True))
    Blob.objects.bulk_create(
        [Blob(sha256=h, size=len(tree.files[p]), data=tree.files[p]) for p, h in manifest.items() if h not in existing],
        ignore_conflicts=True,
    )
    public_meta = {
        **meta,
        "datasets": {
            k: {kk: vv for kk, vv in v.items() if not kk.startswith("_")} for k, v in meta["datasets"].items()
        },
    }
    version = CourseVersion.objects.create(
        course=course,
        number=(latest.number + 1) if latest else 1,
        content_hash=digest,
        manifest=manifest,
        meta=public_meta,
        created_by=user,
        note=note[:300],
    )
    link_base = lesson_link_base(course.slug)
    labels = link_labels(spec)
    # Lessons and exercises share one position sequence per module, in module.toml item order.
    for module_position, m in enumerate(spec["modules"]):
        module = Module.objects.create(
            version=version,
            slug=m["slug"],
            title=m["title"],
            summary=m["summary"],
            position=module_position,
            path=m["path"],
        )
        positions = {(item["kind"], item["slug"]): i for i, item in enumerate(m["items"])}
        for (kind, slug), position in positions.items():
            if kind != "lesson":
                continue
            lesson = spec["lessons"][slug]
            rendered = rendering.render(lesson["body"], link_base=link_base, link_labels=labels)
            Lesson.objects.create(
                version=version,
                module=module,
                slug=lesson["slug"],
                title=lesson["title"],
                position=position,
                path=lesson["path"],
                minutes=lesson["minutes"],
                objectives=lesson["objectives"],
                scoreboard=lesson.get("scoreboard") or [],
                figures=lesson.get("figures") or [],
                source=lesson["body"],
                html=rendered.html,
                toc=rendered.toc,
                sections=rendered.sections,
            )
    lessons = {lesson.slug: lesson for lesson in Lesson.objects.filter(version=version)}
    modules = {module.slug: module for module in Module.objects.filter(version=version)}
    for m in spec["modules"]:
        for position, item in enumerate(m["items"]):
            if item["kind"] != "exercise":
                continue
            ex = spec["exercises"][item["slug"]]
            Exercise.objects.create(
                version=version,
                module=modules[m["slug"]],
                lesson=lessons.get(ex["lesson"]),
                slug=ex["slug"],
                title=ex["title"],
                position=position,
                path=ex["path"],
                device=ex["resources"]["device"],
                points=ex["points"],
                prompt_html=rendering.render(
                    _without_title(ex["prompt"], ex["title"]), link_base=link_base, link_labels=labels
                ).html,
                spec={k: v for k, v in ex.items() if not k.startswith("_")},
                content_hash=_exercise_hash(ex, manifest, spec),
            )
    transaction.on_commit(lambda: version_ready.send(sender=CourseVersion, version=version))
    return version, True


@transaction.atomic
def version_publish(*, version: CourseVersion, user=None) -> CourseVersion:
    """Make `version` what learners see. Publishing an older version is a rollback."""
    locked = CourseVersion.objects.select_for_update().get(pk=version.pk)
    if locked.status != CourseVersion.Status.PUBLISHED:
        version.status = locked.status = CourseVersion.Status.PUBLISHED
        version.published_at = locked.published_at = timezone.now()
        locked.save(update_fields=["status", "published_at"])
    Course.objects.filter(pk=version.course_id).update(published_version=version)
    transaction.on_commit(lambda: version_ready.send(sender=CourseVersion, version=version))
    # Keep the caller's objects current too (the course they hold is what they render next).
    version.course.published_version = version
    return version


def version_rollback(*, course: Course, user=None) -> CourseVersion:
    """Publish the published version before the current one."""
    current = course.published_version
    previous = (
        course.versions.filter(status=CourseVersion.Status.PUBLISHED, number__lt=current.number if current else 10**9)
        .order_by("-number")
        .first()
    )
    if previous is None:
        raise ValueError(f"{course.slug} has no earlier published version to roll back to")
    return version_publish(version=previous, user=user)


def version_tree(version: CourseVersion) -> CourseTree:
    blobs = dict(Blob.objects.filter(sha256__in=set(version.manifest.values())).values_list("sha256", "data"))
    return CourseTree(files={path: bytes(blobs[h]) for path, h in version.manifest.items()})
