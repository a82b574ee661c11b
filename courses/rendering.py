"""Lesson Markdown to safe HTML.

markdown-it-py (CommonMark + tables) with dollar math (left as TeX for KaTeX in the browser),
admonitions (`!!! note "Title"`), Pygments-highlighted code, and stable heading anchors: the id
comes from the heading text, or from an explicit `{#anchor}` at the end of the heading, which
authors use to keep an anchor fixed when they reword a heading (the tutor cites anchors).
Everything is sanitised with nh3 afterwards, whatever the author wrote, and every id in the
output is prefixed `user-content-` (the anchor `chain` is the element `user-content-chain`).
"""

import html
import re
import unicodedata
from dataclasses import dataclass, field

import nh3
from markdown_it import MarkdownIt
from mdit_py_plugins.admon import admon_plugin
from mdit_py_plugins.dollarmath import dollarmath_plugin
from mdit_py_plugins.front_matter import front_matter_plugin
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import TextLexer, get_lexer_by_name
from pygments.util import ClassNotFound

_EXPLICIT_ANCHOR = re.compile(r"\s*\{#([A-Za-z][\w-]*)\}\s*$")
_CROSSREF = re.compile(r"\[\[([a-z0-9][a-z0-9-]*)(?:#([A-Za-z][\w-]*))?\]\]")
_FORMATTER = HtmlFormatter(nowrap=True)

ALLOWED_TAGS = {
    "a",
    "abbr",
    "b",
    "blockquote",
    "br",
    "code",
    "dd",
    "del",
    "details",
    "div",
    "dl",
    "dt",
    "em",
    "figcaption",
    "figure",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "hr",
    "i",
    "img",
    "kbd",
    "li",
    "mark",
    "ol",
    "p",
    "pre",
    "s",
    "small",
    "span",
    "strong",
    "sub",
    "summary",
    "sup",
    "table",
    "tbody",
    "td",
    "th",
    "thead",
    "tr",
    "ul",
}
ALLOWED_ATTRIBUTES = {
    "*": {"class", "id", "title", "aria-hidden", "aria-label"},
    "a": {"href"},
    "img": {"src", "alt", "width", "height"},
    "td": {"align", "colspan", "rowspan"},
    "th": {"align", "colspan", "rowspan", "scope"},
    "ol": {"start"},
    "div": {"data-lang"},
}
# What the validator refuses in raw HTML inside Markdown (the sanitiser would strip it anyway;
# refusing tells the author instead of silently changing their page).
FORBIDDEN_HTML = [
    (re.compile(r"<\s*script", re.I), "raw <script> is not allowed in lessons"),
    (re.compile(r"<\s*(iframe|object|embed|form|style|link|meta|base)\b", re.I), "raw <{0}> is not allowed in lessons"),
    (re.compile(r"\bon[a-z]+\s*=", re.I), "event-handler attributes (like onerror=) are not allowed in lessons"),
    (re.compile(r"(javascript|vbscript|data)\s*:", re.I), "{0}: URLs are not allowed in lessons"),
]


def slugify(text: str) -> str:
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    text = re.sub(r"[^\w\s-]", "", text).strip().lower()
    return re.sub(r"[\s_-]+", "-", text).strip("-") or "section"


@dataclass
class Rendered:
    html: str
    toc: list = field(default_factory=list)  # [{"level", "text", "anchor"}]
    sections: list = field(default_factory=list)  # [{"anchor", "title", "text"}]
    crossrefs: list = field(default_factory=list)  # [(line, lesson_slug, anchor)]


def _anchors(state):
    used = {}
    tokens = state.tokens
    for i, token in enumerate(tokens):
        if token.type != "heading_open":
            continue
        inline = tokens[i + 1]
        explicit = _EXPLICIT_ANCHOR.search(inline.content)
        if explicit:
            anchor = explicit.group(1)
            inline.content = inline.content[: explicit.start()]
            if inline.children:
                last = inline.children[-1]
                if last.type == "text":
                    last.content = _EXPLICIT_ANCHOR.sub("", last.content)
        else:
            anchor = slugify(inline.content)
        count = used.get(anchor, 0)
        used[anchor] = count + 1
        if count:
            anchor = f"{anchor}-{count + 1}"
        token.attrSet("id", anchor)
        token.meta["anchor"] = anchor


def _render_fence(self, tokens, idx, options, env):
    token = tokens[idx]
    lang = (token.info or "").strip().split(maxsplit=1)[0] if token.info else ""
    try:
        lexer = get_lexer_by_name(lang) if lang else TextLexer()
    except ClassNotFound:
        lexer = TextLexer()
    code = highlight(token.content, lexer, _FORMATTER)
    label = f' data-lang="{html.escape(lang)}"' if lang else ""
    return f'<div class="codeblock"{label}><pre class="highlight"><code>{code}</code></pre></div>\n'


def _render_heading_open(self, tokens, idx, options, env):
    return f'<{tokens[idx].tag} id="{html.escape(tokens[idx].meta.get("anchor", ""))}">'


def _render_heading_close(self, tokens, idx, options, env):
    opening = next((t for t in reversed(tokens[:idx]) if t.type == "heading_open"), None)
    anchor = opening.meta.get("anchor", "") if opening else ""
    link = f'<a class="anchor" href="#{html.escape(anchor)}" aria-hidden="true">#</a>' if anchor else ""
    return f"{link}</{tokens[idx].tag}>\n"


def markdown_parser(*, allow_html: bool = True) -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": allow_html, "typographer": False}).enable(["table", "strikethrough"])
    md.use(front_matter_plugin).use(dollarmath_plugin, allow_space=True, allow_digits=True, double_inline=True).use(
        admon_plugin
    )
    md.core.ruler.after("inline", "anchors", _anchors)
    md.add_render_rule("fence", _render_fence)
    md.add_render_rule("code_block", _render_fence)
    md.add_render_rule("heading_open", _render_heading_open)
    md.add_render_rule("heading_close", _render_heading_close)
    # `$$...$$` inside a paragraph: display maths, but in a span so the paragraph stays valid HTML.
    md.add_render_rule(
        "math_inline_double",
        lambda self, tokens, idx, options, env: f'<span class="math block">{html.escape(tokens[idx].content)}</span>',
    )
    return md


_LESSON_MD = markdown_parser(allow_html=True)
_PLAIN_MD = markdown_parser(allow_html=False)


# Every id in author- or tutor-written HTML gets this prefix, as GitHub does: content shares the
# page with our own elements (`exercise-data`, `submit-btn`, ...) and must not create, shadow or
# clobber one (`document.getElementById`, `window.<id>`). Links keep `#anchor`; site.js lands
# `#anchor` on `user-content-anchor`, so tutor citations and old links still work.
CONTENT_ID_PREFIX = "user-content-"


def _prefix_ids(tag: str, attribute: str, value: str) -> str:
    if attribute != "id" or value.startswith(CONTENT_ID_PREFIX):  # re-sanitising keeps one prefix
        return value
    return CONTENT_ID_PREFIX + value


def sanitize(raw_html: str) -> str:
    return nh3.clean(
        raw_html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer",
        strip_comments=True,
        attribute_filter=_prefix_ids,
    )


def _crossrefs_to_links(text: str, link_base: str, labels: dict) -> str:
    def repl(match):
        slug, anchor = match.group(1), match.group(2)
        href = f"{link_base}{slug}/" + (f"#{anchor}" if anchor else "")
        ref = f"{slug}#{anchor}" if anchor else slug
        label = labels.get(ref, ref).replace("[", "(").replace("]", ")")
        return f"[{label}]({href})"

    return _CROSSREF.sub(repl, text)


def render(source: str, *, link_base: str = "", allow_html: bool = True, link_labels: dict | None = None) -> Rendered:
    """Render Markdown. `[[lesson-slug#anchor]]` becomes a link under `link_base`, labelled from
    `link_labels` ("Lesson › Section") when given."""
    md = _LESSON_MD if allow_html else _PLAIN_MD
    crossrefs = [(source.count("\n", 0, m.start()) + 1, m.group(1), m.group(2)) for m in _CROSSREF.finditer(source)]
    tokens = md.parse(_crossrefs_to_links(source, link_base, link_labels or {}) if link_base else source)
    body = md.renderer.render(tokens, md.options, {})
    out = Rendered(html=sanitize(body), crossrefs=crossrefs)
    lines = source.splitlines()
    heads = []
    for i, token in enumerate(tokens):
        if token.type == "heading_open" and token.tag in ("h2", "h3") and token.map:
            title = tokens[i + 1].content.strip()
            out.toc.append({"level": int(token.tag[1]), "text": title, "anchor": token.meta["anchor"]})
            heads.append((token.map[0], token.meta["anchor"], title))
    starts = [(0, "", "Introduction")] + heads
    for n, (start, anchor, title) in enumerate(starts):
        end = starts[n + 1][0] if n + 1 < len(starts) else len(lines)
        text = "\n".join(lines[start:end]).strip()
        if text:
            out.sections.append({"anchor": anchor, "title": title, "text": text})
    return out


def html_problems(source: str) -> list[tuple[int, str]]:
    """(line, message) for raw HTML and URLs the lesson may not contain (1-based lines)."""
    problems = []
    tokens = _LESSON_MD.parse(source)

    def scan(text, line):
        for pattern, message in FORBIDDEN_HTML:
            match = pattern.search(text)
            if match:
                problems.append((line, message.format(match.group(1) if match.groups() else "")))

    for token in tokens:
        line = token.map[0] + 1 if token.map else 1
        if token.type == "html_block":
            for offset, text in enumerate(token.content.splitlines()):
                scan(text, line + offset)
        for child in token.children or []:
            if child.type == "html_inline":
                scan(child.content, line)
            elif child.type in ("link_open", "image"):
                href = child.attrGet("href") or child.attrGet("src") or ""
                if re.match(r"\s*(javascript|vbscript|data)\s*:", href, re.I):
                    problems.append((line, "javascript:/data: URLs are not allowed in lessons"))
    # markdown-it drops javascript: links instead of making tokens; catch them in the source.
    for number, text in enumerate(source.splitlines(), start=1):
        if (
            re.search(r"\]\(\s*<?\s*(javascript|vbscript|data):", text, re.I)
            and (number, "javascript:/data: URLs are not allowed in lessons") not in problems
        ):
            problems.append((number, "javascript:/data: URLs are not allowed in lessons"))
    return problems
