"""Validation of one exercise folder:

    exercise.toml   prompt.md   starter/   solution/   tests/visible/*.py   tests/hidden/*.py
    mutants/<name>.py or mutants/<name>/<learner file paths>

Tests are plain functions `def test_x(check): ...`, found with `ast` (never executed here).
"""

import ast

from courses import prerequisites
from courses.format import pyparse, schema
from courses.format.mutants import validate_mutants
from courses.format.tree import check_relative

DEFAULTS = {
    "device": "cpu",
    "wall_seconds": 20,
    "memory_mb": 1024,
    "gpu_memory_mb": 0,
    "disk_mb": 256,
    "processes": 128,
}
MAX_WALL = 900


def bundle(files: dict[str, str]) -> dict:
    """Split an exercise folder's files (paths relative to the folder) into starter, solution
    (paths relative to those folders), tests and mutants (paths relative to the exercise)."""
    return {
        part: {
            p[len(part) + 1 :] if part in ("starter", "solution") else p: t
            for p, t in files.items()
            if p.startswith(part + "/")
        }
        for part in ("starter", "solution", "tests", "mutants")
    }


def _discover_tests(ctx, base: str, visibility: str) -> list[dict]:
    found = []
    for rel, data in sorted(ctx.tree.under(f"{base}/tests/{visibility}").items()):
        path = f"{base}/tests/{visibility}/{rel}"
        if not rel.endswith(".py"):
            continue
        try:
            tree = pyparse.parse(data.decode("utf-8"), filename=path)
        except SyntaxError as exc:
            ctx.error(path, exc.lineno or 1, f"test file does not parse: {exc.msg}")
            continue
        except UnicodeDecodeError:
            ctx.error(path, 1, "test file is not UTF-8 text")
            continue
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name.startswith("test_"):
                if isinstance(node, ast.AsyncFunctionDef):
                    ctx.error(path, node.lineno, f"{node.name}: async tests are not supported")
                    continue
                params = [a.arg for a in node.args.args]
                if params != ["check"]:
                    ctx.error(path, node.lineno, f"{node.name} must take exactly one argument named check")
                found.append(
                    {
                        "id": node.name,
                        "function": node.name,
                        "file": f"tests/{visibility}/{rel}",
                        "visibility": visibility,
                        "line": node.lineno,
                        "path": path,
                    }
                )
    return found


def validate_exercise(ctx, base: str, folder: str, module_slug: str, datasets: dict) -> dict | None:
    toml_path = f"{base}/exercise.toml"
    if toml_path not in ctx.tree.files:
        ctx.error(toml_path, 1, "missing exercise.toml")
        return None
    doc = ctx.toml(toml_path)
    if doc is None:
        return None
    data = doc.data
    line = doc.line
    schema.check_table(
        data, schema.EXERCISE, file=toml_path, line_of=line, path=(), problems=ctx.problems, where="exercise.toml"
    )
    slug = data.get("slug") or folder
    ctx.slug(slug, toml_path, line(("slug",)), "exercise slug")

    files = [f for f in data.get("files") or [] if isinstance(f, str)] if isinstance(data.get("files"), list) else []
    support = (
        [f for f in data.get("support") or [] if isinstance(f, str)] if isinstance(data.get("support"), list) else []
    )
    if not files:
        ctx.error(toml_path, line(("files",)), "files must list at least one learner file")
    for key, names in (("files", files), ("support", support)):
        for name in names:
            problem = check_relative(name)
            if problem:
                ctx.error(toml_path, line((key,)), f"{key}: {problem}")
                continue
            if f"{base}/starter/{name}" not in ctx.tree.files:
                ctx.error(toml_path, line((key,)), f"{key}: starter/{name} does not exist")
            if key == "files" and f"{base}/solution/{name}" not in ctx.tree.files:
                ctx.error(toml_path, line((key,)), f"files: solution/{name} does not exist (the reference solution)")
    shared = [f for f in data.get("shared") or [] if isinstance(f, str)] if isinstance(data.get("shared"), list) else []
    for name in shared:
        problem = check_relative(name)
        if problem:
            ctx.error(toml_path, line(("shared",)), f"shared: {problem}")
        elif f"shared/{name}" not in ctx.tree.files:
            ctx.error(toml_path, line(("shared",)), f"shared: the course has no shared/{name}")
        elif name in files or name in support:
            ctx.error(toml_path, line(("shared",)), f"shared: {name} is also one of the exercise's own files")
    for rel in ctx.tree.under(f"{base}/solution"):
        if rel not in files:
            ctx.error(f"{base}/solution/{rel}", 1, f"solution/{rel} is not one of the exercise's files {files}")

    prompt_name = data.get("prompt") if isinstance(data.get("prompt"), str) else ""
    prompt = ""
    if prompt_name:
        problem = check_relative(prompt_name)
        prompt_path = f"{base}/{prompt_name}"
        if problem:
            ctx.error(toml_path, line(("prompt",)), f"prompt: {problem}")
        elif prompt_path not in ctx.tree.files:
            ctx.error(toml_path, line(("prompt",)), f"prompt file {prompt_name} does not exist")
        else:
            try:
                prompt = ctx.tree.text(prompt_path)
            except UnicodeDecodeError:
                ctx.error(prompt_path, 1, "file is not UTF-8 text")
            from courses import rendering

            for bad_line, message in rendering.html_problems(prompt):
                ctx.error(prompt_path, bad_line, message)

    resources = dict(DEFAULTS)
    raw_resources = data.get("resources") or {}
    if isinstance(raw_resources, dict):
        schema.check_table(
            raw_resources,
            schema.RESOURCES,
            file=toml_path,
            line_of=line,
            path=("resources",),
            problems=ctx.problems,
            where="[resources]",
        )
        resources.update({k: v for k, v in raw_resources.items() if k in schema.RESOURCES})
    if resources.get("device") not in ("cpu", "gpu"):
        ctx.error(
            toml_path,
            line(("resources", "device")),
            f'resources.device must be "cpu" or "gpu", not {resources.get("device")!r}',
        )
    wall = resources.get("wall_seconds")
    if isinstance(wall, (int, float)) and not 1 <= wall <= MAX_WALL:
        ctx.error(
            toml_path, line(("resources", "wall_seconds")), f"resources.wall_seconds must be between 1 and {MAX_WALL}"
        )
    for name in resources.get("datasets") or []:
        if name not in datasets:
            ctx.error(
                toml_path,
                line(("resources", "datasets")),
                f"dataset {name!r} is not declared in course.toml [[datasets]]",
            )
    for module in resources.get("preload") or []:
        if module not in ("torch", "numpy"):
            ctx.error(
                toml_path,
                line(("resources", "preload")),
                f"preload: {module!r} is not a module the runner can preload (torch, numpy)",
            )

    fallback = data.get("cpu_fallback")
    if isinstance(fallback, dict):
        schema.check_table(
            fallback,
            schema.CPU_FALLBACK,
            file=toml_path,
            line_of=line,
            path=("cpu_fallback",),
            problems=ctx.problems,
            where="[cpu_fallback]",
        )
        if resources.get("device") != "gpu":
            ctx.error(
                toml_path,
                line(("cpu_fallback",)),
                '[cpu_fallback] only applies to exercises with resources.device = "gpu"',
            )

    full = data.get("full")
    if isinstance(full, dict):
        schema.check_table(
            full, schema.FULL, file=toml_path, line_of=line, path=("full",), problems=ctx.problems, where="[full]"
        )

    policy = _policy(ctx, toml_path, line, data, ("if_not_passed",), "if_not_passed")
    uses = []
    for i, use in enumerate(data.get("uses") or [] if isinstance(data.get("uses"), list) else []):
        schema.check_table(
            use, schema.USES, file=toml_path, line_of=line, path=("uses", i), problems=ctx.problems, where="[[uses]]"
        )
        if isinstance(use, dict) and isinstance(use.get("exercise"), str) and isinstance(use.get("files"), list):
            uses.append(
                {
                    "exercise": use["exercise"],
                    "files": [f for f in use["files"] if isinstance(f, str)],
                    "if_not_passed": _policy(
                        ctx, toml_path, line, use, ("uses", i, "if_not_passed"), "[[uses]] if_not_passed", policy
                    ),
                }
            )

    tests = _discover_tests(ctx, base, "visible") + _discover_tests(ctx, base, "hidden")
    if not tests:
        ctx.error(
            toml_path, 1, "the exercise has no tests (tests/visible/*.py or tests/hidden/*.py with def test_...(check))"
        )
    if not any(t["visibility"] == "visible" for t in tests):
        ctx.error(toml_path, 1, "the exercise needs at least one visible test, so Run gives feedback")
    by_id = {}
    for test in tests:
        if test["id"] in by_id:
            ctx.error(test["path"], test["line"], f"test {test['id']} is also defined in {by_id[test['id']]['path']}")
        by_id.setdefault(test["id"], test)
    settings = data.get("tests") if isinstance(data.get("tests"), dict) else {}
    for tid, conf in settings.items():
        path = ("tests", tid)
        if tid not in by_id:
            ctx.error(toml_path, line(path), f"[tests.{tid}]: there is no test function {tid} in tests/")
            continue
        schema.check_table(
            conf, schema.TEST, file=toml_path, line_of=line, path=path, problems=ctx.problems, where=f"[tests.{tid}]"
        )
        if not isinstance(conf, dict):
            continue
        test = by_id[tid]
        if "visibility" in conf and conf["visibility"] not in ("visible", "hidden"):
            ctx.error(toml_path, line((*path, "visibility")), 'visibility must be "visible" or "hidden"')
        for dep in conf.get("depends_on") or []:
            if dep not in by_id:
                ctx.error(toml_path, line((*path, "depends_on")), f"depends_on: no test named {dep!r}")
        hints = conf.get("hints") or []
        if not isinstance(hints, list) or not all(isinstance(h, str) and h.strip() for h in hints):
            ctx.error(toml_path, line((*path, "hints")), "hints must be a list of non-empty strings")
            hints = []
        test.update({k: v for k, v in conf.items() if k in schema.TEST and k != "hints"})
        test["hints"] = [h for h in hints if isinstance(h, str)] if isinstance(hints, list) else []
    _check_test_cycles(ctx, toml_path, line, by_id)

    mutants = validate_mutants(ctx, base, toml_path, line, data, files, by_id)
    config = data.get("config") if isinstance(data.get("config"), dict) else {}
    seed = data.get("seed", 1337)
    depends_on = (
        [d for d in data.get("depends_on") or [] if isinstance(d, str)]
        if isinstance(data.get("depends_on"), list)
        else []
    )
    lines = {k: line((k,)) for k in ("lesson", "depends_on", "uses", "files", "starter_from")}
    ordered_tests = [
        {
            "id": t["id"],
            "function": t["function"],
            "file": t["file"],
            "visibility": t.get("visibility", "visible"),
            "title": t.get("title") or t["id"].removeprefix("test_").replace("_", " ").capitalize(),
            "points": _number(t.get("points"), 1),
            "depends_on": t.get("depends_on") or [],
            "message": t.get("message", ""),
            "timeout": t.get("timeout"),
            "hints": t.get("hints") or [],
            "line": t["line"],
        }
        for t in tests
    ]
    return {
        "slug": slug,
        "title": data.get("title", ""),
        "lesson": data.get("lesson", ""),
        "module": module_slug,
        "path": base,
        "prompt": prompt,
        "prompt_path": f"{base}/{prompt_name}" if prompt_name else "",
        "files": files,
        "support": support,
        "shared": shared,
        "uses": uses,
        "depends_on": depends_on,
        "starter_from": data.get("starter_from", "") if isinstance(data.get("starter_from"), str) else "",
        "if_not_passed": policy,
        "seed": seed if isinstance(seed, int) else 1337,
        "max_file_kb": data.get("max_file_kb", 64) if isinstance(data.get("max_file_kb", 64), int) else 64,
        "resources": resources,
        "cpu_fallback": fallback if isinstance(fallback, dict) else None,
        "full": full if isinstance(full, dict) else None,
        "config": config,
        "datasets": [
            {k: v for k, v in datasets[n].items() if not k.startswith("_")}
            for n in resources.get("datasets") or []
            if n in datasets
        ],
        "tests": ordered_tests,
        "mutants": mutants,
        "points": sum(t["points"] for t in ordered_tests),
        "_lines": lines,
    }


def _policy(ctx, toml_path, line, table, path, where, default=prerequisites.DEFAULT_POLICY) -> str:
    """An `if_not_passed` value: one of the known policies, else reported (and the default)."""
    value = table.get("if_not_passed", default) if isinstance(table, dict) else default
    if value not in prerequisites.POLICIES:
        known = ", ".join(f'"{p}"' for p in prerequisites.POLICIES)
        ctx.error(toml_path, line(path), f"{where} must be one of {known}, not {value!r}")
        return default
    return value


def _number(value, default):
    """A number from validated TOML, or the default when the author's value was reported wrong."""
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else default


def _check_test_cycles(ctx, toml_path, line, by_id):
    state = {}

    def visit(tid, trail):
        if state.get(tid) == "done":
            return
        if state.get(tid) == "active":
            ctx.error(
                toml_path, line(("tests", tid, "depends_on")), f"depends_on forms a cycle: {' -> '.join([*trail, tid])}"
            )
            return
        state[tid] = "active"
        for dep in by_id[tid].get("depends_on") or []:
            if dep in by_id:
                visit(dep, [*trail, tid])
        state[tid] = "done"

    for tid in by_id:
        visit(tid, [])
