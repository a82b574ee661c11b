"""An instructor's morning in Chromium: the dashboard shows the cohort, the misconceptions page
groups two learners who wrote different code with the same bug, the instructor writes a hint for
it from the cluster page, then regrades the exercise and watches the regrade finish; the learner
whose score did not change is not bothered, and a TA marks a stuck learner as helped."""

import time

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import log_in

pytestmark = pytest.mark.e2e


@pytest.fixture
def cohort(site, make_user):
    from courses.models import Course, Exercise
    from courses.services import membership_set_role
    from grader.models import Submission
    from grader.services import submission_create
    from insights.seeding import LEARNER_FILE, variants

    course = Course.objects.get(slug="zero-to-gpt")
    exercise = Exercise.objects.get(version=course.published_version, slug="value")
    by_key = {(v.impl, v.bug): v for v in variants()}
    picks = {"ada": ("impl_a", "rsub_order"), "bo": ("impl_c", "rsub_order"), "cy": ("impl_b", None)}
    for name, key in picks.items():
        user = make_user(name)
        membership_set_role(user=user, course=course, role="student")
        submission_create(user=user, exercise=exercise, files={LEARNER_FILE: by_key[key].source})
    for name, role in (("helper", "ta"), ("teacher", "instructor")):
        membership_set_role(user=make_user(name), course=course, role=role)
    deadline = time.monotonic() + 180
    while Submission.objects.exclude(status__in=("graded", "error")).exists():
        assert time.monotonic() < deadline
        time.sleep(0.3)
    return course


def test_dashboard_cluster_hint_and_regrade(new_page, cohort, shot):
    page = new_page()
    log_in(page, "teacher")
    page.goto("/courses/zero-to-gpt/staff/dashboard/")
    row = page.locator('#exercise-stats tr[data-exercise="value"]')
    expect(row.locator('[data-col="pass-rate"]')).to_have_text("33 %")
    expect(page.locator('[data-stat="enrolled"]')).to_have_text("3")
    shot(page, "staff-dashboard")

    page.click("nav.staff-nav >> text=Misconceptions")
    page.select_option("select[name=exercise]", "value")
    page.click("form.filters button")
    first = page.locator("#clusters tbody tr").first
    expect(first.locator('[data-col="learners"]')).to_have_text("2")  # two authors, one bug
    first.locator("a").click()
    expect(page.locator("#cluster-members li")).to_have_count(2)
    page.fill("#hint-text", "Which operand comes first when Python calls __rsub__?")
    page.click("#hint-form button[type=submit]")
    expect(page.locator(".messages")).to_contain_text("Hint added")
    expect(page.locator("#cluster-actions")).to_contain_text("__rsub__")
    shot(page, "staff-cluster")

    page.click("nav.staff-nav >> text=Regrades")
    page.select_option("#regrade-form select[name=exercise]", "value")
    page.fill("#regrade-form input[name=note]", "checking the cohort")
    page.click("#regrade-form button[type=submit]")
    expect(page.locator(".messages")).to_contain_text("3 submission(s) queued")
    for _ in range(120):
        page.reload()
        if "done" in page.locator("#regrades tbody tr").first.inner_text():
            break
        time.sleep(0.5)
    expect(page.locator("#regrades tbody tr").first).to_contain_text("3/3 done")
    expect(page.locator('#regrades tbody tr [data-col="changed"]').first).to_have_text("0")
    assert page.js_errors == []

    learner = new_page()
    log_in(learner, "ada")
    learner.goto("/courses/zero-to-gpt/")
    expect(learner.locator("#notices")).to_have_count(0)  # nothing changed for ada: no notice
    assert learner.goto("/courses/zero-to-gpt/staff/dashboard/").status == 403
