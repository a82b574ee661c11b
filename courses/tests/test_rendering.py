"""Lessons render with maths, highlighted code, admonitions, tables and stable anchors, and
whatever HTML an author writes is sanitised."""

import pytest

from courses.rendering import render


def test_math_code_admonitions_tables_and_anchors():
    html = render(
        "Inline $a^2$.\n\n$$\n\\frac{1}{n}\n$$\n\n## The chain rule {#chain}\n\n"
        '!!! pitfall "Careful"\n    Use +=.\n\n```python\nx = 1\n```\n\n| a | b |\n|---|---|\n| 1 | 2 |\n'
    ).html
    assert '<span class="math inline">a^2</span>' in html
    assert '<div class="math block">' in html
    assert '<h2 id="user-content-chain">' in html
    assert 'href="#chain"' in html  # links keep the anchor; site.js maps it
    assert 'class="admonition pitfall"' in html
    assert '<div class="codeblock" data-lang="python"><pre class="highlight"><code><span class="n">x</span>' in html
    assert "<table>" in html


def test_anchors_come_from_text_and_stay_unique():
    r = render("## Hello, World!\n\n## Hello, World!\n\n### Über Maß\n")
    assert [h["anchor"] for h in r.toc] == ["hello-world", "hello-world-2", "uber-ma"]


def test_anchor_stays_when_the_heading_is_reworded():
    assert (
        render("## Old wording {#keep}\n").toc[0]["anchor"]
        == render("## Completely new words {#keep}\n").toc[0]["anchor"]
    )


@pytest.mark.parametrize(
    "payload",
    [
        "<script>alert(1)</script>",
        '<img src=x onerror="alert(1)">',
        "[x](javascript:alert(1))",
        '<a href="javascript:alert(1)">x</a>',
        "<iframe src=//evil></iframe>",
        '<div onclick="alert(1)">x</div>',
        "<svg><script>alert(1)</script></svg>",
        '<a href="data:text/html,<script>alert(1)</script>">x</a>',
    ],
)
def test_hostile_html_is_neutralised(payload):
    html = render(payload).html.lower()
    assert "<script" not in html and "onerror" not in html and "onclick" not in html
    assert 'href="javascript:' not in html and "<iframe" not in html and 'href="data:' not in html


def test_lesson_links_point_to_lessons():
    html = render("See [[welcome#code]].", link_base="/courses/demo/lessons/").html
    assert 'href="/courses/demo/lessons/welcome/#code"' in html


def test_sections_split_at_headings_for_retrieval():
    r = render("Intro.\n\n## One {#one}\nFirst.\n\n## Two {#two}\nSecond.\n")
    assert [(s["anchor"], s["text"].splitlines()[-1]) for s in r.sections] == [
        ("", "Intro."),
        ("one", "First."),
        ("two", "Second."),
    ]


@pytest.mark.parametrize(
    "source",
    [
        "## Page data {#exercise-data}\n",
        '<div id="exercise-data">{"files": {}}</div>\n',
        "## Exercise data\n",
        '<span id="submit-btn">x</span>\n',
    ],
)
def test_content_cannot_name_an_element_of_the_page(source):
    html = render(source).html
    assert 'id="exercise-data"' not in html and 'id="submit-btn"' not in html
    assert 'id="user-content-' in html


def test_sanitising_twice_keeps_one_prefix():
    from courses.rendering import sanitize

    once = render("## Chain {#chain}\n").html
    assert sanitize(once) == once
    assert "user-content-user-content" not in sanitize(once)
