"""/healthz: database, Redis and at least one live Celery worker; 200 only when all are up."""

import pytest


@pytest.mark.django_db(transaction=True)
def test_healthz_is_green_with_a_worker(client, celery_worker):
    response = client.get("/healthz")
    body = response.json()
    assert response.status_code == 200, body
    assert body["status"] == "ok"
    assert body["checks"]["database"]["ok"] and body["checks"]["redis"]["ok"] and body["checks"]["worker"]["ok"]


@pytest.mark.django_db
def test_healthz_is_503_without_a_worker(client, monkeypatch):
    # The same broker with a key prefix no worker listens on: a real ping that nobody answers.
    from celery import Celery

    import config.celery

    lonely = Celery("lonely")
    lonely.config_from_object("django.conf:settings", namespace="CELERY")
    lonely.conf.broker_transport_options = {
        **lonely.conf.broker_transport_options,
        "global_keyprefix": "no-worker-here:",
    }
    monkeypatch.setattr(config.celery, "app", lonely)
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["checks"]["database"]["ok"] and body["checks"]["redis"]["ok"]
    assert not body["checks"]["worker"]["ok"]
    assert "no Celery worker" in body["checks"]["worker"]["detail"]
