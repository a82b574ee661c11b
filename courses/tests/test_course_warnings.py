"""`course validate` warns about grading that learner code could forge: a test worth points that
makes no value check, an exercise with no hidden value check. Every folder in warned_courses/
(made by make_broken_courses.py) is a valid course that gets exactly the warnings its .expected
file names, at the right file and line; warnings never stop validation, import or publishing."""

from pathlib import Path

import pytest
from django.core.management import call_command

from courses.format.tree import load
from courses.format.validate import validate
from courses.models import Course

CORPUS = Path(__file__).resolve().parent / "warned_courses"
CASES = sorted(p.name for p in CORPUS.iterdir() if p.is_dir())
FLAGSHIP = Path(__file__).resolve().parents[2] / "content" / "zero-to-gpt"


def findings(folder: Path):
    tree, problems = load(folder)
    spec, more = validate(tree)
    return [str(p) for p in problems + more], [str(w) for w in spec["warnings"]]


def test_the_corpus_covers_warned_and_unwarned_cases():
    expected = [(CORPUS / f"{name}.expected").read_text().splitlines() for name in CASES]
    assert sum(1 for lines in expected if lines) >= 3
    assert sum(1 for lines in expected if not lines) >= 2  # look alike, but nothing to warn about


@pytest.mark.parametrize("name", CASES)
def test_each_warned_course_is_valid_and_gets_exactly_its_warnings(name):
    problems, warnings = findings(CORPUS / name)
    assert problems == []
    expected = (CORPUS / f"{name}.expected").read_text().splitlines()
    for line in expected:
        assert any(w.startswith(line) for w in warnings), f"expected {line!r}\nfound:\n" + "\n".join(warnings)
    assert len(warnings) == len(expected), "\n".join(warnings)


def test_validate_prints_warnings_as_file_line_warning_and_succeeds(capsys):
    folder = CORPUS / "threshold-only-hidden-test"
    call_command("course", "validate", str(folder))  # no CommandError: exit status 0
    out, err = capsys.readouterr()
    assert "valid — 1 modules, 1 lessons, 1 exercises, 3 tests, 2 mutants, 2 warning(s)" in out
    hidden = folder / "modules/01-basics/exercises/mean/tests/hidden/test_mean_hidden.py"
    assert f"{hidden}:4: warning: test_variance_is_small carries 1 point(s) but makes no value check" in err
    assert f"{folder}/modules/01-basics/exercises/mean/exercise.toml:1: warning: exercise 'mean'" in err


@pytest.mark.django_db
def test_a_warned_course_imports_and_publishes(capsys):
    call_command("course", "import", str(CORPUS / "predicate-only-test"), "--publish")
    course = Course.objects.get(slug="broken")
    assert course.published_version is not None
    assert "published" in capsys.readouterr().out


def test_the_flagship_course_has_no_value_check_warnings():
    problems, warnings = findings(FLAGSHIP)
    assert problems == []
    assert warnings == []
