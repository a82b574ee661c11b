"""A lesson file: YAML front matter between --- lines, then Markdown (docs/course-format.md).
`ctx` is validate.Context: it collects problems at file:line."""

import re

import yaml

from courses import rendering
from courses.format import schema

NUMBER_PREFIX = re.compile(r"^\d+[-_]")


def strip_number(name: str) -> str:
    return NUMBER_PREFIX.sub("", name)


def parse_front_matter(ctx, path: str) -> tuple[dict, str, int] | None:
    try:
        text = ctx.tree.text(path)
    except UnicodeDecodeError:
        ctx.error(path, 1, "file is not UTF-8 text")
        return None
    lines = text.split("\n")
    if not lines or lines[0].strip() != "---":
        ctx.error(path, 1, "a lesson starts with front matter between --- lines (title: ..., minutes: ...)")
        return None
    try:
        end = next(i for i in range(1, len(lines)) if lines[i].strip() == "---")
    except StopIteration:
        ctx.error(path, 1, "front matter is not closed with a --- line")
        return None
    try:
        front = yaml.safe_load("\n".join(lines[1:end])) or {}
    except yaml.YAMLError as exc:
        # Where the broken construct starts (an unclosed bracket) beats where parsing gave up.
        mark = getattr(exc, "context_mark", None) or getattr(exc, "problem_mark", None)
        line = getattr(mark, "line", 0) + 2
        ctx.error(path, line, f"invalid front matter: {getattr(exc, 'problem', exc)}")
        return None
    if not isinstance(front, dict):
        ctx.error(path, 2, "front matter must be key: value pairs")
        return None
    keys = {
        k: i + 2
        for i, raw in enumerate(lines[1:end])
        for k in [raw.split(":", 1)[0].strip()]
        if ":" in raw and not raw.startswith(" ")
    }
    schema.check_table(
        front,
        schema.FRONT_MATTER,
        file=path,
        line_of=lambda p: keys.get(p[-1], 1) if p else 1,
        path=(),
        problems=ctx.problems,
        where="front matter",
    )
    body = "\n".join(lines[end + 1 :])
    return front, body, end + 1  # body line n is file line n + offset


def lesson(ctx, path: str, module_slug: str) -> dict | None:
    parsed = parse_front_matter(ctx, path)
    if parsed is None:
        return None
    front, body, offset = parsed
    filename = path.rsplit("/", 1)[1][:-3]
    slug = front.get("slug") or strip_number(filename)
    ctx.slug(slug, path, 2, "lesson slug")
    for line, message in rendering.html_problems(body):
        ctx.error(path, line + offset, message)
    minutes = front.get("minutes", 10)
    if isinstance(minutes, int) and not 1 <= minutes <= 600:
        ctx.error(path, 2, "minutes must be between 1 and 600")
    objectives = front.get("objectives") or []
    if not isinstance(objectives, list) or not all(isinstance(o, str) for o in objectives):
        objectives = []
    scoreboard = _rows(ctx, path, front, "scoreboard", schema.SCOREBOARD_ROW, "scoreboard row")
    figures = _rows(ctx, path, front, "figures", schema.LESSON_FIGURE, "figures entry")
    return {
        "slug": slug,
        "path": path,
        "module": module_slug,
        "title": str(front.get("title", "")),
        "minutes": minutes if isinstance(minutes, int) else 10,
        "objectives": objectives,
        "scoreboard": scoreboard,
        "figures": figures,
        "summary": str(front.get("summary", "")),
        "body": body,
        "offset": offset,
    }


def _rows(ctx, path: str, front: dict, key: str, table: dict, what: str) -> list[dict]:
    """A front-matter list of small tables (scoreboard rows, figures): each checked against
    `table`; the ones with a problem are reported and left out."""
    rows = front.get(key)
    kept = []
    for i, row in enumerate(rows if isinstance(rows, list) else []):
        before = len(ctx.problems)
        schema.check_table(
            row, table, file=path, line_of=lambda _p: 2, path=(key, i), problems=ctx.problems, where=f"{what} {i + 1}"
        )
        if len(ctx.problems) == before:
            kept.append({k: row[k] for k in table if k in row})
    return kept
