"""The whole grading path with real parts: HTTP submit -> Redis -> a Celery worker -> the
bubblewrap sandbox -> trusted comparison -> the database, with events on the channel layer."""

import json
import time

import pytest

from grader.models import ReferenceRun, Submission

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker, pytest.mark.sandbox]

SOLUTION = """def mean(xs):\n    return sum(xs) / len(xs)\n\n\ndef variance(xs):\n    mu = mean(xs)\n    return sum((x - mu) ** 2 for x in xs) / len(xs)\n"""


def submit(client, files, kind="submit", exercise="mean"):
    response = client.post(
        f"/courses/demo/exercises/{exercise}/submit/",
        json.dumps({"kind": kind, "files": files}),
        content_type="application/json",
    )
    return response


def wait_finished(pk, timeout=90):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        s = Submission.objects.get(pk=pk)
        if s.finished:
            return s
        time.sleep(0.1)
    raise AssertionError(f"submission {pk} still {Submission.objects.get(pk=pk).status} after {timeout}s")


def test_correct_solution_passes_and_counts(student_client, student, celery_worker):
    response = submit(student_client, {"stats.py": SOLUTION})
    assert response.status_code == 201
    s = wait_finished(response.json()["id"])
    assert s.status == "graded" and s.passed and s.gradable
    assert s.score == s.max_score == 4
    assert s.result["status"] == "passed" and s.result["exercise"]["version"] == 1
    assert s.started_at and s.finished_at and s.device == "cpu"
    assert [t["status"] for t in s.result["tests"]] == ["passed", "passed", "passed"]
    # The reference's observations were computed once and cached for the next submission.
    assert ReferenceRun.objects.filter(content_hash=s.exercise.content_hash, device="cpu").exists()
    from courses.models import ExerciseProgress

    progress = ExerciseProgress.objects.get(user=student, exercise_slug="mean")
    assert progress.status == "passed" and progress.best_score == 4
    # The event log was persisted, in order, ending with the result.
    seqs = [e["seq"] for e in s.events]
    assert seqs == sorted(seqs) == list(range(1, len(seqs) + 1))
    # The runner shows the result as soon as the run ends; the database side then confirms it.
    assert s.events[0]["type"] == "queued" and [e["type"] for e in s.events[-2:]] == ["result", "recorded"]
    assert {"running", "test_started", "test", "grading"} <= {e["type"] for e in s.events}


def test_starter_fails_with_expected_and_actual_for_visible_tests(student_client, celery_worker):
    from courses.models import Exercise
    from courses.selectors import exercise_bundle

    starter = exercise_bundle(exercise=Exercise.objects.get(slug="mean"))["starter"]["stats.py"]
    s = wait_finished(submit(student_client, {"stats.py": starter}).json()["id"])
    assert s.status == "graded" and not s.passed
    rows = {t["id"]: t for t in s.result["tests"]}
    assert rows["test_mean_small"]["status"] == "failed"
    assert rows["test_mean_small"]["expected"] == "2.5" and rows["test_mean_small"]["actual"] == "0"
    assert rows["test_variance"]["status"] == "skipped" and rows["test_variance"]["skipped_because"] == [
        "test_mean_small"
    ]
    # Hidden tests never show their expected values.
    assert rows["test_random_lists"]["visibility"] == "hidden"
    assert (
        rows["test_random_lists"]["expected"] is None and "reference solution" in rows["test_random_lists"]["message"]
    )


def test_run_checks_visible_tests_only_and_does_not_count(student_client, student, celery_worker):
    s = wait_finished(submit(student_client, {"stats.py": SOLUTION}, kind="run").json()["id"])
    assert s.kind == "run" and s.status == "graded"
    assert {t["id"] for t in s.result["tests"]} == {"test_mean_small", "test_variance"}
    from courses.models import ExerciseProgress

    assert not ExerciseProgress.objects.filter(user=student).exists()


@pytest.mark.parametrize(
    "code,needle",
    [
        ("def mean(xs)\n    return 1\n", "SyntaxError in stats.py, line 1"),
        ("import numpyy\n", "No module named 'numpyy'"),
        ("def mean(xs):\n    return 0\n", "stats.py must define variance"),
    ],
)
def test_broken_code_gets_a_clear_message(student_client, celery_worker, code, needle):
    s = wait_finished(submit(student_client, {"stats.py": code}).json()["id"])
    assert s.status == "graded" and not s.passed
    text = s.result["message"] + " ".join(t["message"] for t in s.result["tests"])
    assert needle in text, text
    assert "runner.py" not in text and "harness" not in text


@pytest.mark.parametrize(
    "files,error",
    [
        ({"stats.py": "x = 1\x00\x01"}, "binary"),
        ({"stats.py": "x = 1\n" + "#" * (70 * 1024)}, "limit for this exercise"),
        ({"other.py": "x = 1"}, "not part of this exercise"),
        ({}, "no files"),
    ],
)
def test_bad_files_are_rejected_before_queueing(student_client, files, error):
    response = submit(student_client, files)
    assert response.status_code == 400
    assert error in response.json()["error"]
    assert not Submission.objects.exists()


def test_events_replay_after_reconnect_without_duplicates(student_client, student, celery_worker):
    from gpu_runner.events import replay

    s = wait_finished(submit(student_client, {"stats.py": SOLUTION}).json()["id"])
    everything = replay(s.pk, 0)
    assert [e["seq"] for e in everything] == list(range(1, len(everything) + 1))
    later = replay(s.pk, 3)
    assert [e["seq"] for e in later] == list(range(4, len(everything) + 1))


def test_reaper_requeues_a_lost_submission(student_client, student, celery_worker):
    """A submission whose message was lost (queued in the DB, nowhere in Redis) is re-enqueued
    with a new attempt number once its deadline passes, and then graded."""
    from datetime import timedelta

    from django.utils import timezone

    from courses.models import Exercise
    from grader.services import submissions_reap

    exercise = Exercise.objects.get(slug="mean")
    lost = Submission.objects.create(
        user=student,
        course=exercise.version.course,
        exercise=exercise,
        exercise_slug="mean",
        files={"stats.py": SOLUTION},
        queue="grade.cpu",
        deadline_at=timezone.now() - timedelta(seconds=1),
    )
    assert submissions_reap() == {"requeued": 1, "failed": 0}
    s = wait_finished(lost.pk)
    assert s.attempt == 2 and s.status == "graded" and s.passed


def test_reaper_gives_up_after_the_attempt_limit(student, settings):
    from datetime import timedelta

    from django.utils import timezone

    from courses.models import Exercise
    from grader.services import submissions_reap

    exercise = Exercise.objects.get(slug="mean")
    stuck = Submission.objects.create(
        user=student,
        course=exercise.version.course,
        exercise=exercise,
        exercise_slug="mean",
        files={"stats.py": SOLUTION},
        attempt=settings.GRADER_MAX_ATTEMPTS,
        deadline_at=timezone.now() - timedelta(seconds=1),
    )
    assert submissions_reap() == {"requeued": 0, "failed": 1}
    stuck.refresh_from_db()
    assert stuck.status == "error" and not stuck.gradable
    assert "does not count as an attempt" in stuck.result["message"]


def test_a_stale_result_does_not_overwrite_a_newer_attempt(student):
    from courses.models import Exercise
    from grader.services import submission_record_result

    exercise = Exercise.objects.get(slug="mean")
    s = Submission.objects.create(
        user=student,
        course=exercise.version.course,
        exercise=exercise,
        exercise_slug="mean",
        files={"stats.py": SOLUTION},
        attempt=2,
    )
    assert (
        submission_record_result(
            payload={"submission_id": s.pk, "attempt": 1, "gradable": False, "infrastructure_error": "x"}
        )
        is None
    )
    s.refresh_from_db()
    assert s.status == "queued"


def test_history_lists_attempts_and_shows_a_diff(student_client, student, celery_worker):
    first = wait_finished(submit(student_client, {"stats.py": "def mean(xs):\n    return 0\n"}).json()["id"])
    second = wait_finished(submit(student_client, {"stats.py": SOLUTION}).json()["id"])
    history = student_client.get("/courses/demo/exercises/mean/history/").content.decode()
    assert f"/submissions/{first.pk}/" in history and f"/submissions/{second.pk}/" in history
    detail = student_client.get(f"/submissions/{second.pk}/").content.decode()
    assert "Changes since the previous attempt" in detail
    assert (
        '<div class="del">-    return 0</div>' in detail
        and '<div class="add">+    return sum(xs) / len(xs)</div>' in detail
    )
