"""Regenerate courses/tests/broken_courses/: one folder per way a course can be broken, each a copy
of the `course new` skeleton with one mistake, and an `expected.txt` listing the problems
validation must report (`file:line: fragment of the message`). Also courses/tests/warned_courses/:
valid courses whose grading learner code could forge, with the warnings validation must give
(every one of them, and no others). Run from the repository root:

    python courses/tests/make_broken_courses.py
"""

import os
import re
import shutil
from pathlib import Path

HERE = Path(__file__).resolve().parent
SKELETON = HERE.parent / "skeleton"
OUT = HERE / "broken_courses"
WARNED_OUT = HERE / "warned_courses"
EX = "modules/01-basics/exercises/mean"
LESSON = "modules/01-basics/lessons/01-welcome.md"


def base(name, out=OUT):
    dest = out / name
    shutil.copytree(SKELETON, dest)
    toml = dest / "course.toml"
    toml.write_text(toml.read_text().replace("{slug}", "broken").replace("{title}", "Broken"))
    return dest


def sub(path: Path, old, new, count=1):
    text = path.read_text()
    assert old in text, (path, old)
    path.write_text(text.replace(old, new, count))


def line_of(path: Path, needle: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), start=1) if needle in line)


CASES = {}


def case(fn):
    CASES[fn.__name__.replace("_", "-")] = fn
    return fn


@case
def malformed_toml(d):
    sub(d / "course.toml", 'title = "Broken"', 'title = "Broken')
    return [f"course.toml:{line_of(d / 'course.toml', 'title =')}: invalid TOML"]


@case
def unknown_key(d):
    sub(d / EX / "exercise.toml", "wall_seconds = 10", "wal_seconds = 10")
    return [
        f"{EX}/exercise.toml:{line_of(d / EX / 'exercise.toml', 'wal_seconds')}: unknown key 'wal_seconds' in [resources] (did you mean 'wall_seconds'?)"
    ]


@case
def missing_course_toml(d):
    (d / "course.toml").unlink()
    return ["course.toml:1: missing: every course folder has a course.toml"]


@case
def lesson_listed_but_absent(d):
    sub(d / "modules/01-basics/module.toml", '"lesson:welcome"', '"lesson:welcome", "lesson:ghost"')
    return [
        "modules/01-basics/module.toml:3: lesson 'ghost' is listed but modules/01-basics/lessons/ has no lesson with that slug"
    ]


@case
def exercise_listed_but_absent(d):
    sub(d / "modules/01-basics/module.toml", '"exercise:mean"', '"exercise:mean", "exercise:ghost"')
    return [
        "modules/01-basics/module.toml:3: exercise 'ghost' is listed but modules/01-basics/exercises/ has no exercise with that slug"
    ]


@case
def duplicate_lesson_slug(d):
    shutil.copy(d / LESSON, d / "modules/01-basics/lessons/02-welcome-again.md")
    sub(d / "modules/01-basics/lessons/02-welcome-again.md", "title: Welcome", "title: Welcome again\nslug: welcome")
    return ["modules/01-basics/lessons/02-welcome-again.md:1: duplicate lesson slug 'welcome'"]


@case
def missing_starter_file(d):
    sub(d / EX / "exercise.toml", 'files = ["stats.py"]', 'files = ["stats.py", "extra.py"]')
    n = line_of(d / EX / "exercise.toml", "files =")
    return [
        f"{EX}/exercise.toml:{n}: files: starter/extra.py does not exist",
        f"{EX}/exercise.toml:{n}: files: solution/extra.py does not exist",
    ]


@case
def missing_solution(d):
    (d / EX / "solution/stats.py").unlink()
    return [
        f"{EX}/exercise.toml:{line_of(d / EX / 'exercise.toml', 'files =')}: files: solution/stats.py does not exist"
    ]


@case
def dataset_wrong_checksum(d):
    (d / "assets").mkdir()
    (d / "assets/tiny.txt").write_text("not the declared bytes\n")
    sub(
        d / "course.toml",
        'modules = ["01-basics"]',
        'modules = ["01-basics"]\n\n[[datasets]]\nname = "tiny.txt"\n'
        'url = "https://example.org/tiny.txt"\nsha256 = "' + "0" * 64 + '"\nsize = 23',
    )
    return [f"course.toml:{line_of(d / 'course.toml', 'sha256 =')}: dataset tiny.txt: "]


@case
def script_in_markdown(d):
    sub(d / LESSON, "## Code {#code}", "<script>alert('x')</script>\n\n## Code {#code}")
    return [f"{LESSON}:{line_of(d / LESSON, '<script>')}: raw <script> is not allowed in lessons"]


@case
def onerror_in_markdown(d):
    sub(d / LESSON, "## Code {#code}", '<img src="x.png" onerror="alert(1)">\n\n## Code {#code}')
    return [f"{LESSON}:{line_of(d / LESSON, 'onerror')}: event-handler attributes (like onerror=) are not allowed"]


@case
def javascript_link(d):
    sub(d / LESSON, "## Code {#code}", "See [this](javascript:alert(1)).\n\n## Code {#code}")
    return [f"{LESSON}:{line_of(d / LESSON, 'javascript:')}: javascript:/data: URLs are not allowed in lessons"]


@case
def path_escapes_with_dotdot(d):
    sub(d / EX / "exercise.toml", 'files = ["stats.py"]', 'files = ["../../stats.py"]')
    return [
        f"{EX}/exercise.toml:{line_of(d / EX / 'exercise.toml', 'files =')}: files: path '../../stats.py' escapes the course folder"
    ]


@case
def absolute_path(d):
    sub(d / EX / "exercise.toml", 'prompt = "prompt.md"', 'prompt = "/etc/passwd"')
    return [
        f"{EX}/exercise.toml:{line_of(d / EX / 'exercise.toml', 'prompt =')}: prompt: path '/etc/passwd' must be relative to the course folder"
    ]


@case
def symlink_out_of_the_folder(d):
    os.symlink("/etc/hostname", d / "modules/01-basics/lessons/02-host.md")
    return ["modules/01-basics/lessons/02-host.md:1: symlink points outside the course folder (to /etc/hostname)"]


@case
def missing_front_matter(d):
    path = d / LESSON
    path.write_text(re.sub(r"\A---.*?---\n", "", path.read_text(), flags=re.S))
    return [f"{LESSON}:1: a lesson starts with front matter between --- lines"]


@case
def malformed_front_matter(d):
    sub(d / LESSON, "minutes: 5", "minutes: [5")
    return [f"{LESSON}:3: invalid front matter"]


@case
def depends_on_unknown_test(d):
    sub(d / EX / "exercise.toml", 'depends_on = ["test_mean_small"]', 'depends_on = ["test_nope"]')
    return [
        f"{EX}/exercise.toml:{line_of(d / EX / 'exercise.toml', 'depends_on')}: depends_on: no test named 'test_nope'"
    ]


@case
def settings_for_a_missing_test(d):
    sub(d / EX / "exercise.toml", "[tests.test_variance]", "[tests.test_ghost]\npoints = 1\n\n[tests.test_variance]")
    return [
        f"{EX}/exercise.toml:{line_of(d / EX / 'exercise.toml', '[tests.test_ghost]')}: [tests.test_ghost]: there is no test function test_ghost in tests/"
    ]


@case
def dependency_cycle(d):
    sub(
        d / EX / "exercise.toml",
        "[tests.test_mean_small]\n",
        '[tests.test_mean_small]\ndepends_on = ["test_variance"]\n',
    )
    n = line_of(d / EX / "exercise.toml", 'depends_on = ["test_variance"]')
    return [f"{EX}/exercise.toml:{n}: depends_on forms a cycle"]


@case
def broken_lesson_link(d):
    sub(d / EX / "prompt.md", "[[welcome#code]]", "[[welcome#no-such-heading]]")
    return [
        f"{EX}/prompt.md:3: link [[welcome#no-such-heading]]: lesson 'welcome' has no heading with anchor 'no-such-heading'"
    ]


@case
def test_file_does_not_parse(d):
    sub(d / EX / "tests/visible/test_mean.py", "def test_variance(check):", "def test_variance(check)")
    return [
        f"{EX}/tests/visible/test_mean.py:{line_of(d / EX / 'tests/visible/test_mean.py', 'def test_variance')}: test file does not parse"
    ]


@case
def unknown_device(d):
    sub(d / EX / "exercise.toml", 'device = "cpu"', 'device = "tpu"')
    n = line_of(d / EX / "exercise.toml", "device")
    return [f'{EX}/exercise.toml:{n}: resources.device must be "cpu" or "gpu", not \'tpu\'']


@case
def module_folder_not_listed(d):
    shutil.copytree(d / "modules/01-basics", d / "modules/02-extra")
    return ["modules/02-extra/module.toml:1: module folder '02-extra' is not listed in course.toml modules"]


@case
def wrong_type(d):
    sub(d / EX / "exercise.toml", "points = 2", 'points = "two"')
    n = line_of(d / EX / "exercise.toml", 'points = "two"')
    return [f"{EX}/exercise.toml:{n}: [tests.test_variance]: points must be an integer or a number, not str"]


@case
def mutant_for_an_unknown_file(d):
    (d / EX / "mutants/multi").mkdir()
    (d / EX / "mutants/multi/other.py").write_text("x = 1\n")
    return [f"{EX}/mutants/multi/other.py:1: mutant file other.py is not one of the exercise's files"]


@case
def tutor_endpoint_without_its_key(d):
    toml = d / "course.toml"
    toml.write_text(toml.read_text() + '\n[tutor]\nmodel = "m"\nbase_url = "https://llm.example.org/v1"\n')
    n = line_of(toml, "base_url")
    return [f"course.toml:{n}: [tutor] base_url needs api_key_env = 'COURSE_BROKEN_TUTOR_KEY'"]


@case
def tutor_key_of_someone_else(d):
    toml = d / "course.toml"
    toml.write_text(
        toml.read_text() + '\n[tutor]\nbase_url = "https://llm.example.org/v1"\napi_key_env = "TUTOR_API_KEY"\n'
    )
    n = line_of(toml, "api_key_env")
    return [
        f"course.toml:{n}: [tutor] api_key_env must be 'COURSE_BROKEN_TUTOR_KEY' for this course, not 'TUTOR_API_KEY'"
    ]


# --- valid, but warned about: tests whose verdict learner code could forge -------------------------
WARNED = {}
VISIBLE = f"{EX}/tests/visible/test_mean.py"
HIDDEN = f"{EX}/tests/hidden/test_mean_hidden.py"


def warned(fn):
    WARNED[fn.__name__.replace("_", "-")] = fn
    return fn


def append(path: Path, text):
    path.write_text(path.read_text() + text)


@warned
def predicate_only_test(d):
    append(
        d / VISIBLE,
        '\n\ndef test_is_a_float(check):\n    check.true("mean is a float", isinstance(mean([1, 2]), float))\n',
    )
    n = line_of(d / VISIBLE, "def test_is_a_float")
    return [f"{VISIBLE}:{n}: warning: test_is_a_float carries 1 point(s) but makes no value check"]


@warned
def threshold_only_hidden_test(d):
    (d / HIDDEN).write_text(
        "from stats import variance\n\n\n"
        "def test_variance_is_small(check):\n"
        '    check.at_most("variance([1, 2, 3])", variance([1, 2, 3]), 1.0)\n'
    )
    return [
        f"{HIDDEN}:4: warning: test_variance_is_small carries 1 point(s) but makes no value check",
        f"{EX}/exercise.toml:1: warning: exercise 'mean' has no hidden test with a value check",
    ]


@warned
def no_hidden_tests(d):
    (d / HIDDEN).unlink()
    return [f"{EX}/exercise.toml:1: warning: exercise 'mean' has no hidden test with a value check"]


@warned
def value_check_in_a_helper(d):
    # Not warned about: the test hands `check` to a helper that makes the value check.
    append(
        d / VISIBLE,
        "\n\ndef report(c, xs):\n"
        '    c.true("non-empty", bool(xs))\n'
        '    c("mean", mean(xs), tol=1e-9)\n\n\n'
        "def test_mean_via_a_helper(check):\n"
        "    report(c=check, xs=[2.0, 4.0])\n",
    )
    return []


@warned
def predicate_test_worth_no_points(d):
    # Not warned about: a test with points = 0 cannot move the score.
    append(d / VISIBLE, '\n\ndef test_has_a_docstring(check):\n    check.true("docstring", bool(mean.__doc__))\n')
    append(d / f"{EX}/exercise.toml", "\n[tests.test_has_a_docstring]\npoints = 0\n")
    return []


def main():
    for out, cases in ((OUT, CASES), (WARNED_OUT, WARNED)):
        if out.exists():
            shutil.rmtree(out)
        out.mkdir()
        for name, build in cases.items():
            folder = base(name, out)
            expected = build(folder)
            (out / f"{name}.expected").write_text("".join(line + "\n" for line in expected))
        print(f"wrote {len(cases)} courses to {out}")


if __name__ == "__main__":
    main()
