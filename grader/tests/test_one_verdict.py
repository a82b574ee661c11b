"""One verdict, computed once (issue #10, item 1): the result the runner shows the learner is the
result the database stores, whatever the reference cache held when the job ran.

The bug this guards: Run filled the cache with the visible tests' expectations, the Submit after
it computed the hidden ones, and the database graded against only the fresh half, storing
"could not be graded" for correct code while the browser briefly showed "passed". Each test
starts from a cold cache (a fresh database), as a new instance would.
"""

import json

import pytest

from grader.models import ReferenceRun, Submission
from grader.tests.test_pipeline import SOLUTION, submit, wait_finished

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker, pytest.mark.sandbox]

WRONG = "def mean(xs):\n    return sum(xs) / (len(xs) + 1)\n\n\ndef variance(xs):\n    return 0.0\n"


def shown(s: Submission) -> dict:
    """The last result the learner's browser received for this submission."""
    results = [e for e in s.events if e["type"] == "result"]
    assert results, [e["type"] for e in s.events]
    return results[-1]


def assert_one_verdict(s: Submission):
    live = shown(s)
    assert (live["status"], live["score"], live["gradable"]) == (s.result["status"], s.score, s.gradable)
    assert [(t["id"], t["status"]) for t in live["tests"]] == [(t["id"], t["status"]) for t in s.result["tests"]]
    # The database agreed, so it said "recorded" rather than sending a second, different result.
    assert [e["type"] for e in s.events].count("result") == 1 and s.events[-1]["type"] == "recorded"


def run_then(client, kind_first, files_first, kind_then, files_then):
    first = wait_finished(submit(client, files_first, kind=kind_first).json()["id"])
    then = wait_finished(submit(client, files_then, kind=kind_then).json()["id"])
    return first, then


def test_run_then_submit_of_correct_code_gets_full_marks(student_client, celery_worker):
    run, sub = run_then(student_client, "run", {"stats.py": SOLUTION}, "submit", {"stats.py": SOLUTION})
    assert run.passed and run.score == run.max_score == 3  # visible tests only
    assert sub.gradable and sub.passed and sub.score == sub.max_score == 4, sub.result["message"]
    assert "could not be graded" not in sub.result["message"]
    assert_one_verdict(run)
    assert_one_verdict(sub)
    # Both halves of the reference's expectations are now cached for everyone after.
    cached = ReferenceRun.objects.get(content_hash=sub.exercise.content_hash, device="cpu")
    assert {e["test"] for e in cached.events if e.get("t") == "test"} == {
        "test_mean_small",
        "test_variance",
        "test_random_lists",
    }


def test_submit_then_run(student_client, celery_worker):
    sub, run = run_then(student_client, "submit", {"stats.py": SOLUTION}, "run", {"stats.py": SOLUTION})
    assert sub.passed and sub.score == 4 and run.passed and run.score == 3
    assert_one_verdict(sub)
    assert_one_verdict(run)


def test_run_wrong_code_edit_then_submit(student_client, student, celery_worker):
    from courses.models import ExerciseProgress

    run, sub = run_then(student_client, "run", {"stats.py": WRONG}, "submit", {"stats.py": SOLUTION})
    assert run.gradable and not run.passed and run.score == 0
    assert sub.passed and sub.score == 4
    assert_one_verdict(run)
    assert_one_verdict(sub)
    assert ExerciseProgress.objects.get(user=student, exercise_slug="mean").status == "passed"


def test_submit_wrong_then_submit_right_counts_two_attempts(student_client, celery_worker):
    first, second = run_then(student_client, "submit", {"stats.py": WRONG}, "submit", {"stats.py": SOLUTION})
    assert not first.passed and first.result["status"] == "failed" and first.number == 1
    assert second.passed and second.number == 2
    assert_one_verdict(first)
    assert_one_verdict(second)


def test_a_new_course_version_between_run_and_submit(student_client, celery_worker, course_folder):
    """The instructor publishes a version whose hidden test changed: the Submit is graded against
    the new version's own reference, computed on its own cold cache."""
    from courses.format.tree import load
    from courses.services import version_import, version_publish

    run = wait_finished(submit(student_client, {"stats.py": SOLUTION}, kind="run").json()["id"])
    hidden = course_folder / "modules/01-basics/exercises/mean/tests/hidden/test_mean_hidden.py"
    hidden.write_text(hidden.read_text().replace("range(5)", "range(7)"))
    tree, problems = load(course_folder)
    assert not problems
    version, _ = version_import(tree=tree)
    version_publish(version=version)
    sub = wait_finished(submit(student_client, {"stats.py": SOLUTION}).json()["id"])
    assert sub.exercise.version_id == version.pk != run.exercise.version_id
    assert sub.exercise.content_hash != run.exercise.content_hash
    assert sub.passed and sub.score == 4, sub.result["message"]
    assert_one_verdict(sub)
    assert sub.result["exercise"]["version"] == version.number


def test_the_stored_result_is_valid_json_for_postgresql(student_client, celery_worker):
    sub = wait_finished(submit(student_client, {"stats.py": SOLUTION}).json()["id"])
    json.dumps(sub.result, allow_nan=False)
    json.dumps(sub.events, allow_nan=False)
