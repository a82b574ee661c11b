"""Warnings about grades that learner code could forge (docs/course-format.md, "Checks that cannot
be forged").

Learner code runs in the same process as the tests, so whatever a test decides there (a
`check.true`, a bound on a difference the test computed itself) learner code can decide too. Only a
value check, `check(name, value)`, is judged outside the sandbox against the reference solution's
value for the same test. So:

- a test that carries points should make at least one value check (in its own body, or in a
  helper function of the same file that it hands `check` to);
- an exercise's pass should rest on a hidden test's value checks, whose expected values learners
  never see.

Found with `ast`, never by running the tests. These are warnings: validation still succeeds.
"""

import ast

from courses.format import pyparse

# check.<attr>(...) calls that record something other than a value compared with the reference.
NOT_VALUE = {"true", "at_most", "at_least", "metric", "progress", "data"}


def _module_functions(tree: ast.Module) -> dict[str, ast.FunctionDef]:
    return {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef)}


def _params(fn: ast.FunctionDef) -> list[str]:
    return [a.arg for a in (*fn.args.posonlyargs, *fn.args.args)]


def makes_value_check(fn: ast.FunctionDef, functions: dict, aliases: set[str], seen: frozenset = frozenset()) -> bool:
    """Whether `fn` (in which the check object goes by the names in `aliases`) calls
    `check(...)` itself, or passes the check object to a function of the same file that does."""
    for node in ast.walk(fn):
        if not isinstance(node, ast.Call):
            continue
        if isinstance(node.func, ast.Name) and node.func.id in aliases:
            return True
        if not (isinstance(node.func, ast.Name) and node.func.id in functions) or node.func.id in seen:
            continue
        helper = functions[node.func.id]
        params = _params(helper)
        passed = {params[i] for i, arg in enumerate(node.args[: len(params)]) if _is_alias(arg, aliases)}
        passed |= {kw.arg for kw in node.keywords if kw.arg and _is_alias(kw.value, aliases)}
        if passed and makes_value_check(helper, functions, passed, seen | {fn.name}):
            return True
    return False


def _is_alias(node, aliases) -> bool:
    return isinstance(node, ast.Name) and node.id in aliases


def _parsed(ctx, path: str, cache: dict):
    if path not in cache:
        try:
            cache[path] = pyparse.parse(ctx.tree.text(path), filename=path)
        except (SyntaxError, UnicodeDecodeError, KeyError):
            cache[path] = None  # reported as an error by the exercise checks
    return cache[path]


def value_check_warnings(ctx, spec: dict) -> None:
    """Add a warning to `ctx` for each graded test without a value check and each exercise
    without a hidden one."""
    cache: dict = {}
    for ex in spec["exercises"].values():
        hidden_value_check = False
        for test in ex["tests"]:
            path = f"{ex['path']}/{test['file']}"
            tree = _parsed(ctx, path, cache)
            if tree is None:
                continue
            functions = _module_functions(tree)
            fn = functions.get(test["function"])
            if fn is None:
                continue
            params = _params(fn)
            valued = bool(params) and makes_value_check(fn, functions, {params[0]})
            if valued and test["visibility"] == "hidden":
                hidden_value_check = True
            if not valued and test["points"] > 0:
                ctx.warn(
                    path,
                    test["line"],
                    f"{test['id']} carries {test['points']:g} point(s) but makes no value check: learner "
                    "code can forge check.true/at_most/at_least; add check(name, value) on what its code returns",
                )
        if ex["tests"] and not hidden_value_check:
            ctx.warn(
                f"{ex['path']}/exercise.toml",
                1,
                f"exercise {ex['slug']!r} has no hidden test with a value check: add one in tests/hidden/ "
                "that checks the learner's values on inputs they never see",
            )
