"""`course validate`: a starter must never contain another exercise's solution.

A learner can read every starter file (and every `shared/` file) of an exercise they can open,
so a starter that carries an earlier exercise's finished code hands that exercise's answer to
anyone who skips it. The check compares code structurally, not textually:

- every function and method (at any depth: nested `_backward` closures too) of every solution
  file is normalised: its docstring dropped, comments and layout gone (it is the AST), and its
  local names (parameters, assigned names, nested functions) renamed in order of appearance, so
  renaming `out` to `result` does not hide a copy;
- bodies that the same exercise's starter already contains are given code, not solution, and
  so is code the course shows every learner in a lesson or prompt code block; both are ignored,
  as are trivial bodies (`return self + other`, `raise NotImplementedError`);
- a starter (or shared) function whose normalised body equals what remains is reported at its
  own line, naming the exercise and solution line it comes from.
"""

import ast
import hashlib

from courses.format import pyparse

# Bodies with fewer statement/expression nodes than this are too small to be anyone's solution
# (`return self * -1` has 5, the two-line `_backward` of a product 16).
MIN_NODES = 12
_COUNTED = (ast.stmt, ast.expr, ast.excepthandler, ast.comprehension, ast.keyword, ast.arg)


def _without_docstring(body: list) -> list:
    first = body[0] if body else None
    if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
        return body[1:]
    return body


def _local_names(func) -> dict[str, str]:
    """Parameters, then names bound inside `func`, in order of first appearance."""
    args = func.args
    names = [a.arg for a in [*args.posonlyargs, *args.args, *args.kwonlyargs]]
    names += [a.arg for a in (args.vararg, args.kwarg) if a is not None]
    for node in ast.walk(func):
        if node is func:
            continue
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.append(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.append(node.name)
        elif isinstance(node, ast.arg):
            names.append(node.arg)
    seen = {}
    for name in names:
        seen.setdefault(name, f"_{len(seen)}")
    return seen


class _Rename(ast.NodeTransformer):
    def __init__(self, mapping):
        self.mapping = mapping

    def visit_Name(self, node):
        return ast.copy_location(ast.Name(id=self.mapping.get(node.id, node.id), ctx=node.ctx), node)

    def visit_arg(self, node):
        return ast.arg(arg=self.mapping.get(node.arg, node.arg), annotation=None)

    def visit_FunctionDef(self, node):
        node.name = self.mapping.get(node.name, node.name)
        node.body = _without_docstring(node.body)
        self.generic_visit(node)
        return node

    visit_AsyncFunctionDef = visit_FunctionDef


def _fingerprint(func) -> tuple[str, int]:
    """(digest of the normalised function, size of its body in counted nodes)."""
    body = _without_docstring(func.body)
    size = sum(isinstance(n, _COUNTED) for stmt in body for n in ast.walk(stmt))
    clone = pyparse.parse(ast.unparse(func)).body[0]  # a private copy to rename in place
    clone = _Rename(_local_names(clone)).visit(clone)
    clone.name = "_"
    clone.decorator_list = []
    clone.returns = None
    dumped = ast.dump(ast.Module(body=_without_docstring(clone.body), type_ignores=[]), include_attributes=False)
    dumped += ast.dump(clone.args, include_attributes=False)
    return hashlib.sha256(dumped.encode()).hexdigest(), size


def _functions(source: str):
    """(qualified name, line, fingerprint, size) for every function in `source`, outermost first."""
    try:
        tree = pyparse.parse(source)
    except (SyntaxError, ValueError):
        return []
    found = []

    def walk(node, prefix):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                name = f"{prefix}{child.name}"
                found.append((name, child.lineno, child.end_lineno or child.lineno, *_fingerprint(child)))
                walk(child, f"{name}.")
            elif isinstance(child, ast.ClassDef):
                walk(child, f"{prefix}{child.name}.")
            else:
                walk(child, prefix)

    walk(tree, "")
    return found


def _texts(tree, prefix: str) -> dict[str, str]:
    out = {}
    for rel, data in tree.under(prefix).items():
        if rel.endswith(".py"):
            try:
                out[rel] = data.decode("utf-8")
            except UnicodeDecodeError:
                continue
    return out


def _shown_code(spec: dict) -> set[str]:
    """Fingerprints of functions in the Python code blocks of lessons and prompts: code every
    learner is shown is not a secret."""
    from courses.rendering import markdown_parser

    md = markdown_parser()
    texts = [lesson.get("body") or "" for lesson in (spec.get("lessons") or {}).values()]
    texts += [ex.get("prompt") or "" for ex in (spec.get("exercises") or {}).values()]
    shown = set()
    for text in texts:
        for token in md.parse(text):
            if token.type in ("fence", "code_block") and (token.info or "python").split()[0] in ("python", "py"):
                shown |= {fp for *_, fp, _size in _functions(token.content)}
    return shown


def starter_leaks(ctx, spec: dict) -> None:
    """Report starter and shared files that contain another exercise's solution code."""
    exercises = spec.get("exercises") or {}
    shown = _shown_code(spec)
    order = [i["slug"] for m in spec.get("modules") or [] for i in m["items"] if i["kind"] == "exercise"]
    order += [slug for slug in exercises if slug not in order]
    # fingerprint -> (exercise, solution file, line): what each exercise's learner must write.
    solutions = {}
    for slug in order:
        ex = exercises.get(slug)
        if ex is None:
            continue
        given = shown | {
            fp for text in _texts(ctx.tree, f"{ex['path']}/starter").values() for *_, fp, _size in _functions(text)
        }
        for rel, text in sorted(_texts(ctx.tree, f"{ex['path']}/solution").items()):
            for _name, line, _end, fp, size in _functions(text):
                if size >= MIN_NODES and fp not in given:
                    solutions.setdefault(fp, (slug, rel, line))
    if not solutions:
        return
    readers = [(slug, f"{exercises[slug]['path']}/starter") for slug in order if slug in exercises]
    readers.append((None, "shared"))
    for owner, prefix in readers:
        for rel, text in sorted(_texts(ctx.tree, prefix).items()):
            reported_until = 0
            for name, line, end, fp, _size in _functions(text):
                source = solutions.get(fp)
                if source is None or source[0] == owner or line <= reported_until:
                    continue
                other, solution_file, solution_line = source
                where = "this starter" if owner else "this shared file"
                ctx.error(
                    f"{prefix}/{rel}",
                    line,
                    f"{name} is the reference solution of exercise {other!r} "
                    f"(solution/{solution_file}:{solution_line}): {where} must not contain another exercise's "
                    "solution; leave a stub, or use starter_from so learners start from their own passing code",
                )
                reported_until = end  # one report per copied function, not one per nested closure
