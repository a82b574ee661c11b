"""Text colours meet WCAG AA (4.5:1 for body text) on the backgrounds they are used on, in the
light and the dark theme. Read from the stylesheet itself, so a palette change is checked."""

import re
from pathlib import Path

import pytest

CSS = (Path(__file__).resolve().parents[1] / "static" / "frontend" / "app.css").read_text()


def palette(selector):
    block = re.search(re.escape(selector) + r"\s*\{(.*?)\}", CSS, re.S).group(1)
    return dict(re.findall(r"--([\w-]+):\s*(#[0-9a-fA-F]{6})", block))


def luminance(hex_colour):
    channels = [int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a, b):
    hi, lo = sorted((luminance(a), luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


PAIRS = [
    ("text", "bg"),
    ("text", "surface"),
    ("text", "surface-2"),
    ("muted", "bg"),
    ("muted", "surface"),
    ("accent", "surface"),
    ("accent", "bg"),
    ("on-accent", "accent"),
    ("success", "success-bg"),
    ("danger", "danger-bg"),
    ("warning", "warning-bg"),
    ("info", "info-bg"),
    ("text", "code-bg"),
    ("success", "surface"),
    ("danger", "surface"),
    ("warning", "surface"),
    ("accent", "accent-2"),
]


@pytest.mark.parametrize("theme", [":root", '[data-theme="dark"]'])
@pytest.mark.parametrize("fg,bg", PAIRS)
def test_aa_contrast(theme, fg, bg):
    colours = palette(theme)
    ratio = contrast(colours[fg], colours[bg])
    assert ratio >= 4.5, f"{theme}: --{fg} on --{bg} is {ratio:.2f}:1"
