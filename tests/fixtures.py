"""Test data: users with roles, and a small real course imported through the real importer."""

import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SKELETON = ROOT / "courses" / "skeleton"
PASSWORD = "correct horse battery"


def make_course_folder(dest: Path, slug: str = "demo", title: str = "Demo course") -> Path:
    """A copy of the `course new` skeleton: one lesson, one exercise with visible and hidden
    tests and two mutants."""
    shutil.copytree(SKELETON, dest)
    toml = dest / "course.toml"
    toml.write_text(toml.read_text().replace("{slug}", slug).replace("{title}", title))
    return dest


def autograd_folder(dest: Path) -> Path:
    """The flagship's first module (value, activations, mlp) as a course folder of its own."""
    import sys

    sys.path.insert(0, str(ROOT / "tools"))
    try:
        from course_subset import main as subset
    finally:
        sys.path.remove(str(ROOT / "tools"))
    subset(ROOT / "content" / "zero-to-gpt", "01-autograd", dest)
    return dest


def import_published(folder: Path):
    from courses.format.tree import load
    from courses.services import version_import, version_publish

    tree, problems = load(folder)
    assert not problems, problems
    version, _ = version_import(tree=tree)
    version_publish(version=version)
    return version.course


@pytest.fixture
def course_folder(tmp_path) -> Path:
    return make_course_folder(tmp_path / "demo")


@pytest.fixture
def make_user(db):
    from accounts.models import User

    def make(name="learner", *, staff=False):
        user = User.objects.create_user(username=name, email=f"{name}@example.org", password=PASSWORD)
        if staff:
            user.is_staff = user.is_superuser = True
            user.save()
        return user

    return make


@pytest.fixture
def course(db, course_folder):
    """The demo course, imported and published."""
    from courses.format.tree import load
    from courses.services import version_import, version_publish

    tree, problems = load(course_folder)
    assert not problems
    version, _ = version_import(tree=tree)
    version_publish(version=version)
    return version.course


@pytest.fixture
def student(make_user, course):
    from courses.services import membership_enroll

    user = make_user("student")
    membership_enroll(user=user, course=course)
    return user


@pytest.fixture
def student_client(client, student):
    client.force_login(student)
    return client
