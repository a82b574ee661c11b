"""Datasets: fetched from the offline mirror and verified, and a missing one is explained
differently to instructors and learners while the page keeps working."""

import hashlib

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
    assert (tmp_path / "cache" / "tiny.txt").read_bytes() == b"hello\n"
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
