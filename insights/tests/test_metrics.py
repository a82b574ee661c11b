"""/metrics: what Prometheus scrapes. A real submission graded by a real worker shows up in the
phase counts and the latency histogram; queue depth is what sits in the broker's Redis lists;
the output parses as the Prometheus text format; nobody without the token or a superuser's
session gets it."""

import json
import secrets
import time

import pytest
import redis
from prometheus_client.parser import text_string_to_metric_families

from gpu_runner import contract

TOKEN = "metrics-token-0123456789abcdef"
CODE = (
    "def mean(xs):\n    return sum(xs) / len(xs)\n\n\n"
    "def variance(xs):\n    mu = mean(xs)\n    return sum((x - mu) ** 2 for x in xs) / len(xs)\n"
)


def scrape(client, **headers) -> dict:
    response = client.get("/metrics", headers=headers)
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain; version=0.0.4")
    families = {f.name: f for f in text_string_to_metric_families(response.content.decode())}
    return {
        name: {(s.name, tuple(sorted(s.labels.items()))): s.value for s in family.samples}
        for name, family in families.items()
    }


def value(metrics, family, sample, **labels):
    return metrics[family][(sample, tuple(sorted((k, str(v)) for k, v in labels.items())))]


@pytest.fixture
def superuser_client(client, make_user):
    client.force_login(make_user("root", staff=True))
    return client


@pytest.mark.django_db(transaction=True)
@pytest.mark.worker
@pytest.mark.sandbox
@pytest.mark.slow
def test_a_graded_submission_shows_in_the_phase_counts_and_the_histogram(student_client, celery_worker, settings):
    from django.test import Client

    from grader.models import Submission

    settings.METRICS_TOKEN = TOKEN
    monitor = Client()  # Prometheus: no session, the bearer token only
    before = scrape(monitor, Authorization=f"Bearer {TOKEN}")
    assert value(before, "fromscratch_submissions", "fromscratch_submissions", phase="graded", queue="grade.cpu") == 0

    response = student_client.post(
        "/courses/demo/exercises/mean/submit/",
        json.dumps({"kind": "submit", "files": {"stats.py": CODE}}),
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    pk = response.json()["id"]
    deadline = time.monotonic() + 120
    while Submission.objects.get(pk=pk).status not in ("graded", "error") and time.monotonic() < deadline:
        time.sleep(0.1)
    submission = Submission.objects.get(pk=pk)
    assert submission.status == "graded" and submission.passed, submission.result

    after = scrape(monitor, Authorization=f"Bearer {TOKEN}")
    phase = {"queue": "grade.cpu"}
    assert value(after, "fromscratch_submissions", "fromscratch_submissions", phase="graded", **phase) == 1
    assert value(after, "fromscratch_submissions", "fromscratch_submissions", phase="queued", **phase) == 0
    assert value(after, "fromscratch_oldest_queued_seconds", "fromscratch_oldest_queued_seconds", **phase) == 0
    family = "fromscratch_grading_latency_last_hour_seconds"
    series = {"queue": "grade.cpu", "kind": "submit"}
    assert value(after, family, f"{family}_count", **series) == 1
    # The one observation is the stored result's own submit-to-finish time, in the right bucket.
    timing = submission.result["timing"]
    from datetime import datetime

    seconds = (
        datetime.fromisoformat(timing["finished_at"]) - datetime.fromisoformat(timing["queued_at"])
    ).total_seconds()
    assert value(after, family, f"{family}_sum", **series) == pytest.approx(seconds, abs=1e-3)
    assert value(after, family, f"{family}_bucket", le="+Inf", **series) == 1
    bounds = (0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)
    for bound in bounds:
        expected = 1 if bound >= seconds else 0
        assert value(after, family, f"{family}_bucket", le=float(bound), **series) == expected, (bound, seconds)
    # A Run of the same exercise is a separate series, still empty.
    assert value(after, family, f"{family}_count", queue="grade.cpu", kind="run") == 0


@pytest.fixture
def idle_broker(settings):
    """The broker under a key prefix no worker listens on, so messages stay where they were sent."""
    from celery import Celery

    prefix = f"metrics-{secrets.token_hex(4)}:"
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {**settings.CELERY_BROKER_TRANSPORT_OPTIONS, "global_keyprefix": prefix}
    app = Celery("idle")
    app.config_from_object("django.conf:settings", namespace="CELERY")
    client = redis.Redis.from_url(settings.REDIS_URL)
    yield app
    app.close()
    keys = list(client.scan_iter(match=f"{prefix}*"))
    if keys:
        client.delete(*keys)
    client.close()


@pytest.mark.django_db
def test_queue_depth_counts_the_messages_sitting_in_the_broker(superuser_client, idle_broker):
    empty = scrape(superuser_client)
    assert value(empty, "fromscratch_queue_depth", "fromscratch_queue_depth", queue="grade.cpu", priority=0) == 0

    for _ in range(3):
        idle_broker.send_task(contract.RUN_JOB, args=[{}], queue=contract.QUEUE_CPU, priority=contract.PRIORITY_LEARNER)
    for _ in range(2):
        idle_broker.send_task(contract.RUN_JOB, args=[{}], queue=contract.QUEUE_GPU, priority=contract.PRIORITY_BATCH)
    idle_broker.send_task(contract.RECORD_RESULT, args=[{}], queue=contract.QUEUE_GRADER)

    metrics = scrape(superuser_client)
    depth = {
        (dict(labels)["queue"], dict(labels)["priority"]): v
        for (_, labels), v in metrics["fromscratch_queue_depth"].items()
    }
    assert depth[("grade.cpu", "0")] == 3
    assert depth[("grade.gpu", "9")] == 2
    assert depth[("grader", "0")] == 1
    assert sum(depth.values()) == 6, depth  # nothing counted twice, nothing elsewhere


@pytest.mark.django_db
def test_tutor_tokens_are_summed_per_model(superuser_client, course, student):
    from tutor.models import Conversation, Message

    conversation = Conversation.objects.create(user=student, course=course)
    for tokens_in, tokens_out in ((1200, 80), (900, 150)):
        Message.objects.create(conversation=conversation, role="learner", text="why?")
        Message.objects.create(
            conversation=conversation,
            role="tutor",
            text="because",
            provider="openai",
            model="gpt-x",
            tokens_in=tokens_in,
            tokens_out=tokens_out,
        )
    metrics = scrape(superuser_client)
    labels = {"provider": "openai", "model": "gpt-x"}
    assert (
        value(metrics, "fromscratch_tutor_tokens", "fromscratch_tutor_tokens_total", direction="in", **labels) == 2100
    )
    assert (
        value(metrics, "fromscratch_tutor_tokens", "fromscratch_tutor_tokens_total", direction="out", **labels) == 230
    )


@pytest.mark.django_db
def test_anonymous_callers_and_learners_are_refused(client, make_user, settings):
    settings.METRICS_TOKEN = TOKEN
    response = client.get("/metrics")
    assert response.status_code == 403
    assert b"METRICS_TOKEN" in response.content and b"fromscratch_" not in response.content
    client.force_login(make_user("ada"))
    assert client.get("/metrics").status_code == 403
    staff_only = make_user("ta")
    staff_only.is_staff = True  # staff without superuser: the admin's helpers, not operators
    staff_only.save()
    client.force_login(staff_only)
    assert client.get("/metrics").status_code == 403


@pytest.mark.django_db
@pytest.mark.parametrize("header", [f"Bearer {TOKEN}x", "Bearer ", f"Basic {TOKEN}", TOKEN, f"Bearer {TOKEN[:-1]}"])
def test_a_wrong_token_is_refused(client, settings, header):
    settings.METRICS_TOKEN = TOKEN
    assert client.get("/metrics", headers={"Authorization": header}).status_code == 403


@pytest.mark.django_db
def test_no_token_configured_means_an_empty_bearer_is_refused(client, settings):
    settings.METRICS_TOKEN = ""
    assert client.get("/metrics", headers={"Authorization": "Bearer "}).status_code == 403
    assert client.get("/metrics", headers={"Authorization": "Bearer"}).status_code == 403
