"""The terminal client end to end against a live server (daphne, a Celery worker, the sandbox):
a token made on the settings page, `fromscratch login`, `get`, `test` on the starter (fails) and
after an edit (passes, with no server involved), `submit` following the grading to the score the
browser shows, `status`; a notebook's tagged cells submitted; a notebook without them refused
with the tag named; a revoked token refused with its reason."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from grader.tests.test_pipeline import SOLUTION

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker, pytest.mark.sandbox]


def fromscratch(*args, home: Path, cwd: Path, env=None):
    environment = {k: v for k, v in os.environ.items() if not k.startswith("FROMSCRATCH_")}
    environment.update(XDG_CONFIG_HOME=str(home / "config"), XDG_CACHE_HOME=str(home / "cache"), **(env or {}))
    proc = subprocess.run(
        [sys.executable, "-m", "fromscratch_cli.main", *args],
        cwd=cwd,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
    )
    return proc.returncode, proc.stdout + proc.stderr


def notebook(path: Path, cells: list[tuple[str, list[str]]]) -> Path:
    path.write_text(
        json.dumps(
            {
                "nbformat": 4,
                "nbformat_minor": 5,
                "metadata": {},
                "cells": [
                    {
                        "cell_type": "code",
                        "metadata": {"tags": tags},
                        "source": src,
                        "outputs": [],
                        "execution_count": None,
                    }
                    for src, tags in cells
                ],
            }
        )
    )
    return path


def test_the_terminal_path(asgi_server, celery_worker, course, student, student_client, tmp_path):
    page = student_client.post(
        "/settings/tokens/new/", {"name": "terminal", "scopes": ["read", "submit"], "days": "30"}
    )
    token = re.search(r"fs_[0-9a-f]{8}_[\w-]+", page.content.decode()).group(0)
    home, work = tmp_path / "home", tmp_path / "work"
    home.mkdir(), work.mkdir()

    code, out = fromscratch("login", "--url", asgi_server, "--token", token, home=home, cwd=work)
    assert code == 0 and "1 course(s) visible" in out, out
    code, out = fromscratch("get", "demo/mean", home=home, cwd=work)
    assert code == 0, out
    folder = work / "mean"
    assert "def mean" in (folder / "stats.py").read_text()
    assert (folder / "tests/visible/test_mean.py").exists() and not list(folder.rglob("*hidden*"))
    job = json.loads((folder / ".fromscratch-job.json").read_text())
    assert "reference_files" in job and job["reference_files"] == {}  # never the solution

    # Locally, with no server: the starter fails, the edited code passes, as on the server.
    code, out = fromscratch("test", home=home, cwd=folder, env={"FROMSCRATCH_URL": "http://127.0.0.1:9"})
    assert code == 1 and "✗" in out, out
    (folder / "stats.py").write_text(SOLUTION)
    code, out = fromscratch("test", home=home, cwd=folder, env={"FROMSCRATCH_URL": "http://127.0.0.1:9"})
    assert code == 0 and "✓ Mean of a short list" in out, out

    code, out = fromscratch("submit", home=home, cwd=folder)
    assert code == 0 and "Score: 4/4" in out and "queued (position" in out, out
    url = re.search(r"/submissions/(\d+)/", out).group(0)
    assert "Score: 4 / 4" in student_client.get(url).content.decode()  # the browser agrees
    code, out = fromscratch("status", home=home, cwd=folder)
    assert code == 0 and "passed, best 4/4 after 1 submit(s)" in out, out

    # A notebook: the tagged cells become stats.py; magics are left out.
    nb = notebook(
        tmp_path / "work.ipynb",
        [
            ("%load_ext autoreload\nimport math\n", ["solution"]),
            ("print('scratch work, not submitted')\n", []),
            (SOLUTION, ["solution"]),
        ],
    )
    code, out = fromscratch("submit", "--run", "--from-notebook", str(nb), home=home, cwd=folder)
    assert code == 0 and "Score:" in out, out
    bare = notebook(tmp_path / "bare.ipynb", [(SOLUTION, [])])
    code, out = fromscratch("submit", "--from-notebook", str(bare), "--cell-tag", "answer", home=home, cwd=folder)
    assert code == 2 and "no code cell is tagged 'answer'" in out, out

    # Revoked in the browser: the next command says so, in one line.
    from accounts.models import ApiToken

    student_client.post(f"/settings/tokens/{ApiToken.objects.get(name='terminal').pk}/revoke/")
    code, out = fromscratch("status", home=home, cwd=folder)
    assert code == 2 and out.strip().startswith("fromscratch: token “terminal” was revoked on"), out


def test_server_sent_events_follow_a_submission(asgi_server, celery_worker, course, student):
    """A script submits with its token and reads the stream: every event once, in order, then `end`."""
    import urllib.request

    from accounts.tokens import token_create

    _, token = token_create(user=student, name="sse", scopes=["read", "submit"])
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    body = json.dumps({"files": {"stats.py": SOLUTION}}).encode()
    request = urllib.request.Request(
        f"{asgi_server}/api/v1/courses/demo/exercises/mean/submissions", data=body, headers=headers, method="POST"
    )
    sub = json.loads(urllib.request.urlopen(request, timeout=30).read())
    stream = urllib.request.urlopen(
        urllib.request.Request(f"{asgi_server}/api/v1/submissions/{sub['id']}/stream", headers=headers), timeout=120
    )
    assert stream.headers["Content-Type"].startswith("text/event-stream")
    frames, current = [], {}
    for raw in stream:
        line = raw.decode().rstrip("\n")
        if not line:
            if current:
                frames.append(current)
            if current.get("event") == "end":
                break
            current = {}
        elif not line.startswith(":"):
            key, _, value = line.partition(": ")
            current[key] = value
    ids = [int(f["id"]) for f in frames if "id" in f]
    assert ids == list(range(1, len(ids) + 1))
    kinds = [f["event"] for f in frames]
    assert kinds[0] == "queued" and "result" in kinds and kinds[-2:] == ["recorded", "end"]
    result = next(json.loads(f["data"]) for f in frames if f["event"] == "result")
    assert result["status"] == "passed"
