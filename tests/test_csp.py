"""The Content-Security-Policy header (config/csp.py): a fresh nonce per response, only when on."""

import re

import pytest


def nonce_of(response):
    return re.search(r"'nonce-([^']+)'", response["Content-Security-Policy"]).group(1)


@pytest.mark.django_db
def test_each_response_gets_its_own_nonce(client):
    first, second = client.get("/accounts/login/"), client.get("/accounts/login/")
    assert nonce_of(first) != nonce_of(second)
    assert len(nonce_of(first)) >= 16
    policy = first["Content-Security-Policy"]
    assert "default-src 'self'" in policy and "'unsafe-inline'" not in policy.split("script-src")[1].split(";")[0]


@pytest.mark.django_db
def test_every_inline_script_on_a_page_carries_the_nonce(client):
    response = client.get("/accounts/login/")
    nonce = nonce_of(response)
    for tag in re.findall(r"<script\b[^>]*>", response.content.decode()):
        if "src=" in tag or 'type="application/json"' in tag:
            continue
        assert f'nonce="{nonce}"' in tag, tag


@pytest.mark.django_db
def test_no_header_when_switched_off(client, settings):
    settings.CSP_ENABLED = False
    assert "Content-Security-Policy" not in client.get("/accounts/login/")
