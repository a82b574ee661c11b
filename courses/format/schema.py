"""Key-by-key schemas for course.toml, module.toml, exercise.toml and lesson front matter.

Each schema maps a key to (expected type, required, description). Unknown keys are errors (a
typo like `wal_seconds` must not be silently ignored).
"""

from courses.format.tree import Problem

ANY = object()

COURSE = {
    "slug": (str, True, "URL name of the course (lowercase letters, digits, hyphens)"),
    "title": (str, True, "course title"),
    "summary": (str, False, "one-paragraph description"),
    "authors": (list, False, "list of author names"),
    "label": (str, False, "a human version label, e.g. 2026.11"),
    "license": (str, False, "licence of the course content"),
    "modules": (list, True, "module folder names under modules/, in order"),
    "datasets": (list, False, "[[datasets]] tables"),
    "tutor": (dict, False, "[tutor] overrides"),
}
DATASET = {
    "name": (str, True, "file name the exercises open"),
    "url": (str, True, "where to download it"),
    "sha256": (str, True, "64 hex digits"),
    "size": (int, True, "size in bytes"),
    "license": (str, False, "licence and origin"),
}
TUTOR = {
    "model": (str, False, "model name for this course"),
    "base_url": (str, False, "OpenAI-compatible endpoint for this course (needs api_key_env)"),
    "api_key_env": (str, False, "environment variable holding the key of this course's own endpoint"),
    "quota": (int, False, "questions a learner can ask before waiting"),
    "refill_seconds": (int, False, "seconds until one question comes back"),
}


def tutor_key_env(slug: str) -> str:
    """The one environment variable a course's own tutor endpoint key may come from. Bound to
    the slug (slugs have no underscores, so no two courses share a name), so a course can read
    neither the platform's key nor another course's."""
    return "COURSE_" + slug.upper().replace("-", "_") + "_TUTOR_KEY"


MODULE = {
    "slug": (str, False, "URL name (default: folder name without its number)"),
    "title": (str, True, "module title"),
    "summary": (str, False, "one-paragraph description"),
    "items": (list, True, 'order of lessons and exercises: ["lesson:slug", "exercise:slug", ...]'),
}
FRONT_MATTER = {
    "title": (str, True, "lesson title"),
    "slug": (str, False, "URL name (default: file name without number and .md)"),
    "minutes": (int, False, "estimated reading time"),
    "objectives": (list, False, "what the learner will be able to do"),
    "summary": (str, False, "one-line description"),
    "scoreboard": (list, False, "rows of the learner's own numbers: {exercise, metric, label, reference}"),
    "figures": (list, False, "figures from the learner's own latest run: {exercise, name, label, about}"),
}
LESSON_FIGURE = {
    "exercise": (str, True, "exercise slug whose tests draw the figure"),
    "name": (str, True, "the figure's name in check.heatmap / check.scatter / check.graph"),
    "label": (str, False, "caption (default: the name)"),
    "about": (str, False, "one sentence on what to look for, shown with the figure"),
}
SCOREBOARD_ROW = {
    "exercise": (str, True, "exercise slug whose runs report the metric"),
    "metric": (str, True, "name of a check.metric series; its last value is the learner's number"),
    "label": (str, True, "what the row shows, e.g. the model"),
    "reference": ((int, float), False, "the figure to compare with (the reference solution's or a paper's)"),
    "source": (str, False, "where the reference figure comes from"),
}
EXERCISE = {
    "slug": (str, False, "URL name (default: folder name)"),
    "title": (str, True, "exercise title"),
    "lesson": (str, False, "slug of the lesson this exercise belongs to"),
    "prompt": (str, True, "Markdown file with the task, relative to the exercise folder"),
    "files": (list, True, "files the learner edits (in starter/ and solution/)"),
    "support": (list, False, "read-only files from starter/ given to the learner"),
    "shared": (list, False, "read-only files from the course's shared/ folder given to the learner"),
    "uses": (list, False, "[[uses]]: files taken from the learner's own earlier exercise"),
    "depends_on": (list, False, "exercises to pass first"),
    "starter_from": (str, False, "earlier exercise whose passing code (same file names) prefills the editor"),
    "if_not_passed": (
        str,
        False,
        'what learners who have not passed a prerequisite get: "lock" (default) or "reference"',
    ),
    "seed": (int, False, "seed for every test's random numbers"),
    "max_file_kb": (int, False, "largest learner file accepted, in KiB"),
    "resources": (dict, False, "[resources]"),
    "cpu_fallback": (dict, False, "[cpu_fallback] for GPU exercises"),
    "config": (dict, False, "parameters handed to tests as check.config"),
    "full": (dict, False, "[full]: the full-size training run of `course full` (never run by graders)"),
    "tests": (dict, False, "[tests.<test_function>] settings"),
    "mutants": (dict, False, "[mutants.<name>] settings"),
}
USES = {
    "exercise": (str, True, "earlier exercise slug"),
    "files": (list, True, "its files to include"),
    "if_not_passed": (str, False, 'overrides the exercise\'s if_not_passed for this entry: "lock" or "reference"'),
}
RESOURCES = {
    "device": (str, False, "cpu or gpu"),
    "wall_seconds": ((int, float), False, "wall-clock limit"),
    "memory_mb": (int, False, "memory limit"),
    "gpu_memory_mb": (int, False, "GPU memory the job may use"),
    "disk_mb": (int, False, "size of the writable work folder"),
    "processes": (int, False, "process/thread limit"),
    "threads": (int, False, "torch intra-op threads (default 1)"),
    "preload": (list, False, 'modules to import ahead of time, e.g. ["torch"]'),
    "datasets": (list, False, "dataset names from course.toml the tests read"),
}
CPU_FALLBACK = {
    "allowed": (bool, True, "whether a CPU may grade this GPU exercise"),
    "wall_seconds": ((int, float), False, "wall-clock limit on a CPU"),
    "memory_mb": (int, False, "memory limit on a CPU"),
    "threads": (int, False, "torch threads on a CPU"),
    "config": (dict, False, "check.config overrides on a CPU (a smaller model, its own threshold)"),
}
FULL = {
    "config": (dict, False, "check.config overrides for the full-size run (more steps, the lecture's target)"),
    "wall_seconds": ((int, float), False, "wall-clock limit of the full-size run"),
    "memory_mb": (int, False, "memory limit of the full-size run"),
    "threads": (int, False, "torch threads for the full-size run"),
    "about": (str, False, "what the full-size run shows, e.g. the figure it should reach"),
}
TEST = {
    "title": (str, False, "name shown to learners"),
    "points": ((int, float), False, "points (default 1)"),
    "depends_on": (list, False, "tests that must pass first"),
    "visibility": (str, False, "visible or hidden (default from the folder)"),
    "message": (str, False, "shown to the learner when it fails"),
    "timeout": ((int, float), False, "seconds this test may take"),
    "hints": (list, False, "hint ladder, gentlest first"),
}
MUTANT = {
    "replaces": (str, False, "learner file a single-file mutant stands in for"),
    "fails": (list, False, "tests this mutant must fail"),
    "about": (str, False, "the mistake it models"),
}


def type_name(t) -> str:
    if isinstance(t, tuple):
        return " or ".join(type_name(x) for x in t)
    return {
        str: "a string",
        int: "an integer",
        float: "a number",
        list: "a list",
        dict: "a table",
        bool: "true/false",
    }.get(t, str(t))


def check_table(
    table: dict, schema: dict, *, file: str, line_of, path: tuple, problems: list[Problem], where: str
) -> None:
    """Report unknown keys, missing required keys and wrong types in one TOML table."""
    if not isinstance(table, dict):
        problems.append(Problem(file, line_of(path), f"{where} must be a table"))
        return
    for key, value in table.items():
        if key not in schema:
            near = [k for k in schema if k[:3] == key[:3]]
            hint = f" (did you mean {near[0]!r}?)" if near else f" (known keys: {', '.join(sorted(schema))})"
            problems.append(Problem(file, line_of((*path, key)), f"unknown key {key!r} in {where}{hint}"))
            continue
        expected = schema[key][0]
        if expected is ANY:
            continue
        ok = isinstance(value, expected) and not (expected in (int, (int, float)) and isinstance(value, bool))
        if not ok:
            problems.append(
                Problem(
                    file,
                    line_of((*path, key)),
                    f"{where}: {key} must be {type_name(expected)}, not {type(value).__name__}",
                )
            )
    for key, (_, required, description) in schema.items():
        if required and key not in table:
            problems.append(Problem(file, line_of(path), f"{where} is missing required key {key!r} ({description})"))
