"""The issue's check, as a learner does it: create a token in Chromium, `fromscratch get`, edit,
`fromscratch test`, `fromscratch submit`, and see the same result in the browser."""

from pathlib import Path

import pytest
from playwright.sync_api import expect

from api.tests.test_cli import fromscratch
from tests.e2e.conftest import sign_up

pytestmark = pytest.mark.e2e


def test_token_in_the_browser_then_the_terminal(new_page, site, tmp_path):
    page = new_page()
    sign_up(page, "tess")
    page.goto("/courses/zero-to-gpt/")
    page.click("button:has-text('Enroll in Zero to GPT')")
    page.click("header >> text=tess")  # the username links the token page
    page.fill("#token-form input[name=name]", "laptop")
    page.click("#token-form button[type=submit]")
    token = page.locator("#token-text").inner_text()
    assert token.startswith("fs_")

    home, work = tmp_path / "home", tmp_path / "work"
    home.mkdir(), work.mkdir()
    assert fromscratch("login", "--url", site, "--token", token, home=home, cwd=work)[0] == 0
    code, out = fromscratch("get", "zero-to-gpt/value", home=home, cwd=work)
    assert code == 0, out
    engine = work / "value" / "micrograd" / "engine.py"
    solution = Path(__file__).resolve().parents[2] / "content/zero-to-gpt/modules/01-autograd/exercises/value"
    engine.write_text((solution / "solution/micrograd/engine.py").read_text())
    code, out = fromscratch("test", home=home, cwd=work / "value")
    assert code == 0 and "✓" in out and "✗" not in out, out
    code, out = fromscratch("submit", home=home, cwd=work / "value")
    assert code == 0 and "Score: 22/22" in out, out
    url = out.split("In the browser: ")[1].strip()
    page.goto(url)
    expect(page.locator(".lesson-meta")).to_contain_text("Score: 22 / 22")
    page.goto("/courses/zero-to-gpt/")
    row = page.locator(".items li", has=page.locator("a:has-text('A scalar autograd engine')"))
    expect(row).to_contain_text("passed")
    assert not page.js_errors, page.js_errors
