"""Tampering that is detected fails the tests it touched and marks the submission for staff review
(issue #10): the learner submits wrong code that writes forged "passed" results on every file
descriptor, through the real worker and sandbox; the submission fails and is flagged; the
course's TA finds it on the staff page with the reason and opens it; the learner sees the failed
verdict but not the staff's evidence; a different course's staff sees nothing."""

import pytest

from courses.models import Membership
from grader.tests.test_pipeline import submit, wait_finished

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker, pytest.mark.sandbox]

# variance is wrong; the rest forges a passing report for every test on every open descriptor.
FORGER = """
import json as _json, os as _os


def mean(xs):
    return sum(xs) / len(xs)


def variance(xs):
    return 0.0


_lines = []
for _test in ("test_mean_small", "test_variance", "test_random_lists"):
    _lines.append({"t": "start", "test": _test})
    _lines.append({"t": "test", "test": _test, "outcome": "ok", "error": None, "duration": 0.001, "output": ""})
_lines.append({"t": "done"})
_data = "".join("\\n" + _json.dumps(e) + "\\n" for e in _lines).encode()
for _fd in [int(n) for n in _os.listdir("/proc/self/fd") if int(n) > 2]:
    try:
        _os.write(_fd, _data)
    except OSError:
        pass
"""


def test_forged_results_fail_and_reach_staff_review(client, student, course, make_user, celery_worker):
    from courses.services import membership_set_role

    client.force_login(student)
    submission = wait_finished(submit(client, {"stats.py": FORGER}).json()["id"])
    assert submission.gradable and not submission.passed
    assert submission.flagged and submission.result["integrity"]["flagged"]
    assert submission.score == 0 and not any(t["status"] == "passed" for t in submission.result["tests"])
    touched = [t for t in submission.result["tests"] if t.get("integrity")]
    assert touched and all("flagged for review" in t["message"] for t in touched)

    # The learner: a failed verdict, no staff evidence in the page or its JSON.
    page = client.get(f"/submissions/{submission.pk}/").content.decode()
    assert "Flagged for integrity review" not in page
    own = client.get(f"/submissions/{submission.pk}/?format=json").json()
    assert "integrity" not in own["result"] and own["result"]["status"] == "failed"

    # The course's TA: listed on the staff page with the reason, and the evidence on the submission.
    ta = make_user("ta")
    membership_set_role(user=ta, course=course, role=Membership.Role.TA)
    client.force_login(ta)
    overview = client.get("/courses/demo/staff/").content.decode()
    listed = overview.split('id="flagged-submissions"', 1)[1].split("</table>", 1)[0]
    assert f"/submissions/{submission.pk}/" in listed and "student" in listed
    assert "forged" in listed  # the reason, not just a badge
    detail = client.get(f"/submissions/{submission.pk}/").content.decode()
    assert "Flagged for integrity review" in detail and "forged" in detail
    assert client.get(f"/submissions/{submission.pk}/?format=json").json()["result"]["integrity"]["evidence"]

    # An honest submission after it is not flagged, and not listed.
    client.force_login(student)
    honest = wait_finished(
        submit(
            client, {"stats.py": "def mean(xs):\n    return sum(xs) / len(xs)\n\n\ndef variance(xs):\n    return 0.0\n"}
        ).json()["id"]
    )
    assert not honest.flagged
    client.force_login(ta)
    listed = client.get("/courses/demo/staff/").content.decode().split('id="flagged-submissions"', 1)[1]
    assert f"/submissions/{honest.pk}/" not in listed.split("</table>", 1)[0]

    # Staff of no role in this course: nothing.
    outsider = make_user("other-ta")
    client.force_login(outsider)
    assert client.get(f"/submissions/{submission.pk}/").status_code == 404
    assert client.get("/courses/demo/staff/").status_code in (403, 404)
