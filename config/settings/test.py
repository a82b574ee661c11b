"""pytest: real Redis and PostgreSQL when REDIS_URL / DATABASE_URL are set, embedded otherwise."""

import os
import secrets

# One prefix per test session, exported so the Celery worker and servers the tests start share
# it: a test run never sees another run's queues or channel groups on a shared Redis.
os.environ.setdefault("FROMSCRATCH_KEY_PREFIX", f"t{secrets.token_hex(3)}:")

from config.settings.base import *  # noqa: F403
from config.settings.base import DATABASES, KEY_PREFIX, REDIS_URL, VAR_DIR, env, redis_caches

DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A file, not memory: live-server tests and the real Celery worker open their own connections.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / f"test-{KEY_PREFIX.strip(':')}.sqlite3")}
# Rate-limit windows per process (each test clears them); pages on the test Redis, shared with
# the worker and the servers the tests start, as in production.
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    "pages": redis_caches(REDIS_URL)["pages"],
}
GRADER_WARM_POOL = env.bool("GRADER_WARM_POOL", default=False)
# Off in the suite: most tests walk the cold paths on purpose (a warm-up racing them would make
# which path ran a matter of timing); grader/tests/test_reference_warmup.py turns it on.
GRADER_WARM_REFERENCES = env.bool("GRADER_WARM_REFERENCES", default=False)
# One spare per kind in the suite's workers: a second torch spare per process costs CI start-up
# time on two cores and no test depends on it.
GRADER_WARM_DEPTH = env.int("GRADER_WARM_DEPTH", default=1)
# Every test page, the browser tests' included, is served under the production CSP.
CSP_ENABLED = env.bool("DJANGO_CSP", default=True)
