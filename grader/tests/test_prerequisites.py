"""Prerequisite locks, end to end with real parts (HTTP, a Celery worker, the sandbox): no
reference solution ever reaches a learner's sandbox or editor, and a submission keeps the exact
earlier files it ran with.

The story is the flagship's first module as a learner takes it: `activations` (which starts from
your own engine) and `mlp` (which runs on it) stay locked until a Submit of `value` passes; a
Run does not unlock them; once unlocked the editor starts from the learner's own code; the
sandbox holds their engine, never the reference, which a learner file that open()s every place
the reference could be proves (and the same probe does find the reference where an instructor's
preview run uses it, so it can see one).
"""

import hashlib
import json
import re
import time
from datetime import timedelta
from pathlib import Path

import pytest

from grader.models import Submission
from tests.fixtures import autograd_folder, import_published

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker, pytest.mark.sandbox]
ROOT = Path(__file__).resolve().parents[2]
AUTOGRAD = ROOT / "content/zero-to-gpt/modules/01-autograd/exercises"
REFERENCE = (AUTOGRAD / "value/solution/micrograd/engine.py").read_text()
REFERENCE_MARK = "Topological order without recursion"  # a comment only the reference has


def own_engine(note: str) -> str:
    """A learner's own passing engine: the reference's code with its comments gone."""
    lines = [ln for ln in REFERENCE.splitlines() if not ln.strip().startswith("#")]
    text = f"# {note}\n" + "\n".join(ln.split("  # ")[0].rstrip() for ln in lines) + "\n"
    assert REFERENCE_MARK not in text
    return text


def with_activations(engine: str) -> str:
    solution = (AUTOGRAD / "activations/solution/micrograd/engine.py").read_text()
    methods = solution[solution.index("    def tanh(self):") :]
    return "import math\n" + engine.rstrip() + "\n\n" + methods


def probe(course_dir: Path) -> str:
    """An mlp learner file (the starter's nn.py) that first reads every file it can reach where
    the value reference could be, and prints what it found."""
    starter = (AUTOGRAD / "mlp/starter/micrograd/nn.py").read_text()
    reference_sha = hashlib.sha256(REFERENCE.encode()).hexdigest()
    places = [
        "/work",
        "/tmp",
        "/data",
        "/harness",
        "/run",
        "/home",
        "/root",
        "/srv",
        "/mnt",
        "/opt",
        "/var",
        "/etc",
        "/dev/shm",
        "/proc/self/fd",
        "/proc/self/cwd",
        "/proc/1/cwd",
        str(AUTOGRAD / "value/solution/micrograd/engine.py"),
        str(course_dir / "modules/01-autograd/exercises/value/solution/micrograd/engine.py"),
        str(ROOT / "var"),
    ]
    code = f"""
import hashlib as _h, json as _j, os as _o, stat as _st

def _probe():
    found = {{"reference_at": [], "scanned": 0, "engine_sha": None}}
    def look(path):
        try:
            if not _st.S_ISREG(_o.stat(path).st_mode):
                return  # pipes and sockets (the fds of the harness) would block, and hold no file
            with open(path, "rb") as fh:
                data = fh.read(4 << 20)
        except OSError:
            return
        found["scanned"] += 1
        if _h.sha256(data).hexdigest() == {reference_sha!r} or bytes.fromhex({REFERENCE_MARK.encode().hex()!r}) in data:
            found["reference_at"].append(path)
    for place in {places!r}:
        if _o.path.isfile(place):
            look(place)
            continue
        for top, dirs, files in _o.walk(place, followlinks=False):
            if top.startswith("/proc/self/fd"):
                files = files + dirs
            for name in files:
                look(_o.path.join(top, name))
    try:
        found["engine_sha"] = _h.sha256(open("/work/micrograd/engine.py", "rb").read()).hexdigest()
    except OSError:
        pass
    print("PROBE " + _j.dumps(found))

_probe()
"""
    return starter + code


def page_data(html: str) -> dict:
    for body in re.findall(r'<script[^>]*type="application/json"[^>]*>(.*?)</script>', html, re.S):
        data = json.loads(body)
        if isinstance(data, dict) and "editable" in data:
            return data
    raise AssertionError("the exercise page carries no editor data")


def post(client, exercise, files, kind="submit"):
    return client.post(
        f"/courses/zero-to-gpt/exercises/{exercise}/submit/",
        json.dumps({"kind": kind, "files": files}),
        content_type="application/json",
    )


def wait_finished(pk, timeout=240):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        s = Submission.objects.get(pk=pk)
        if s.finished:
            return s
        time.sleep(0.2)
    raise AssertionError(f"submission {pk} still {Submission.objects.get(pk=pk).status} after {timeout}s")


def graded(client, exercise, files, kind="submit"):
    response = post(client, exercise, files, kind)
    assert response.status_code == 201, response.content
    return wait_finished(response.json()["id"])


def probe_report(submission) -> dict:
    output = "\n".join(t.get("output") or "" for t in submission.result["tests"])
    line = next(ln for ln in output.splitlines() if ln.startswith("PROBE "))
    return json.loads(line[len("PROBE ") :])


@pytest.fixture
def autograd(tmp_path):
    folder = autograd_folder(tmp_path / "autograd")
    return folder, import_published(folder)


@pytest.mark.timeout(900)
def test_locked_until_a_submit_passes_and_the_sandbox_never_holds_the_reference(
    autograd, client, make_user, celery_worker
):
    from courses.models import Membership
    from courses.services import membership_enroll, membership_set_role

    folder, course = autograd
    learner = make_user("ada")
    membership_enroll(user=learner, course=course)
    client.force_login(learner)

    # 1. Not passed yet: activations and mlp are locked, with the reason and a link.
    for slug in ("activations", "mlp"):
        page = client.get(f"/courses/zero-to-gpt/exercises/{slug}/")
        html = page.content.decode()
        assert page.status_code == 200 and "locked" in html
        assert "Pass “A scalar autograd engine” first" in html
        assert 'href="/courses/zero-to-gpt/exercises/value/"' in html
        assert REFERENCE_MARK not in html and "editable" not in html  # no editor, no code
    refused = post(client, "mlp", {"micrograd/nn.py": "x = 1\n"})
    assert refused.status_code == 403
    assert refused.json()["error"].startswith("Pass “A scalar autograd engine” first: this exercise runs on your own")
    assert refused.json()["locked"]["url"] == "/courses/zero-to-gpt/exercises/value/"
    assert post(client, "activations", {"micrograd/engine.py": "x = 1\n"}).status_code == 403
    assert not Submission.objects.exclude(exercise_slug="value").exists()

    # 2. A Run that passes every visible test does not unlock anything.
    mine = own_engine("ada's engine, first version")
    run = graded(client, "value", {"micrograd/engine.py": mine}, kind="run")
    assert run.kind == "run" and run.passed, run.result["message"]
    assert "Pass “A scalar autograd engine” first" in client.get("/courses/zero-to-gpt/exercises/mlp/").content.decode()

    # 3. A passing Submit does: the editor starts from the learner's own engine.
    first = graded(client, "value", {"micrograd/engine.py": mine})
    assert first.passed, first.result["message"]
    html = client.get("/courses/zero-to-gpt/exercises/activations/").content.decode()
    data = page_data(html)
    assert data["files"]["micrograd/engine.py"] == mine
    assert "Started from your passing code from value" in html
    done = graded(client, "activations", {"micrograd/engine.py": with_activations(mine)})
    assert done.passed, done.result["message"]
    assert done.uses_files == {}  # activations runs on the learner's own file only

    # 4. mlp runs on their engine: stored with the submission, and nothing else is in the sandbox.
    data = page_data(client.get("/courses/zero-to-gpt/exercises/mlp/").content.decode())
    assert data["readonly"]["micrograd/engine.py"] == mine  # their own engine, read-only
    tried = graded(client, "mlp", {"micrograd/nn.py": probe(folder)})
    assert tried.uses_files == {
        "value": {"source": "yours", "submission": first.pk, "files": {"micrograd/engine.py": mine}}
    }
    report = probe_report(tried)
    assert report["scanned"] > 5, report  # it did read files (its own, the harness, /etc ...)
    assert report["reference_at"] == [], report
    assert report["engine_sha"] == hashlib.sha256(mine.encode()).hexdigest()

    # 5. A later passing engine does not change what that submission re-runs with (the reaper
    #    re-enqueues it from the stored files).
    second = graded(client, "value", {"micrograd/engine.py": own_engine("ada's engine, second version")})
    assert second.passed
    from django.utils import timezone

    from grader.services import submissions_reap

    Submission.objects.filter(pk=tried.pk).update(
        status=Submission.Status.QUEUED, deadline_at=timezone.now() - timedelta(seconds=1)
    )
    assert submissions_reap()["requeued"] == 1
    again = wait_finished(tried.pk)
    assert again.attempt == 2 and again.uses_files == tried.uses_files
    assert probe_report(again)["engine_sha"] == hashlib.sha256(mine.encode()).hexdigest()

    # 6. The same probe does see the reference where one is used: an instructor previewing mlp
    #    without having passed value (the page says why learners find it locked).
    teacher = make_user("teacher")
    membership_set_role(user=teacher, course=course, role=Membership.Role.INSTRUCTOR)
    client.force_login(teacher)
    html = client.get("/courses/zero-to-gpt/exercises/mlp/").content.decode()
    assert "Locked for learners who have not passed" in html and page_data(html)["editable"]
    preview = graded(client, "mlp", {"micrograd/nn.py": probe(folder)}, kind="run")
    assert preview.uses_files["value"]["source"] == "reference"
    assert "/work/micrograd/engine.py" in probe_report(preview)["reference_at"]
