"""/healthz: database, Redis and at least one live Celery worker; 200 only when all are up.
Anonymous callers get the status only; staff and holders of HEALTHZ_TOKEN get the details."""

import pytest

TOKEN = "s3cret-monitor-token-0123456789"


@pytest.fixture
def lonely_app(monkeypatch):
    """The same broker with a key prefix no worker listens on: a real ping that nobody answers."""
    from celery import Celery

    import config.celery

    lonely = Celery("lonely")
    lonely.config_from_object("django.conf:settings", namespace="CELERY")
    lonely.conf.broker_transport_options = {
        **lonely.conf.broker_transport_options,
        "global_keyprefix": "no-worker-here:",
    }
    monkeypatch.setattr(config.celery, "app", lonely)
    return lonely


@pytest.fixture
def staff_client(client, make_user):
    client.force_login(make_user("root", staff=True))
    return client


@pytest.mark.django_db(transaction=True)
def test_healthz_is_green_with_a_worker(staff_client, celery_worker):
    response = staff_client.get("/healthz")
    body = response.json()
    assert response.status_code == 200, body
    assert body["status"] == "ok"
    assert body["checks"]["database"]["ok"] and body["checks"]["redis"]["ok"] and body["checks"]["worker"]["ok"]


@pytest.mark.django_db
def test_healthz_is_503_without_a_worker(staff_client, lonely_app):
    response = staff_client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["checks"]["database"]["ok"] and body["checks"]["redis"]["ok"]
    assert not body["checks"]["worker"]["ok"]
    assert "no Celery worker" in body["checks"]["worker"]["detail"]


@pytest.mark.django_db
def test_anonymous_callers_get_only_the_status(client, lonely_app):
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json() == {"status": "degraded"}


@pytest.mark.django_db
def test_a_signed_in_learner_gets_only_the_status(client, make_user, lonely_app):
    client.force_login(make_user("ada"))
    assert client.get("/healthz").json() == {"status": "degraded"}


@pytest.mark.django_db
def test_the_bearer_token_gives_details(client, settings, lonely_app):
    settings.HEALTHZ_TOKEN = TOKEN
    body = client.get("/healthz", headers={"Authorization": f"Bearer {TOKEN}"}).json()
    assert body["status"] == "degraded"
    assert "no Celery worker" in body["checks"]["worker"]["detail"]


@pytest.mark.django_db
@pytest.mark.parametrize("header", [f"Bearer {TOKEN}x", "Bearer ", f"Basic {TOKEN}", TOKEN])
def test_a_wrong_token_gets_only_the_status(client, settings, lonely_app, header):
    settings.HEALTHZ_TOKEN = TOKEN
    assert client.get("/healthz", headers={"Authorization": header}).json() == {"status": "degraded"}


@pytest.mark.django_db
def test_no_token_configured_means_no_token_access(client, settings, lonely_app):
    settings.HEALTHZ_TOKEN = ""
    assert client.get("/healthz", headers={"Authorization": "Bearer "}).json() == {"status": "degraded"}


@pytest.mark.django_db
def test_workers_are_pinged_once_per_window(staff_client, settings, lonely_app, monkeypatch):
    settings.HEALTHZ_PING_SECONDS = 30
    real_ping, pings = lonely_app.control.ping, []

    def counting_ping(*args, **kwargs):
        pings.append(1)
        return real_ping(*args, **kwargs)

    monkeypatch.setattr(lonely_app.control, "ping", counting_ping)
    first = staff_client.get("/healthz").json()["checks"]["worker"]
    for _ in range(5):
        again = staff_client.get("/healthz").json()["checks"]["worker"]
    assert len(pings) == 1
    assert not first["cached"] and again["cached"]
    assert again["detail"] == first["detail"]


@pytest.mark.django_db
def test_the_ping_is_repeated_after_the_window(staff_client, settings, lonely_app, monkeypatch):
    from django.core.cache import cache

    from config import health

    real_ping, pings = lonely_app.control.ping, []
    monkeypatch.setattr(lonely_app.control, "ping", lambda *a, **k: pings.append(1) or real_ping(*a, **k))
    staff_client.get("/healthz")
    # The window ending is the cache entries expiring; delete them rather than sleep through it.
    cache.delete_many([health.PING_KEY, health.LOCK_KEY])
    staff_client.get("/healthz")
    assert len(pings) == 2
