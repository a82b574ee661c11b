"""The TA's queue of stuck learners, and the gradebook with late work, from the rows the grading
pipeline writes (the pipeline itself is tested in grader/tests)."""

import csv
import io
from datetime import timedelta

import pytest
from django.utils import timezone

from courses.models import Exercise, Membership
from grader.models import Submission
from insights.selectors import stuck_learners
from insights.tests.test_staff_access import FAILING

pytestmark = pytest.mark.django_db


def _graded(user, course, *, passed, score, when, number=1, slug="mean"):
    exercise = Exercise.objects.get(version=course.published_version, slug=slug)
    sub = Submission.objects.create(
        user=user,
        course=course,
        exercise=exercise,
        exercise_slug=slug,
        files={"stats.py": ""},
        status="graded",
        gradable=True,
        passed=passed,
        score=score,
        max_score=4,
        number=number,
        result={**FAILING, "status": "passed" if passed else "failed", "score": score},
    )
    Submission.objects.filter(pk=sub.pk).update(created_at=when)
    return sub


def test_stuck_queue_follows_the_learner(course, make_user):
    from courses.services import membership_enroll, membership_set_role
    from insights.services import stuck_resolve
    from tutor.models import Conversation, Message

    now = timezone.now()
    dana, eli, fay = (make_user(n) for n in ("dana", "eli", "fay"))
    ta = make_user("ta")
    membership_set_role(user=ta, course=course, role=Membership.Role.TA)
    for u in (dana, eli, fay):
        membership_enroll(user=u, course=course)
    for i in range(5):  # dana: five failed submits in an hour
        _graded(dana, course, passed=False, score=1, when=now - timedelta(minutes=60 - i), number=i + 1)
    _graded(eli, course, passed=False, score=1, when=now - timedelta(hours=30), number=1)  # eli: trying for a day
    _graded(eli, course, passed=False, score=3, when=now - timedelta(hours=2), number=2)
    _graded(fay, course, passed=False, score=1, when=now - timedelta(minutes=5))  # fay: one miss, asks a human
    convo = Conversation.objects.create(
        user=fay, course=course, kind="exercise", item_slug="mean", human_requested_at=now - timedelta(minutes=1)
    )
    queue = stuck_learners(course=course)
    assert [i["learner"] for i in queue] == ["fay", "eli", "dana"]  # who asked first, then longest stuck
    assert queue[0]["reasons"] == ["asked for a human"] and queue[0]["conversation"] == convo.pk
    assert "trying for" in queue[1]["reasons"][0] and "5 failed submits" in queue[2]["reasons"][0]

    # A TA answers fay in the conversation: she leaves the queue.
    Message.objects.create(conversation=convo, role="ta", author=ta, text="Look at the divisor.")
    assert [i["learner"] for i in stuck_learners(course=course)] == ["eli", "dana"]
    # Dana is helped and marked resolved; she comes back only when stuck again afterwards.
    stuck_resolve(course=course, learner=dana, exercise_slug="mean", user=ta, note="pair-debugged")
    assert [i["learner"] for i in stuck_learners(course=course)] == ["eli"]
    _graded(dana, course, passed=False, score=1, when=now + timedelta(minutes=1), number=6)
    assert "dana" in [i["learner"] for i in stuck_learners(course=course)]
    # Passing takes a learner off the queue for good.
    _graded(eli, course, passed=True, score=4, when=now, number=3)
    assert "eli" not in [i["learner"] for i in stuck_learners(course=course)]


def test_gradebook_best_credited_score_and_late_marks(course, make_user, client):
    from courses.services import membership_enroll, membership_set_role, policy_set

    due = timezone.now() - timedelta(days=2)
    policy_set(
        course=course,
        exercise_slug="mean",
        user=None,
        due_at=due,
        late_policy="curve",
        late_curve=[[0, 1.0], [24, 0.5], [48, 0.0]],
    )
    gil, hal, ivy = (make_user(n) for n in ("gil", "hal", "=cmd"))
    for u in (gil, hal, ivy):
        membership_enroll(user=u, course=course)
    _graded(gil, course, passed=False, score=3, when=due - timedelta(hours=5), number=1)  # on time, 3/4
    _graded(gil, course, passed=True, score=4, when=due + timedelta(hours=12), number=2)  # 12 h late: 4 × 0.75
    _graded(hal, course, passed=True, score=4, when=due + timedelta(hours=30), number=1)  # 30 h late: 4 × 0.375
    teacher = make_user("teacher")
    membership_set_role(user=teacher, course=course, role=Membership.Role.INSTRUCTOR)
    client.force_login(teacher)
    rows = {
        r["username"]: r
        for r in csv.DictReader(
            io.StringIO(client.get(f"/courses/{course.slug}/staff/gradebook/?format=csv").content.decode())
        )
    }
    assert set(rows) == {"gil", "hal", "'=cmd"}  # a name a spreadsheet would run as a formula is quoted
    # gil: the late 4 × 0.75 = 3 does not beat the on-time 3, which stands; the pass came late.
    assert (rows["gil"]["mean score"], rows["gil"]["mean status"], rows["gil"]["mean late"]) == ("3", "passed", "late")
    assert (rows["hal"]["mean score"], rows["hal"]["mean status"], rows["hal"]["mean late"]) == (
        "1.5",
        "passed",
        "late",
    )
    assert (rows["'=cmd"]["mean score"], rows["'=cmd"]["mean status"]) == ("", "")
    assert rows["hal"]["total"] == "1.5" and rows["hal"]["max total"] == rows["hal"]["mean max"] == "4"
    page = client.get(f"/courses/{course.slug}/staff/gradebook/").content.decode()
    assert 'data-learner="hal"' in page and "1.5/4" in page
