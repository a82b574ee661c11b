"""The instructor's command line, end to end: new -> validate -> test -> import -> export ->
import (same hash) -> publish/rollback; versions keep learners' submissions pointing where they were."""

import re

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from courses.models import Course, CourseVersion
from tests.fixtures import make_course_folder


def test_new_makes_a_course_that_validates(tmp_path, capsys):
    call_command("course", "new", "my-course", "--dir", str(tmp_path / "c"), "--title", "My course")
    call_command("course", "validate", str(tmp_path / "c"))
    assert "valid — 1 modules, 1 lessons, 1 exercises, 3 tests, 2 mutants" in capsys.readouterr().out


def test_new_refuses_a_bad_slug(tmp_path):
    with pytest.raises(CommandError, match="not a valid slug"):
        call_command("course", "new", "My Course", "--dir", str(tmp_path / "c"))


def test_validate_reports_every_problem_as_file_line_message(tmp_path, capsys):
    folder = make_course_folder(tmp_path / "c")
    (folder / "course.toml").write_text((folder / "course.toml").read_text() + '\nsumary = "typo"\n')
    toml = folder / "modules/01-basics/exercises/mean/exercise.toml"
    toml.write_text(toml.read_text().replace('device = "cpu"', 'device = "cpu"\nwal_seconds = 3'))
    with pytest.raises(CommandError, match="2 problem"):
        call_command("course", "validate", str(folder))
    err = capsys.readouterr().err.splitlines()
    course_line = (folder / "course.toml").read_text().splitlines().index('sumary = "typo"') + 1
    toml_line = toml.read_text().splitlines().index("wal_seconds = 3") + 1
    assert (
        f"{folder}/course.toml:{course_line}: unknown key 'sumary' in course.toml (did you mean 'summary'?)" in err
    ), err
    assert any(f"exercise.toml:{toml_line}: unknown key 'wal_seconds'" in line for line in err), err


@pytest.mark.django_db
def test_import_export_round_trip_keeps_the_hash(tmp_path, capsys):
    folder = make_course_folder(tmp_path / "c")
    call_command("course", "import", str(folder), "--publish")
    v1 = CourseVersion.objects.get()
    call_command("course", "import", str(folder))
    assert "unchanged" in capsys.readouterr().out
    assert CourseVersion.objects.count() == 1
    call_command("course", "export", "demo", str(tmp_path / "out"))
    call_command("course", "import", str(tmp_path / "out"))
    assert CourseVersion.objects.count() == 1
    assert sorted(
        p.relative_to(tmp_path / "out").as_posix() for p in (tmp_path / "out").rglob("*") if p.is_file()
    ) == sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
    # A change makes version 2; publishing it and rolling back moves only the pointer.
    lesson = tmp_path / "out/modules/01-basics/lessons/01-welcome.md"
    lesson.write_text(lesson.read_text() + "\nOne more paragraph.\n")
    call_command("course", "import", str(tmp_path / "out"), "--publish")
    course = Course.objects.get()
    assert course.published_version.number == 2 and course.published_version.content_hash != v1.content_hash
    call_command("course", "rollback", "demo")
    course.refresh_from_db()
    assert course.published_version == v1


@pytest.mark.django_db
def test_submissions_keep_the_version_they_were_graded_against(tmp_path, make_user):
    from courses.models import Exercise
    from grader.models import Submission

    folder = make_course_folder(tmp_path / "c")
    call_command("course", "import", str(folder), "--publish")
    old = Exercise.objects.get(slug="mean")
    user = make_user()
    s = Submission.objects.create(
        user=user, course=old.version.course, exercise=old, exercise_slug="mean", files={"stats.py": ""}
    )
    prompt = folder / "modules/01-basics/exercises/mean/prompt.md"
    prompt.write_text(prompt.read_text() + "\nNew wording.\n")
    call_command("course", "import", str(folder), "--publish")
    s.refresh_from_db()
    assert s.exercise.version.number == 1
    assert Exercise.objects.get(slug="mean", version__number=2).pk != old.pk


@pytest.mark.sandbox
def test_course_test_runs_references_starters_and_mutants(tmp_path, capsys):
    folder = make_course_folder(tmp_path / "c")
    call_command("course", "test", str(folder))
    out = capsys.readouterr().out
    assert "4 runs over 1 exercises" in out and "0 miss(es)" in out
    assert "mutant:off_by_one" in out and "expected 1.25, got 1.66667" in out


@pytest.mark.sandbox
def test_course_test_fail_fast_stops_a_caught_mutant_and_still_finds_a_survivor(tmp_path, capsys):
    folder = make_course_folder(tmp_path / "c")
    call_command("course", "test", str(folder), "--fail-fast")
    out = capsys.readouterr().out
    assert "0 miss(es)" in out
    # Caught by the first test: the other two never ran. off_by_one must fail test_variance, the
    # second, so it ran that far.
    assert re.search(r"mutant:integer_division .* \(stopped after 1 of 3 tests\)", out), out
    assert re.search(r"mutant:off_by_one .* \(stopped after 2 of 3 tests\)", out), out
    (folder / "modules/01-basics/exercises/mean/mutants/harmless.py").write_text(
        (folder / "modules/01-basics/exercises/mean/solution/stats.py").read_text() + "\n# only a comment differs\n"
    )
    with pytest.raises(CommandError, match="1 miss"):
        call_command("course", "test", str(folder), "--fail-fast")
    assert "passes every test: the tests do not catch this" in capsys.readouterr().out


@pytest.mark.sandbox
def test_course_test_fails_when_a_mutant_survives(tmp_path, capsys):
    folder = make_course_folder(tmp_path / "c")
    mutant = folder / "modules/01-basics/exercises/mean/mutants/harmless.py"
    mutant.write_text(
        (folder / "modules/01-basics/exercises/mean/solution/stats.py").read_text() + "\n# only a comment differs\n"
    )
    with pytest.raises(CommandError, match="1 miss"):
        call_command("course", "test", str(folder), "--exercise", "mean")
    assert "passes every test: the tests do not catch this" in capsys.readouterr().out
