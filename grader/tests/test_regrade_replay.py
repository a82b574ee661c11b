"""An instructor finds a test too lax, and fixes it without breaking the cohort by accident:

learners submit (one Runs first, then Submits) against version 1, whose variance test accepts the
sample variance (tolerance 0.5, no hidden variance check) → the instructor tightens the test in the
authoring workspace → replays the workspace against every past submit, which names exactly the one
learner whose verdict would flip → publishes → regrades the exercise against the published
version: exactly that score changes, the history keeps both, the learner (only that one) is told,
progress goes back to "attempted" → a regrade against the version it was graded with restores it.

Real parts throughout: the Celery worker, the sandbox, the database."""

import time
from pathlib import Path

import pytest

from courses.models import ExerciseProgress, Membership
from grader.models import GradeRecord, Notice, Regrade, Replay, Submission
from grader.tests.test_pipeline import SOLUTION, submit, wait_finished
from tests.fixtures import import_published, make_course_folder

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker, pytest.mark.sandbox]

SAMPLE_VARIANCE = SOLUTION.replace("/ len(xs)\n", "/ (len(xs) - 1)\n").replace(
    "return sum(xs) / (len(xs) - 1)", "return sum(xs) / len(xs)"
)
INTEGER_MEAN = SOLUTION.replace("return sum(xs) / len(xs)", "return sum(xs) // len(xs)", 1)
EXERCISE = "modules/01-basics/exercises/mean"
VISIBLE = f"{EXERCISE}/tests/visible/test_mean.py"
HIDDEN = f"{EXERCISE}/tests/hidden/test_mean_hidden.py"
STRICT_VISIBLE = 'check("variance([1, 2, 3, 4])", variance([1, 2, 3, 4]), tol=1e-9)'
LAX_VISIBLE = 'check("variance([1, 2, 3, 4])", variance([1, 2, 3, 4]), tol=0.5)'
HIDDEN_VARIANCE = '        check(f"variance #{i}", variance(xs), tol=1e-9)\n'


@pytest.fixture
def lax_course(db, tmp_path):
    """The demo course whose version 1 lets the sample variance through."""
    folder = make_course_folder(tmp_path / "demo")
    visible, hidden = folder / VISIBLE, folder / HIDDEN
    assert STRICT_VISIBLE in visible.read_text() and HIDDEN_VARIANCE in hidden.read_text()
    visible.write_text(visible.read_text().replace(STRICT_VISIBLE, LAX_VISIBLE))
    hidden.write_text(hidden.read_text().replace(HIDDEN_VARIANCE, ""))
    return import_published(Path(folder))


def _learner(make_user, course, client_factory, name):
    from courses.services import membership_enroll

    user = make_user(name)
    membership_enroll(user=user, course=course)
    client = client_factory()
    client.force_login(user)
    return user, client


def _wait(predicate, timeout=120):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError("timed out")


def test_tighten_replay_publish_regrade(lax_course, make_user, celery_worker, client):
    from django.test import Client

    from courses.services import membership_set_role, workspace_get_or_create, workspace_tree, workspace_write
    from grader.services import regrade_start, replay_start
    from insights.services import candidate_from_workspace

    course = lax_course
    ana, ana_client = _learner(make_user, course, Client, "ana")
    ben, ben_client = _learner(make_user, course, Client, "ben")
    cai, cai_client = _learner(make_user, course, Client, "cai")
    teacher = make_user("teacher")
    membership_set_role(user=teacher, course=course, role=Membership.Role.INSTRUCTOR)

    # Version 1: ana Runs, then Submits the right code; ben's sample variance passes too; cai's
    # integer mean fails.
    assert wait_finished(submit(ana_client, {"stats.py": SOLUTION}, kind="run").json()["id"]).passed
    a = wait_finished(submit(ana_client, {"stats.py": SOLUTION}).json()["id"])
    b = wait_finished(submit(ben_client, {"stats.py": SAMPLE_VARIANCE}).json()["id"])
    c = wait_finished(submit(cai_client, {"stats.py": INTEGER_MEAN}).json()["id"])
    assert (a.passed, b.passed, c.passed) == (True, True, False)
    assert ExerciseProgress.objects.get(user=ben, exercise_slug="mean").status == "passed"

    # The instructor tightens the tests in the workspace and replays it before publishing.
    ws = workspace_get_or_create(course=course, user=teacher)
    tree = workspace_tree(workspace=ws)
    workspace_write(
        workspace=ws, path=VISIBLE, content=tree.text(VISIBLE).replace(LAX_VISIBLE, STRICT_VISIBLE), user=teacher
    )
    hidden = tree.text(HIDDEN).replace("tol=1e-9)\n", "tol=1e-9)\n" + HIDDEN_VARIANCE, 1)
    workspace_write(workspace=ws, path=HIDDEN, content=hidden, user=teacher)
    # The author page says the edit changes how "mean" grades, and offers the replay.
    author = Client()
    author.force_login(teacher)
    html = author.get(f"/courses/{course.slug}/author/").content.decode()
    assert 'id="grading-changes"' in html and "<strong>mean</strong>" in html
    candidate, changed = candidate_from_workspace(course=course, user=teacher)
    assert changed == ["mean"] and candidate.number == 2 and course.published_version.number == 1
    exercise = candidate.exercises.get(slug="mean")
    replay = replay_start(exercise=exercise, user=teacher)
    assert replay.total == 3  # every graded submit; ana's Run is not one
    _wait(lambda: Replay.objects.get(pk=replay.pk).status == Replay.Status.FINISHED)
    outcomes = {o.submission_id: o for o in replay.outcomes.all()}
    flips = {sid for sid, o in outcomes.items() if o.after_passed != o.before_passed}
    assert flips == {b.pk}
    assert outcomes[b.pk].before_passed and not outcomes[b.pk].after_passed
    assert "test_variance" in outcomes[b.pk].detail
    # Nothing learners see changed.
    assert Submission.objects.get(pk=b.pk).passed and not Notice.objects.exists()

    # The replay page shows the flip, to the instructor only.
    page = Client()
    page.force_login(teacher)
    html = page.get(f"/courses/{course.slug}/staff/replays/{replay.pk}/").content.decode()
    assert f'data-submission="{b.pk}"' in html and f'data-submission="{a.pk}"' not in html
    assert ben_client.get(f"/courses/{course.slug}/staff/replays/{replay.pk}/").status_code == 403

    # Publish, then regrade the exercise against the published version.
    assert page.post(f"/courses/{course.slug}/versions/{candidate.number}/publish/").status_code == 302
    course.refresh_from_db()
    regrade = regrade_start(course=course, user=teacher, scope="exercise", exercise_slug="mean", note="variance fix")
    assert regrade.total == 3
    _wait(lambda: Regrade.objects.get(pk=regrade.pk).finished_at is not None)
    regrade.refresh_from_db()
    assert regrade.done == 3 and regrade.changed == 1
    a2, b2, c2 = (Submission.objects.get(pk=s.pk) for s in (a, b, c))
    assert (a2.passed, b2.passed, c2.passed) == (True, False, False)
    assert (a2.score, c2.score) == (a.score, c.score) and b2.score < b.score
    assert b2.result["exercise"]["version"] == 2 and b2.number == b.number
    history = list(GradeRecord.objects.filter(submission=b2).values_list("version", "passed", "score"))
    assert history == [(1, True, b.score), (2, False, b2.score)]
    # Only ben is told, in words that say what changed.
    notices = list(Notice.objects.all())
    assert [n.user_id for n in notices] == [ben.pk]
    assert "no longer passing" in notices[0].text and f"{b.score:g}/" in notices[0].text
    assert "no longer passing" in ben_client.get(f"/courses/{course.slug}/").content.decode()
    progress = ExerciseProgress.objects.get(user=ben, exercise_slug="mean")
    assert progress.status == "attempted" and progress.best_score == b2.score and progress.submissions == 1

    # Regrading ben's submit against the version it was graded with (1) restores it, and says so.
    again = regrade_start(course=course, user=teacher, scope="submission", submission=b2, target="original")
    assert again.total == 1
    _wait(lambda: Regrade.objects.get(pk=again.pk).finished_at is not None)
    b3 = Submission.objects.get(pk=b.pk)
    assert b3.passed and b3.score == b.score and b3.result["exercise"]["version"] == 1
    assert list(GradeRecord.objects.filter(submission=b3).values_list("version", "passed")) == [
        (1, True),
        (2, False),
        (1, True),
    ]
    assert "now passed" in Notice.objects.filter(user=ben).first().text
    assert ExerciseProgress.objects.get(user=ben, exercise_slug="mean").status == "passed"
    # Then ben fixes the code and submits on the published version: a new attempt, graded as usual.
    fixed = wait_finished(submit(ben_client, {"stats.py": SOLUTION}).json()["id"])
    assert fixed.passed and fixed.number == 2 and fixed.result["exercise"]["version"] == 2
    assert ExerciseProgress.objects.get(user=ben, exercise_slug="mean").submissions == 2
