"""Mutants as patches: `mutants/<name>.patch` is a unified diff against the reference solution,
so a mutant file holds only its mistake (and reviewing it shows exactly what is wrong).

    --- solution/micrograd/engine.py
    +++ mutant/micrograd/engine.py
    @@ -22,2 +22,2 @@
    -            self.grad += out.grad
    +            self.grad = out.grad

Each `--- solution/<path>` section patches one of the exercise's files. Hunks are applied in order
and their context and removed lines must match the solution exactly.
"""

import re

HUNK = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")


class PatchError(ValueError):
    def __init__(self, line: int, message: str):
        super().__init__(message)
        self.line, self.message = line, message


def parse(text: str) -> dict[str, list[tuple[int, int, list[str]]]]:
    """{target path: [(patch line of the hunk, old start, hunk lines)]}."""
    files: dict[str, list] = {}
    target = None
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("--- "):
            path = line[4:].split("\t")[0].strip()
            if not path.startswith("solution/"):
                raise PatchError(i + 1, "a mutant patch's --- line names a solution file, like --- solution/engine.py")
            target = path[len("solution/") :]
            files.setdefault(target, [])
            i += 2 if i + 1 < len(lines) and lines[i + 1].startswith("+++ ") else 1
            continue
        match = HUNK.match(line)
        if match:
            if target is None:
                raise PatchError(i + 1, "hunk before any --- solution/<file> line")
            body, j = [], i + 1
            while (
                j < len(lines) and lines[j][:1] in (" ", "-", "+", "\\") and not lines[j].startswith(("--- ", "+++ "))
            ):
                if not lines[j].startswith("\\"):
                    body.append(lines[j])
                j += 1
            while j < len(lines) and lines[j] == "":
                body.append(" ")  # a blank context line whose leading space an editor removed
                j += 1
            files[target].append((i + 1, int(match.group(1)), body))
            i = j
            continue
        if line.strip() and target is None:
            i += 1  # preamble text before the first file is allowed (a description of the mistake)
            continue
        if line.strip():
            raise PatchError(i + 1, f"unexpected line in a patch: {line[:60]!r}")
        i += 1
    if not files:
        raise PatchError(1, "the patch changes no file (it needs --- solution/<file> and @@ hunks)")
    return files


def apply(source: str, hunks: list[tuple[int, int, list[str]]]) -> str:
    """`source` with the hunks applied; PatchError (with the patch's line) when one does not match."""
    old = source.splitlines()
    out, cursor = [], 0
    for patch_line, start, body in hunks:
        position = max(start - 1, 0)
        if position < cursor:
            raise PatchError(patch_line, "hunks overlap or are out of order")
        out.extend(old[cursor:position])
        cursor = position
        for line in body:
            kind, text = line[:1], line[1:]
            if kind in (" ", "-"):
                if cursor >= len(old) or old[cursor].rstrip() != text.rstrip():
                    found = old[cursor] if cursor < len(old) else "(end of file)"
                    raise PatchError(
                        patch_line,
                        f"does not apply at solution line {cursor + 1}: expected {text.strip()!r}, found {found.strip()!r}",
                    )
                if kind == " ":
                    out.append(old[cursor])
                cursor += 1
            else:
                out.append(text)
    out.extend(old[cursor:])
    return "\n".join(out) + ("\n" if source.endswith("\n") else "")
