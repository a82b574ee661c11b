"""Per-learner limits on submissions (issue #10, item 5; numbers in config/ratelimits.py): a
learner sees the warning before the cap, a clear 429 at it, and can submit again once one of
theirs is graded. No worker runs here, so submissions stay queued, as behind a busy queue."""

import json

import pytest

from grader.models import Submission

pytestmark = pytest.mark.django_db(transaction=True)
SOLUTION = "def mean(xs):\n    return sum(xs) / len(xs)\n\n\ndef variance(xs):\n    return 0.0\n"


def submit(client, kind="run"):
    return client.post(
        "/courses/demo/exercises/mean/submit/",
        json.dumps({"kind": kind, "files": {"stats.py": SOLUTION}}),
        content_type="application/json",
    )


def test_queued_submissions_are_capped_with_a_warning_first(student_client, student, settings):
    settings.RATE_CAPS = {"submission.active": 3}
    first, second = submit(student_client), submit(student_client, "submit")
    assert first.status_code == second.status_code == 201
    assert first.json()["quota"]["warning"] == ""
    assert "you can queue 1 more" in second.json()["quota"]["warning"]
    third = submit(student_client)
    assert third.status_code == 201 and "at most 3 at a time" in third.json()["quota"]["warning"]
    refused = submit(student_client, "submit")
    assert refused.status_code == 429 and refused.json()["limited"]
    assert "3 submissions waiting or running" in refused.json()["error"]
    assert Submission.objects.filter(user=student).count() == 3  # nothing stored for the refused one
    # One finishes: the learner may submit again.
    done = Submission.objects.filter(user=student).first()
    Submission.objects.filter(pk=done.pk).update(status=Submission.Status.GRADED)
    assert submit(student_client, "submit").status_code == 201


def test_a_submit_loop_hits_the_rate_window(student_client, student, settings):
    settings.RATE_CAPS = {"submission.active": 1000}
    settings.RATE_LIMITS = {"submission.user": (5, 60)}
    codes = [submit(student_client).status_code for _ in range(7)]
    assert codes == [201] * 5 + [429] * 2
    refused = submit(student_client)
    assert "Too many submissions" in refused.json()["error"] and int(refused["Retry-After"]) > 0


def test_another_learner_is_not_affected(student_client, make_user, course, client, settings):
    from courses.services import membership_enroll

    settings.RATE_CAPS = {"submission.active": 1}
    assert submit(student_client).status_code == 201
    assert submit(student_client).status_code == 429
    other = make_user("other")
    membership_enroll(user=other, course=course)
    client.force_login(other)
    assert submit(client).status_code == 201


def test_windows_are_counted_in_redis_where_every_web_process_sees_them(settings):
    # Production counts in Redis (one pipelined INCR + EXPIRE per hit); the rest of the suite
    # uses an in-process cache, so this is the test of the Redis path itself.
    import uuid

    from django.core.cache import caches
    from django.core.cache.backends.redis import RedisCache

    from config import ratelimits

    prefix = f"test-rl-{uuid.uuid4().hex[:8]}"
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": settings.REDIS_URL,
            "KEY_PREFIX": prefix,
        }
    }
    settings.RATE_LIMITS = {"submission.user": (3, 60)}
    now = 1_000_000.0
    decisions = [ratelimits.hit("submission.user", "7", now=now) for _ in range(4)]
    assert [d.allowed for d in decisions] == [True, True, True, False]
    assert decisions[-1].retry_after > 0 and "Too many submissions" in decisions[-1].message
    # Another web process (its own client) reads the same count, and the key expires.
    other = RedisCache(settings.REDIS_URL, {"KEY_PREFIX": prefix})
    key = ratelimits._cache_key(
        "submission.user", "7", ratelimits._window_start(ratelimits.window("submission.user"), now)
    )
    assert other.get(key) == 4 == ratelimits.peek("submission.user", "7", now=now)
    assert 0 < other._cache.get_client(write=False).ttl(other.make_key(key)) <= 65
    assert ratelimits.hit("submission.user", "8", now=now).allowed  # another learner, another count
    ratelimits.reset("submission.user", "7", now=now)
    assert ratelimits.check("submission.user", "7", now=now).allowed
    caches["default"].delete(key)
