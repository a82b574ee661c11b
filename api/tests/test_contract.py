"""The API against its own OpenAPI document (schemathesis): generated requests for every
operation, with a valid token and without, must never get a server error, and every response
must have a documented status, content type and shape."""

import os

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


def _wsgi():
    from django.core.wsgi import get_wsgi_application

    return get_wsgi_application()


# The served document (no database needed to build it), called in-process through Django's
# WSGI handler. pytest-django has set Django up before this module is collected.
schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", _wsgi())


@pytest.fixture(autouse=True)
def _keep_the_test_connection():
    """Like Django's test client: the handler must not close the test's database connection
    after each request (it would end the test's transaction)."""
    from django.core import signals
    from django.db import close_old_connections

    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def tokens(db, course, student, make_user, settings):
    from accounts.tokens import token_create
    from courses.models import Membership
    from courses.services import membership_set_role

    settings.RATE_LIMITS = {"api.token": (100_000, 60)}
    ta = make_user("ta")
    membership_set_role(user=ta, course=course, role=Membership.Role.TA)
    from courses.models import Exercise
    from grader.models import Submission

    exercise = Exercise.objects.get(version=course.published_version, slug="mean")
    sub = Submission.objects.create(
        user=student,
        course=course,
        exercise=exercise,
        exercise_slug="mean",
        files={"stats.py": ""},
        status="graded",
        score=1,
        max_score=4,
        result={"status": "failed", "score": 1, "max_score": 4, "tests": []},
        events=[{"seq": 1, "type": "queued"}, {"seq": 2, "type": "result"}],
    )
    return {
        "student": token_create(user=student, name="s", scopes=["read", "submit", "staff"])[1],
        "ta": token_create(user=ta, name="t", scopes=["read", "staff"])[1],
        # Real values for the path, so generated queries and bodies reach the handlers too.
        "path": {"slug": "demo", "lesson": "welcome", "exercise": "mean", "submission_id": sub.pk},
    }


@schema.parametrize()
# 25 examples per operation in the suite; `make fuzz-api` runs the same test far longer.
@settings(
    max_examples=int(os.environ.get("API_FUZZ_EXAMPLES", "25")), deadline=None, suppress_health_check=list(HealthCheck)
)
def test_no_server_errors_and_the_document_holds(case, tokens, django_capture_on_commit_callbacks):
    generated = dict(case.path_parameters or {})
    real = {k: tokens["path"].get(k, v) for k, v in generated.items()}
    for path in (generated, real) if generated else (generated,):
        case.path_parameters = path
        for token in (tokens["student"], tokens["ta"], None):  # a learner, staff, and no token at all
            headers = {"Authorization": f"Bearer {token}"} if token else {}
            with django_capture_on_commit_callbacks(execute=False):  # submissions are stored, never sent
                case.call_and_validate(headers=headers, checks=CHECKS)
