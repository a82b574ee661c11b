"""Checks a tutor reply passes before the learner sees it (DESIGN.md §9):

- the sidecar (the model's structured note on its own reply) is split off and parsed;
- the canary from the system prompt must not appear, in any spelling or in part (canary.py);
- citations [[lesson#anchor]] must exist in the course; invalid ones are unlinked;
- every code token of the reply (reply_text.py) is compared with the reference solution (token
  n-gram overlap, minus what the starter already gives away, and whole reference lines the
  learner does not have) and run, spliced into the learner's stored submission, against its
  failing tests in the sandbox (leak_check.py); code_review.py decides what is shown.
"""

import ast
import io
import json
import re
import textwrap
import tokenize

from tutor.services import canary as canaries
from tutor.services import reply_text

SIDECAR = re.compile(r"<sidecar>(.*?)(?:</sidecar>|$)", re.S)
CITATION = re.compile(r"\[\[([a-z0-9][a-z0-9-]*(?:#[A-Za-z][\w-]*)?)\]\]")
REDACTED = (
    "*[Code removed by the tutor's safety check: it would complete the exercise for you. "
    "Try the idea in your own words first, then run the tests.]*"
)
UNCHECKED = (
    "*[Code removed: the tutor's safety check could not run just now, so this reply is shown without "
    "its code. The explanation still holds; ask again in a minute if you need the code.]*"
)
FROM_THE_EXERCISE = (
    "*[Code removed: code that would complete an exercise is checked against your own work, which the "
    "tutor can only do from that exercise's page. Ask there.]*"
)
NOTHING_GRADED = (
    "*[Code removed: the tutor checks code against your last graded Run or Submit of this exercise, "
    "and there is none yet. Run your code, then ask again.]*"
)


def split_sidecar(text: str) -> tuple[str, dict]:
    matches = list(SIDECAR.finditer(text))
    match = matches[-1] if matches else None
    if match is None:
        return text.strip(), {}
    visible = (text[: match.start()] + text[match.end() :]).strip()
    try:
        data = json.loads(match.group(1).strip())
    except ValueError:
        data = {}
    if not isinstance(data, dict):
        data = {}
    clean = {
        "failing_test": str(data.get("failing_test") or "")[:100],
        "function": str(data.get("function") or "")[:100],
        "lines": [
            int(x) for x in data.get("lines") or [] if isinstance(x, int) or (isinstance(x, str) and x.isdigit())
        ][:20],
        "citations": [str(c)[:120] for c in data.get("citations") or [] if isinstance(c, str)][:10],
        "strategy": str(data.get("strategy") or "")[:20],
    }
    return visible, clean


def canary_leaked(text: str, canary: str) -> bool:
    """The canary or a part of it, in the reply as written or as rendered (entities decoded)."""
    return canaries.leaked(text, canary) or canaries.leaked(reply_text.plain_text(text, headings=True), canary)


def check_citations(text: str, valid: set[str]) -> tuple[str, list[str], list[str]]:
    """(text with invalid citations unlinked, valid refs, invalid refs)."""
    good, bad = [], []

    def repl(match):
        ref = match.group(1)
        if ref in valid:
            good.append(ref)
            return match.group(0)
        bad.append(ref)
        return f"`{ref}`"

    return CITATION.sub(repl, text), good, bad


def code_blocks(text: str) -> list[reply_text.Code]:
    return reply_text.code_in(text)


# --- similarity with the reference ----------------------------------------------------------------
def _tokens(code: str) -> list[str]:
    out = []
    try:
        for tok in tokenize.generate_tokens(io.StringIO(textwrap.dedent(code)).readline):
            if tok.type in (
                tokenize.COMMENT,
                tokenize.NL,
                tokenize.NEWLINE,
                tokenize.INDENT,
                tokenize.DEDENT,
                tokenize.ENDMARKER,
            ):
                continue
            out.append(tok.string)
    except (tokenize.TokenError, IndentationError, SyntaxError):
        out = re.findall(r"\w+|[^\w\s]", code)
    return out


def _grams(tokens: list[str], n: int = 5) -> set[tuple]:
    return {tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1)}


def similarity(snippet: str, reference: dict, starter: dict) -> tuple[float, int]:
    """(share of the snippet's new 5-grams found in the reference, number of new 5-grams)."""
    mine = _grams(_tokens(snippet))
    given = set().union(*(_grams(_tokens(t)) for t in starter.values())) if starter else set()
    ref = set().union(*(_grams(_tokens(t)) for t in reference.values())) if reference else set()
    new = mine - given
    if not new:
        return 0.0, 0
    return len(new & ref) / len(new), len(new)


def similarity_leak(snippet: str, reference: dict, starter: dict) -> bool:
    share, size = similarity(snippet, reference, starter)
    return size >= 12 and share >= 0.5


LINE_TOKENS = 6  # a reference line this long, given whole, is a line of the answer


def _line_keys(text: str) -> set[tuple]:
    keys = set()
    for line in re.split(r"[\n;]", text):
        tokens = tuple(_tokens(line.strip()))
        if len(tokens) >= LINE_TOKENS:
            keys.add(tokens)
    return keys


def only_given(snippet: str, given: dict) -> bool:
    """Whether every line of the snippet (that has any tokens) is a line of `given` files."""
    have = {tuple(_tokens(line.strip())) for text in given.values() for line in re.split(r"[\n;]", text)}
    lines = [tuple(_tokens(line.strip())) for line in re.split(r"[\n;]", snippet)]
    return all(line in have for line in lines if line)


def reference_lines_leak(snippet: str, reference: dict, known: dict) -> bool:
    """A short snippet can be the whole fix (one line of `_backward`): too short for the n-gram
    share, so a line of the reference that neither the starter nor the learner's own code has,
    given whole, counts as a leak."""
    ref = set().union(*(_line_keys(t) for t in reference.values())) if reference else set()
    have = set().union(*(_line_keys(t) for t in known.values())) if known else set()
    return bool(_line_keys(snippet) & (ref - have))


# --- splicing a snippet into the learner's code -------------------------------------------------
def _defs(tree) -> dict:
    """name -> list of (node, indent) for top-level functions/classes and methods."""
    found = {}
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            found.setdefault(node.name, []).append((node, 0))
        if isinstance(node, ast.ClassDef):
            for item in node.body:
                if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    found.setdefault(f"{node.name}.{item.name}", []).append((item, item.col_offset))
                    found.setdefault(f".{item.name}", []).append((item, item.col_offset))
    return found


def _span(node):
    start = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
    return start, node.end_lineno


def splice(source: str, snippet: str) -> str | None:
    """The learner's `source` with the functions/classes/methods the snippet defines replaced by
    the snippet's versions; None when the snippet defines nothing the source has."""
    try:
        snip_tree = ast.parse(textwrap.dedent(snippet))
        tree = ast.parse(source)
    except SyntaxError:
        return None
    snip_lines = textwrap.dedent(snippet).splitlines()
    targets = _defs(tree)
    edits = []
    for node in snip_tree.body:
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            continue
        s0, s1 = _span(node)
        body = snip_lines[s0 - 1 : s1]
        if node.name in targets:
            edits.append((targets[node.name][0], body))
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and f".{node.name}" in targets:
            edits.append((targets[f".{node.name}"][0], body))
        elif isinstance(node, ast.ClassDef):
            for item in node.body:
                key = f"{node.name}.{getattr(item, 'name', '')}"
                if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)) and key in targets:
                    i0, i1 = _span(item)
                    edits.append((targets[key][0], textwrap.dedent("\n".join(snip_lines[i0 - 1 : i1])).splitlines()))
    if not edits:
        return None
    lines = source.splitlines()
    for (target, indent), body in sorted(edits, key=lambda e: -_span(e[0][0])[0]):
        t0, t1 = _span(target)
        pad = " " * indent
        lines[t0 - 1 : t1] = [
            pad + line if line.strip() else line for line in textwrap.dedent("\n".join(body)).splitlines()
        ]
    return "\n".join(lines) + "\n"
