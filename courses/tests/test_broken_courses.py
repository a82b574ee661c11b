"""Every folder in broken_courses/ (made by make_broken_courses.py) is rejected with the message
its .expected file names, at the right file and line, and importing it changes nothing."""

from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from courses.format.tree import load
from courses.format.validate import validate
from courses.models import Blob, Course, CourseVersion, Exercise, Lesson, Module

CORPUS = Path(__file__).resolve().parent / "broken_courses"
CASES = sorted(p.name for p in CORPUS.iterdir() if p.is_dir())


def problems_of(folder: Path):
    tree, problems = load(folder)
    _, more = validate(tree, dataset_dirs=(str(folder / "assets"),))
    return [str(p) for p in problems + more]


def test_the_corpus_has_at_least_15_cases():
    assert len(CASES) >= 15


@pytest.mark.parametrize("name", CASES)
def test_each_broken_course_reports_the_right_file_line_and_message(name):
    found = problems_of(CORPUS / name)
    for expected in (CORPUS / f"{name}.expected").read_text().splitlines():
        assert any(p.startswith(expected) for p in found), f"expected {expected!r}\nfound:\n" + "\n".join(found)


def table_counts():
    return [m.objects.count() for m in (Course, CourseVersion, Module, Lesson, Exercise, Blob)]


@pytest.mark.django_db
@pytest.mark.parametrize("name", CASES)
def test_importing_a_broken_course_changes_nothing(name, course, settings):
    settings.COURSE_ASSETS_DIR = str(CORPUS / name / "assets")
    before = table_counts()
    with pytest.raises(CommandError, match="nothing was changed"):
        call_command("course", "import", str(CORPUS / name))
    assert table_counts() == before
