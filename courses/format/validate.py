"""Validate a course tree and turn it into a normalized spec.

`validate(tree)` returns (spec, problems). Every problem names a file and line; all of them are
collected in one pass so an author fixes everything at once. The spec is only usable when the
problem list is empty. Exercise-specific checks live in exercises.py. Warnings (the course is
valid, but an author should look: valuechecks.py) are in spec["warnings"].
"""

import hashlib
import re
from pathlib import Path

from courses.format import schema, tomlpos
from courses.format.crossrefs import cross_checks
from courses.format.exercises import validate_exercise
from courses.format.leaks import starter_leaks
from courses.format.lessons import lesson as _lesson
from courses.format.lessons import strip_number
from courses.format.tree import CourseTree, Problem
from courses.format.valuechecks import value_check_warnings

SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,79}$")


class Context:
    """Problems collector plus helpers shared by the course, module and exercise checks."""

    def __init__(self, tree: CourseTree):
        self.tree = tree
        self.problems: list[Problem] = []
        self.warnings: list[Problem] = []

    def error(self, file: str, line: int, message: str) -> None:
        self.problems.append(Problem(file, line or 1, message))

    def warn(self, file: str, line: int, message: str) -> None:
        """Worth the author's attention, but the course is valid (spec["warnings"])."""
        self.warnings.append(Problem(file, line or 1, message, severity="warning"))

    def toml(self, path: str):
        if path not in self.tree.files:
            return None
        try:
            text = self.tree.text(path)
        except UnicodeDecodeError:
            self.error(path, 1, "file is not UTF-8 text")
            return None
        try:
            return tomlpos.parse(text)
        except tomlpos.TomlError as exc:
            self.error(path, exc.line, exc.message)
            return None

    def slug(self, value, file: str, line: int, what: str) -> bool:
        if not isinstance(value, str) or not SLUG.match(value):
            self.error(file, line, f"{what} {value!r} is not a valid slug (lowercase letters, digits and hyphens)")
            return False
        return True


def _tutor_endpoint(ctx: Context, doc, course: dict) -> None:
    """A course's own endpoint gets the course's own key, never the platform's TUTOR_API_KEY."""
    tutor = course["tutor"]
    if not isinstance(tutor.get("base_url"), str) or not isinstance(course.get("slug"), str):
        return
    expected = schema.tutor_key_env(course["slug"])
    name = tutor.get("api_key_env")
    if name is None:
        ctx.error(
            "course.toml",
            doc.line(("tutor", "base_url")),
            f"[tutor] base_url needs api_key_env = {expected!r}: the environment variable holding this "
            "endpoint's key (the platform's TUTOR_API_KEY is never sent to a course's own endpoint)",
        )
    elif name != expected:
        ctx.error(
            "course.toml",
            doc.line(("tutor", "api_key_env")),
            f"[tutor] api_key_env must be {expected!r} for this course, not {name!r}: a course's endpoint "
            "key comes from its own variable, never the platform's or another course's",
        )


def validate(tree: CourseTree, *, dataset_dirs: tuple = ()) -> tuple[dict, list[Problem]]:
    """`dataset_dirs`: folders where declared datasets may already be (cache, offline mirror);
    a file found there must match its declared sha256 and size."""
    ctx = Context(tree)
    spec = {"course": {}, "modules": [], "lessons": {}, "exercises": {}}
    if "course.toml" not in tree.files:
        ctx.error("course.toml", 1, "missing: every course folder has a course.toml at its root")
        return spec, ctx.problems
    doc = ctx.toml("course.toml")
    if doc is None:
        return spec, ctx.problems
    course = doc.data
    schema.check_table(
        course, schema.COURSE, file="course.toml", line_of=doc.line, path=(), problems=ctx.problems, where="course.toml"
    )
    if "slug" in course:
        ctx.slug(course["slug"], "course.toml", doc.line(("slug",)), "course slug")
    datasets = _datasets(ctx, doc, course.get("datasets") or [])
    _verify_local_datasets(ctx, datasets, dataset_dirs)
    if isinstance(course.get("tutor"), dict):
        schema.check_table(
            course["tutor"],
            schema.TUTOR,
            file="course.toml",
            line_of=doc.line,
            path=("tutor",),
            problems=ctx.problems,
            where="[tutor]",
        )
        _tutor_endpoint(ctx, doc, course)
    spec["course"] = {
        "slug": course.get("slug", ""),
        "title": course.get("title", ""),
        "summary": course.get("summary", ""),
        "authors": course.get("authors") or [],
        "label": course.get("label", ""),
        "license": course.get("license", ""),
        "datasets": datasets,
        "tutor": course.get("tutor") or {},
    }

    module_dirs = course.get("modules") or []
    if not isinstance(module_dirs, list):
        module_dirs = []
    present = tree.dirs("modules")
    for extra in sorted(set(present) - set(module_dirs)):
        ctx.error(f"modules/{extra}/module.toml", 1, f"module folder {extra!r} is not listed in course.toml modules")
    seen_dirs = set()
    for name in module_dirs:
        line = doc.line(("modules",))
        if name in seen_dirs:
            ctx.error("course.toml", line, f"module {name!r} is listed twice")
            continue
        seen_dirs.add(name)
        if not isinstance(name, str) or name not in present:
            ctx.error("course.toml", line, f"module folder modules/{name}/ does not exist")
            continue
        module = _module(ctx, name, spec, datasets)
        if module:
            spec["modules"].append(module)

    cross_checks(ctx, spec)
    value_check_warnings(ctx, spec)
    starter_leaks(ctx, spec)
    ctx.problems.sort(key=lambda p: (p.file, p.line))
    spec["warnings"] = sorted(ctx.warnings, key=lambda p: (p.file, p.line))
    return spec, ctx.problems


def _datasets(ctx, doc, items) -> dict:
    out = {}
    if not isinstance(items, list):
        return out
    for i, item in enumerate(items):
        path = ("datasets", i)
        schema.check_table(
            item,
            schema.DATASET,
            file="course.toml",
            line_of=doc.line,
            path=path,
            problems=ctx.problems,
            where="[[datasets]]",
        )
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            continue
        if item["name"] in out:
            ctx.error("course.toml", doc.line(path), f"dataset {item['name']!r} is declared twice")
        sha = item.get("sha256", "")
        if isinstance(sha, str) and not re.fullmatch(r"[0-9a-f]{64}", sha):
            ctx.error(
                "course.toml",
                doc.line((*path, "sha256")),
                f"dataset {item['name']}: sha256 must be 64 lowercase hex digits",
            )
        # The rules workers fetch by live in gpu_runner (the one place that fetches datasets).
        from gpu_runner.datasets import name_problem
        from gpu_runner.fetch import url_problem

        problem = name_problem(item["name"])
        if problem:
            ctx.error("course.toml", doc.line((*path, "name")), f"dataset {item['name']!r}: {problem}")
        url = item.get("url", "")
        problem = url_problem(url) if isinstance(url, str) else None
        if problem:
            ctx.error("course.toml", doc.line((*path, "url")), f"dataset {item['name']}: url: {problem}")
        if isinstance(item.get("size"), int) and item["size"] <= 0:
            ctx.error("course.toml", doc.line((*path, "size")), f"dataset {item['name']}: size must be positive")
        out[item["name"]] = {**item, "_line": doc.line((*path, "sha256"))}
    return out


def _verify_local_datasets(ctx, datasets: dict, dirs) -> None:
    for name, item in datasets.items():
        for folder in dirs:
            candidate = Path(folder) / Path(name).name if folder else None
            if not candidate or not candidate.is_file():
                continue
            data = candidate.read_bytes()
            digest = hashlib.sha256(data).hexdigest()
            if isinstance(item.get("sha256"), str) and digest != item["sha256"]:
                ctx.error(
                    "course.toml",
                    item["_line"],
                    f"dataset {name}: {candidate} has sha256 {digest}, not the declared {item['sha256']}",
                )
            elif isinstance(item.get("size"), int) and len(data) != item["size"]:
                ctx.error(
                    "course.toml",
                    item["_line"],
                    f"dataset {name}: {candidate} is {len(data)} bytes, not the declared {item['size']}",
                )
            break


def _module(ctx: Context, name: str, spec: dict, datasets: dict) -> dict | None:
    base = f"modules/{name}"
    path = f"{base}/module.toml"
    if path not in ctx.tree.files:
        ctx.error(path, 1, "missing module.toml (title and item order of the module)")
        return None
    doc = ctx.toml(path)
    if doc is None:
        return None
    data = doc.data
    schema.check_table(
        data, schema.MODULE, file=path, line_of=doc.line, path=(), problems=ctx.problems, where="module.toml"
    )
    slug = data.get("slug") or strip_number(name)
    ctx.slug(slug, path, doc.line(("slug",)), "module slug")
    module = {
        "slug": slug,
        "title": data.get("title", ""),
        "summary": data.get("summary", ""),
        "path": base,
        "items": [],
    }

    lessons_here = {}
    for rel in sorted(ctx.tree.under(f"{base}/lessons")):
        lesson_path = f"{base}/lessons/{rel}"
        if "/" in rel or not rel.endswith(".md"):
            ctx.error(lesson_path, 1, "lessons/ holds only .md files")
            continue
        lesson = _lesson(ctx, lesson_path, slug)
        if lesson:
            if lesson["slug"] in spec["lessons"] or lesson["slug"] in lessons_here:
                other = (spec["lessons"].get(lesson["slug"]) or lessons_here[lesson["slug"]])["path"]
                ctx.error(lesson_path, 1, f"duplicate lesson slug {lesson['slug']!r} (also used by {other})")
                continue
            lessons_here[lesson["slug"]] = lesson
    exercises_here = {}
    for folder in ctx.tree.dirs(f"{base}/exercises"):
        exercise = validate_exercise(ctx, f"{base}/exercises/{folder}", folder, slug, datasets)
        if exercise:
            if exercise["slug"] in spec["exercises"] or exercise["slug"] in exercises_here:
                ctx.error(
                    f"{base}/exercises/{folder}/exercise.toml", 1, f"duplicate exercise slug {exercise['slug']!r}"
                )
                continue
            exercises_here[exercise["slug"]] = exercise
    stray = [p for p in ctx.tree.under(f"{base}/exercises") if "/" not in p]
    for rel in stray:
        ctx.error(f"{base}/exercises/{rel}", 1, "exercises/ holds one folder per exercise")

    items = data.get("items") if isinstance(data.get("items"), list) else []
    listed = set()
    for item in items:
        line = doc.line(("items",))
        if not isinstance(item, str) or ":" not in item:
            ctx.error(path, line, f'item {item!r} must look like "lesson:slug" or "exercise:slug"')
            continue
        kind, item_slug = item.split(":", 1)
        if (kind, item_slug) in listed:
            ctx.error(path, line, f"item {item!r} is listed twice")
            continue
        listed.add((kind, item_slug))
        if kind == "lesson":
            if item_slug not in lessons_here:
                ctx.error(
                    path, line, f"lesson {item_slug!r} is listed but {base}/lessons/ has no lesson with that slug"
                )
                continue
        elif kind == "exercise":
            if item_slug not in exercises_here:
                ctx.error(
                    path, line, f"exercise {item_slug!r} is listed but {base}/exercises/ has no exercise with that slug"
                )
                continue
        else:
            ctx.error(path, line, f"unknown item kind {kind!r} (use lesson: or exercise:)")
            continue
        module["items"].append({"kind": kind, "slug": item_slug})
    for lesson_slug, lesson in lessons_here.items():
        if ("lesson", lesson_slug) not in listed:
            ctx.error(lesson["path"], 1, f"lesson {lesson_slug!r} is not listed in {path} items")
        spec["lessons"][lesson_slug] = lesson
    for exercise_slug, exercise in exercises_here.items():
        if ("exercise", exercise_slug) not in listed:
            ctx.error(
                f"{exercise['path']}/exercise.toml", 1, f"exercise {exercise_slug!r} is not listed in {path} items"
            )
        spec["exercises"][exercise_slug] = exercise
    return module
