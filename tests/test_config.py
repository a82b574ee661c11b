"""Production settings stop start-up with one line naming the variable that is missing or wrong."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
GOOD = {
    "DJANGO_SETTINGS_MODULE": "config.settings.prod",
    "DATABASE_URL": "postgres://u:p@db.example:5432/fs",
    "REDIS_URL": "redis://cache.example:6379/0",
    "DJANGO_SECRET_KEY": "k" * 50,
    "DJANGO_ALLOWED_HOSTS": "learn.example.org",
}


def start_env() -> dict:
    env = {k: v for k, v in os.environ.items() if k not in GOOD and not k.startswith("DJANGO_")}
    env.update(GOOD)
    return env


def start(**overrides):
    env = start_env()
    for key, value in overrides.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup(); print('started')"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )


def test_complete_production_environment_starts():
    out = start()
    assert out.returncode == 0, out.stderr
    assert "started" in out.stdout


@pytest.mark.parametrize("name", ["DATABASE_URL", "REDIS_URL", "DJANGO_SECRET_KEY", "DJANGO_ALLOWED_HOSTS"])
def test_missing_variable_is_named_in_one_line(name):
    out = start(**{name: None})
    assert out.returncode != 0
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1, out.stderr
    assert name in lines[0] and "not set" in lines[0]


@pytest.mark.parametrize(
    "name,value,words",
    [
        ("DATABASE_URL", "mysql://x@y/z", "malformed"),
        ("DATABASE_URL", "postgres://", "malformed"),
        ("DATABASE_URL", "sqlite:////tmp/x.db", "PostgreSQL"),
        ("REDIS_URL", "http://cache:6379", "malformed"),
        ("DJANGO_SECRET_KEY", "short", "malformed"),
        ("DJANGO_ALLOWED_HOSTS", " , ", "malformed"),
    ],
)
def test_malformed_variable_is_named_in_one_line(name, value, words):
    out = start(**{name: value})
    assert out.returncode != 0
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1, out.stderr
    assert name in lines[0] and words in lines[0]


def test_runner_settings_need_only_the_broker():
    env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_") and k != "DATABASE_URL"}
    env.update({"DJANGO_SETTINGS_MODULE": "config.settings.runner", "REDIS_URL": "redis://cache.example:6379/0"})
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            "import django; django.setup(); from django.conf import settings; print(settings.DATABASES)",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stderr
    assert "postgres" not in out.stdout


def prod_settings(*names, **overrides):
    """The named settings as production computes them, from a fresh interpreter."""
    env = {k: v for k, v in os.environ.items() if k not in GOOD and not k.startswith("DJANGO_")}
    env.update(GOOD)
    env.pop("GRADER_UNSAFE_LOCAL", None)
    env.update({k: v for k, v in overrides.items() if v is not None})
    code = (
        "import django, json; django.setup(); from django.conf import settings; "
        f"print(json.dumps({{n: getattr(settings, n) for n in {list(names)!r}}}, default=str))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_production_redirects_to_https_and_sends_hsts_by_default():
    got = prod_settings("SECURE_SSL_REDIRECT", "SECURE_HSTS_SECONDS", "SECURE_HSTS_INCLUDE_SUBDOMAINS", "CSP_ENABLED")
    assert got == {
        "SECURE_SSL_REDIRECT": True,
        "SECURE_HSTS_SECONDS": 31536000,
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": True,
        "CSP_ENABLED": True,
    }


def test_production_https_settings_follow_the_environment():
    got = prod_settings(
        "SECURE_SSL_REDIRECT",
        "SECURE_HSTS_SECONDS",
        "SECURE_HSTS_INCLUDE_SUBDOMAINS",
        DJANGO_SSL_REDIRECT="false",
        DJANGO_HSTS_SECONDS="600",
        DJANGO_HSTS_INCLUDE_SUBDOMAINS="false",
    )
    assert got == {"SECURE_SSL_REDIRECT": False, "SECURE_HSTS_SECONDS": 600, "SECURE_HSTS_INCLUDE_SUBDOMAINS": False}


@pytest.mark.parametrize("value", ["true", "1"])
def test_production_refuses_unsandboxed_grading(value):
    out = start(GRADER_UNSAFE_LOCAL=value)
    assert out.returncode != 0
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1, out.stderr
    assert "GRADER_UNSAFE_LOCAL" in lines[0] and "sandbox" in lines[0]


def test_production_allows_grader_unsafe_local_false():
    out = start(GRADER_UNSAFE_LOCAL="false")
    assert out.returncode == 0, out.stderr


@pytest.mark.parametrize(
    "name, value, words",
    [
        ("RATE_LIMITS", "submission.user=5", "write name=limit/seconds"),
        ("RATE_LIMITS", "submission.user=5/0", "write name=limit/seconds"),
        ("RATE_LIMITS", "submissions=5/60", "'submissions', which is not a limit"),
        ("RATE_CAPS", "submission.active=many", "write name=N"),
        ("RATE_CAPS", "gpu=1", "'gpu', which is not a limit"),
    ],
)
def test_a_malformed_limit_override_is_named(name, value, words):
    out = start(**{name: value})
    assert out.returncode != 0
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and name in lines[0] and words in lines[0], out.stderr


def test_limit_overrides_reach_the_limits():
    """An operator raises a classroom's submission window and active cap from the environment."""
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            "import django; django.setup(); from config import ratelimits; "
            "w = ratelimits.window('submission.user'); print(w.limit, w.seconds, ratelimits.cap('submission.active'), "
            "ratelimits.cap('submission.active_gpu'))",
        ],
        cwd=ROOT,
        env={**start_env(), "RATE_LIMITS": "submission.user=120/60", "RATE_CAPS": "submission.active=6"},
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["120", "60", "6", "1"]
