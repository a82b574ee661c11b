"""A tutor reply read as Markdown, the way the site renders it (courses.rendering, raw HTML off).

What counts as code, and so is held back while streaming and checked before it is shown:
- every fenced block, ``` or ~~~, whatever its info string (python, text, none, anything);
- every indented code block, at any depth (inside list items, block quotes, admonitions);
- an inline code span longer than INLINE_CODE_MAX characters, running over several lines, or
  reading as a statement (`self.grad += out.grad`): `a.grad` in a sentence is how a tutor
  talks, a 60-character span or an assignment is a line of code (a one-line fix is all some
  exercises need);
- `<pre>` and long `<code>` elements written into the reply: replies are rendered with raw HTML
  off, so the learner sees that markup as text, code included.
Paragraphs and other prose are also handed to the similarity check (code written as plain
lines of prose shows as text too), but are never held while streaming.

The token stream decides for the final check. While the reply streams, `safe_length` is a
cautious reading of the lines so far: it stops at the first line that could still become code,
whatever comes next, and the streamed part is cross-checked with the parser.
"""

import html
import re
from dataclasses import dataclass

from courses.rendering import markdown_parser

INLINE_CODE_MAX = 40
_MD = markdown_parser(allow_html=False)
_HTML_CODE = re.compile(r"<(pre|code)\b[^>]*>(.*?)(?:</\1\s*>|\Z)", re.I | re.S)
_TAG = re.compile(r"<[^>]*>")
_CONTAINER = re.compile(r"(?:[ ]{0,3}(?:>[ ]?|(?:[-+*]|\d{1,9}[.)])(?=[ \t]|$)[ \t]?))*")
_TICKS = re.compile(r"`+")
# Lines that read like Python although they are not marked up as code: held while streaming.
_CODE_LIKE = re.compile(
    r"(?:def|class|async\s+def|return|import|from\s+\S+\s+import|lambda|raise|yield)\b"
    r"|(?:for|while|if|elif|with|except)\b.*:\s*$|(?:else|try|finally)\s*:"
    r"|@\w|[A-Za-z_][\w.\[\]]*\s*(?:[-+*/]?=)(?!=)\s*\S"
)


@dataclass
class Code:
    start: int  # character span of the reply this block occupies (what redaction replaces)
    end: int
    kind: str  # fence | indented | inline | html | prose
    info: str  # a fence's info string, else ""
    text: str  # the code as the learner would read it
    prefix: str = ""  # container markers (list item, quote) kept when the block is replaced


def normalise(text: str) -> str:
    """Line endings as markdown-it reads them, so token line numbers index our lines."""
    return text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "\ufffd")


def _line_starts(text: str) -> list[int]:
    starts = [0]
    for i, ch in enumerate(text):
        if ch == "\n":
            starts.append(i + 1)
    starts.append(len(text))
    return starts


def _span(starts: list[int], lines: list[int]) -> tuple[int, int]:
    a, b = lines
    return starts[min(a, len(starts) - 1)], starts[min(b, len(starts) - 1)]


def _prefix(line: str) -> str:
    markers = _CONTAINER.match(line).group(0).rstrip()
    return markers + " " if markers.strip() else ""


def _collapse(raw: str) -> str:
    """A code span's content as CommonMark reads it (line endings to spaces, one space stripped)."""
    raw = raw.replace("\n", " ")
    if len(raw) > 1 and raw[0] == " " and raw[-1] == " " and raw.strip():
        raw = raw[1:-1]
    return raw


def _raw_spans(source: str) -> list[tuple[int, int, str]]:
    """(start, end, content) of backtick code spans in `source`, paired as CommonMark pairs them."""
    runs = [(m.start(), m.end()) for m in _TICKS.finditer(source)]
    spans, i = [], 0
    while i < len(runs):
        s, e = runs[i]
        for j in range(i + 1, len(runs)):
            if runs[j][1] - runs[j][0] == e - s:
                spans.append((s, runs[j][1], source[e : runs[j][0]]))
                i = j
                break
        i += 1
    return spans


def _long_inline(content: str) -> bool:
    """Whether an inline span counts as code: long, over several lines, or a statement."""
    return len(content) > INLINE_CODE_MAX or "\n" in content or bool(_CODE_LIKE.match(content.strip()))


def code_in(text: str) -> list[Code]:
    """Every code token of the reply (module docstring), in order, without overlaps."""
    text = normalise(text)
    starts = _line_starts(text)
    lines = text.split("\n")
    found: list[Code] = []
    block_map = None
    for token in _MD.parse(text):
        if token.map:
            block_map = token.map
        if token.type in ("fence", "code_block"):
            start, end = _span(starts, token.map)
            first = lines[token.map[0]] if token.map[0] < len(lines) else ""
            kind = "fence" if token.type == "fence" else "indented"
            found.append(Code(start, end, kind, token.info.strip(), token.content, _prefix(first)))
        elif token.type == "inline" and token.children:
            longs = [c for c in token.children if c.type == "code_inline" and _long_inline(c.content)]
            if not longs:
                continue
            start, end = _span(starts, token.map or block_map or [0, len(lines)])
            raw = [sp for sp in _raw_spans(text[start:end])]
            for child in longs:
                match = next((sp for sp in raw if _collapse(sp[2]) == child.content), None)
                if match is None:  # cannot place it exactly: take the whole paragraph
                    found.append(Code(start, end, "inline", "", child.content, _prefix(text[start:end])))
                    continue
                raw.remove(match)
                found.append(Code(start + match[0], start + match[1], "inline", "", child.content))
    for match in _HTML_CODE.finditer(text):
        content = html.unescape(_TAG.sub("", match.group(2)))
        if match.group(1).lower() == "pre" or _long_inline(content):
            found.append(Code(match.start(), match.end(), "html", match.group(1).lower(), content))
    return _without_overlaps(found)


def prose_in(text: str) -> list[Code]:
    """Paragraphs, headings and table cells: what the similarity check reads besides code."""
    text = normalise(text)
    starts = _line_starts(text)
    out = []
    for token in _MD.parse(text):
        if token.type == "inline" and token.map and token.content.strip():
            start, end = _span(starts, token.map)
            out.append(Code(start, end, "prose", "", token.content, _prefix(text[start:end])))
    return out


def _without_overlaps(found: list[Code]) -> list[Code]:
    found.sort(key=lambda c: (c.start, -(c.end - c.start)))
    out: list[Code] = []
    for code in found:
        if out and code.start < out[-1].end:
            last = out[-1]
            out[-1] = Code(last.start, max(last.end, code.end), last.kind, last.info, last.text, last.prefix)
            continue
        out.append(code)
    return out


def replace(text: str, blocks: list[Code], note: str) -> str:
    """`text` (normalised) with each block replaced by `note`, keeping list and quote markers."""
    text = normalise(text)
    for block in sorted(blocks, key=lambda c: -c.start):
        block_level = block.kind != "inline" or block.prefix
        piece = (block.prefix + note + "\n") if block_level and text[block.start : block.end].endswith("\n") else note
        if block_level and block.start and text[block.start - 1] != "\n":
            piece = "\n" + piece
        text = text[: block.start] + piece + text[block.end :]
    return text


# --- streaming ------------------------------------------------------------------------------
def _line_safe(line: str, complete: bool) -> int:
    """How many characters of one line can be shown whatever follows (len(line) if all)."""
    container = _CONTAINER.match(line).group(0)
    body = line[len(container) :].expandtabs(4)
    stripped = body.lstrip(" ")
    if not complete and len(stripped) < 4:
        return 0  # too little of the line to know what it starts
    if len(body) - len(stripped) >= 4 or stripped[:3] in ("```", "~~~") or _CODE_LIKE.match(stripped):
        return 0
    safe = len(line)
    html_at = re.search(r"<\s*(pre|code)\b", line, re.I)
    if html_at:
        safe = html_at.start()
    runs = [(m.start(), m.end()) for m in _TICKS.finditer(line)]
    if not complete and runs and runs[-1][1] == len(line):
        runs = runs[:-1] + [(runs[-1][0], -1)]  # still growing: its length is not known yet
    i = 0
    while i < len(runs):
        s, e = runs[i]
        close = next((j for j in range(i + 1, len(runs)) if e != -1 and runs[j][1] - runs[j][0] == e - s), None)
        if close is None or _long_inline(line[e : runs[close][0]]):
            return min(safe, s)
        i = close + 1
    return safe


def _parsed_code_start(text: str) -> int | None:
    blocks = code_in(text)
    return blocks[0].start if blocks else None


def safe_length(text: str) -> int:
    """The length of the longest prefix of a partial reply that holds no code, however the
    reply goes on. Once a line could start code, nothing after it counts as safe."""
    text = normalise(text)
    pos = 0
    pieces = text.split("\n")
    for n, line in enumerate(pieces):
        complete = n < len(pieces) - 1
        safe = _line_safe(line, complete)
        if safe < len(line) or not complete:
            pos += safe
            break
        pos += len(line) + 1
    pos = min(pos, len(text))
    parsed = _parsed_code_start(text[:pos])
    return pos if parsed is None else min(pos, parsed)


def plain_text(markdown: str, *, headings: bool = False) -> str:
    """Lesson Markdown as a reader sees it: heading anchors, admonition syntax and emphasis
    markers gone, code blocks left out; inline code and maths keep their delimiters, so the
    quote renders as code and maths again. Headings are left out unless asked for (a quote is
    introduced by a citation that already names its section)."""
    out: list[str] = []
    in_heading = False
    for token in _MD.parse(normalise(markdown)):
        if token.type in ("heading_open", "heading_close"):
            in_heading = token.type == "heading_open"
        elif in_heading and not headings:
            continue
        elif token.type == "admonition_open":
            title = (token.content or "").strip() or token.meta.get("tag", "").strip().capitalize()
            if title:
                out.append(f"{title}:")
        elif token.type == "inline" and not (out and out[-1].endswith(":") and token.content.strip() == out[-1][:-1]):
            out.append(_inline_text(token.children or []))
        elif token.type == "math_block":
            out.append(f"$${token.content.strip()}$$")
    return " ".join(piece for piece in out if piece.strip())


def _inline_text(children) -> str:
    parts = []
    for child in children:
        if child.type == "text":
            parts.append(re.sub(r"([\\*_<>])", r"\\\1", child.content))
        elif child.type == "code_inline":
            parts.append(f"`{child.content}`")
        elif child.type in ("math_inline", "math_inline_double"):
            parts.append(f"${child.content}$")
        elif child.type in ("softbreak", "hardbreak"):
            parts.append(" ")
        elif child.type == "image":
            parts.append(child.content or "")
    return "".join(parts).strip()
