"""Datasets: fetched from the offline mirror and verified, and a missing one is explained
differently to instructors and learners while the page keeps working."""

import hashlib
import secrets

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from tests.fixtures import make_course_folder


def course_with_dataset(tmp_path, data: bytes, declared: bytes | None = None):
    folder = make_course_folder(tmp_path / "c")
    declared = declared if declared is not None else data
    toml = folder / "course.toml"
    toml.write_text(
        toml.read_text()
        + f'''
[[datasets]]
name = "tiny.txt"
url = "https://example.invalid/tiny.txt"
sha256 = "{hashlib.sha256(declared).hexdigest()}"
size = {len(declared)}
'''
    )
    ex = folder / "modules/01-basics/exercises/mean/exercise.toml"
    ex.write_text(ex.read_text().replace("wall_seconds = 10", 'wall_seconds = 10\ndatasets = ["tiny.txt"]'))
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    (mirror / "tiny.txt").write_bytes(data)
    return folder, mirror


def test_assets_copies_from_the_mirror_and_verifies(tmp_path, settings, capsys):
    folder, mirror = course_with_dataset(tmp_path, b"hello\n")
    settings.COURSE_ASSETS_DIR, settings.DATASET_CACHE_DIR = str(mirror), tmp_path / "cache"
    call_command("course", "assets", str(folder))
    from gpu_runner.datasets import blob_path

    # Content-addressed: the cache keeps the file under its sha256, never under the course's name.
    assert blob_path(tmp_path / "cache", hashlib.sha256(b"hello\n").hexdigest()).read_bytes() == b"hello\n"
    assert not (tmp_path / "cache" / "tiny.txt").exists()
    assert "tiny.txt: ok" in capsys.readouterr().out


def test_assets_refuses_a_file_with_the_wrong_checksum(tmp_path, settings):
    folder, mirror = course_with_dataset(tmp_path, b"tampered\n", declared=b"hello\n")
    settings.COURSE_ASSETS_DIR, settings.DATASET_CACHE_DIR = "", tmp_path / "cache"
    from gpu_runner.datasets import DatasetError, ensure

    dataset = {"name": "tiny.txt", "url": "", "sha256": hashlib.sha256(b"hello\n").hexdigest(), "size": 6}
    with pytest.raises(DatasetError, match="does not match the declared"):
        ensure(tmp_path / "cache", dataset, mirror_dir=str(mirror), allow_download=False)
    with pytest.raises(CommandError, match="1 problem"):  # validation reads the mirror too
        settings.COURSE_ASSETS_DIR = str(mirror)
        call_command("course", "validate", str(folder))


@pytest.mark.django_db
def test_missing_dataset_is_explained_to_instructors_and_learners(tmp_path, settings, client, make_user):
    from courses.format.tree import load
    from courses.models import Membership
    from courses.services import membership_set_role, version_import, version_publish

    folder, _ = course_with_dataset(tmp_path, b"hello\n")
    settings.COURSE_ASSETS_DIR, settings.DATASET_CACHE_DIR = "", tmp_path / "empty-cache"
    version, _ = version_import(tree=load(folder)[0])
    version_publish(version=version)
    teacher, learner = make_user("teacher"), make_user("learner")
    membership_set_role(user=teacher, course=version.course, role=Membership.Role.INSTRUCTOR)
    membership_set_role(user=learner, course=version.course, role=Membership.Role.STUDENT)
    client.force_login(teacher)
    page = client.get("/courses/demo/exercises/mean/").content.decode()
    assert "Dataset not available: tiny.txt" in page and "course assets" in page and "COURSE_ASSETS_DIR" in page
    client.force_login(learner)
    page = client.get("/courses/demo/exercises/mean/").content.decode()
    assert "not available on the server right now" in page and "COURSE_ASSETS_DIR" not in page
    assert 'id="submit-btn"' in page  # everything else keeps working


# --- where datasets may come from, and who is told when they cannot ------------------------------
def _declare_url(folder, url):
    toml = folder / "course.toml"
    toml.write_text(toml.read_text().replace('url = "https://example.invalid/tiny.txt"', f'url = "{url}"'))
    return toml, next(i for i, ln in enumerate(toml.read_text().splitlines(), 1) if ln.startswith("url = "))


@pytest.mark.parametrize(
    "url,message",
    [
        ("http://example.org/tiny.txt", "dataset tiny.txt: url: only https:// URLs are fetched, not http://"),
        (
            "https://10.1.2.3/tiny.txt",
            "dataset tiny.txt: url: 10.1.2.3 is a private address; datasets are fetched only",
        ),
        ("https://169.254.169.254/x", "dataset tiny.txt: url: 169.254.169.254 is a link-local address"),
    ],
)
def test_validate_refuses_urls_workers_must_not_fetch(tmp_path, settings, capsys, url, message):
    folder, _ = course_with_dataset(tmp_path, b"hello\n")
    settings.COURSE_ASSETS_DIR = ""
    toml, line = _declare_url(folder, url)
    with pytest.raises(CommandError, match="1 problem"):
        call_command("course", "validate", str(folder))
    assert f"{toml}:{line}: {message}" in capsys.readouterr().err


@pytest.mark.django_db
def test_assets_explains_a_refused_fetch_and_the_authoring_page_shows_it(tmp_path, settings, capsys, client, make_user):
    from courses.format.tree import load
    from courses.models import Membership
    from courses.services import membership_set_role, version_import

    folder, _ = course_with_dataset(tmp_path, secrets.token_bytes(16))
    settings.COURSE_ASSETS_DIR, settings.DATASET_CACHE_DIR = "", tmp_path / "cache"
    _declare_url(folder, "https://localhost:9/tiny.txt")
    with pytest.raises(CommandError, match="1 dataset"):
        call_command("course", "assets", str(folder))
    err = capsys.readouterr().err
    assert "tiny.txt: dataset tiny.txt could not be fetched: https://localhost:9/tiny.txt: localhost resolves to" in err
    assert "127.0.0.1 is a loopback address; datasets are fetched only from public addresses" in err
    assert "not gradable" in err
    version, _ = version_import(tree=load(folder)[0])
    teacher = make_user("teacher")
    membership_set_role(user=teacher, course=version.course, role=Membership.Role.INSTRUCTOR)
    client.force_login(teacher)
    page = client.get("/courses/demo/author/").content.decode()
    assert "tiny.txt: <strong>not available</strong>" in page and "127.0.0.1 is a loopback address" in page


@pytest.mark.django_db(transaction=True)
@pytest.mark.worker
@pytest.mark.sandbox
def test_a_learner_whose_data_is_missing_loses_nothing_and_the_instructor_sees_why(
    tmp_path, client, make_user, celery_worker
):
    import json
    import time

    from courses.format.tree import load
    from courses.models import Membership
    from courses.services import membership_set_role, version_import, version_publish
    from gpu_runner.datasets import LEARNER_MESSAGE
    from grader.models import Submission

    folder, _ = course_with_dataset(tmp_path, secrets.token_bytes(16))  # cached nowhere
    version, _ = version_import(tree=load(folder)[0])
    version_publish(version=version)
    learner, teacher = make_user("learner"), make_user("teacher")
    membership_set_role(user=learner, course=version.course, role=Membership.Role.STUDENT)
    membership_set_role(user=teacher, course=version.course, role=Membership.Role.INSTRUCTOR)
    client.force_login(learner)
    code = {"stats.py": "def mean(xs):\n    return sum(xs) / len(xs)\n\n\ndef variance(xs):\n    return 0\n"}
    response = client.post(
        "/courses/demo/exercises/mean/submit/", json.dumps({"kind": "submit", "files": code}), "application/json"
    )
    assert response.status_code == 201
    deadline = time.monotonic() + 90
    while not (s := Submission.objects.get(pk=response.json()["id"])).finished and time.monotonic() < deadline:
        time.sleep(0.1)
    assert s.status == "error" and not s.gradable
    assert LEARNER_MESSAGE in s.result["message"] and "does not count as an attempt" in s.result["message"]
    assert "example.invalid" not in json.dumps(s.result) + json.dumps(s.events) + s.error
    page = client.get("/courses/demo/exercises/mean/").content.decode()
    assert "not available" in page and "example.invalid" not in page
    client.force_login(teacher)
    page = client.get("/courses/demo/exercises/mean/").content.decode()
    assert (
        "Dataset not available: tiny.txt (dataset tiny.txt could not be fetched: https://example.invalid/tiny.txt"
        in page
    )
    # The attempt was not used: the next Submit is still the learner's first.
    client.force_login(learner)
    again = client.post(
        "/courses/demo/exercises/mean/submit/", json.dumps({"kind": "submit", "files": code}), "application/json"
    )
    assert Submission.objects.get(pk=again.json()["id"]).number == 1
