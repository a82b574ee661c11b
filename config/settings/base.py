"""Settings shared by every mode. Mode files (dev, test, prod) only override what differs.

Every value that varies between deployments comes from the environment (12-factor); nothing
here reads `settings.X` of another module at import time.
"""

from pathlib import Path

from config import ratelimits
from config.env import (
    celery_broker_url,
    channel_layer_hosts,
    database_config,
    env,
    rate_cap_overrides,
    rate_limit_overrides,
    redis_url,
)

BASE_DIR = Path(__file__).resolve().parents[2]
# Everything a running instance writes (SQLite file, Redis socket, dataset cache, logs) lives here.
VAR_DIR = Path(env.str("FROMSCRATCH_VAR_DIR", default=str(BASE_DIR / "var"))).resolve()

SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="dev-only-insecure-key-change-me-0123456789abcdef")
DEBUG = env.bool("DJANGO_DEBUG", default=False)
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    # daphne first: `runserver` then serves ASGI, websockets included.
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.contrib.sites",
    "channels",
    "django_htmx",
    "allauth",
    "allauth.account",
    "accounts",
    "courses",
    "grader",
    "gpu_runner",
    "tutor",
    "insights",
    "api",
    "frontend",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "config.csp.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "config.urls"
ASGI_APPLICATION = "config.asgi.application"
SITE_ID = 1

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "frontend.context_processors.site",
                "frontend.context_processors.notices",
                "config.csp.nonce",
                "frontend.page_cache.csrf",  # after Django's own: one token per page
            ],
        },
    },
]

DATABASES = {
    "default": database_config(env.str("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}")),
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = redis_url(env.str("REDIS_URL", default=f"unix://{VAR_DIR / 'run' / 'redis.sock'}"))
# Prefix for every Redis key this instance writes (channel layer, Celery, cache, event logs), so
# several instances or test runs can share one Redis without crossing.
KEY_PREFIX = env.str("FROMSCRATCH_KEY_PREFIX", default="")

CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        "CONFIG": {
            "hosts": channel_layer_hosts(REDIS_URL),
            "prefix": f"{KEY_PREFIX}asgi",
            # channels-redis keeps ONE inbox per server process for all its sockets, and its
            # default capacity (100) caps that whole inbox: past it, group_send drops messages
            # silently. With 50 learners on one process, tutor tokens and grading events
            # overflowed it and verdicts and replies never reached the page (bench/load.py).
            # Stale messages still expire after 60 s, so this bounds memory, not correctness.
            "capacity": 10_000,
        },
    },
}


def redis_caches(url: str) -> dict:
    """Both caches on one Redis, under FROMSCRATCH_KEY_PREFIX like every other key, so instances
    sharing a Redis never share rate-limit windows, the health check's cache or pages."""
    # "pages": rendered pages and their stamps (frontend/page_cache.py, courses/stamps.py), shared
    # by every process so that a worker's write drops the page a web process kept.
    # config.cache.RedisCache: one client per pool (config/cache.py).
    return {
        alias: {"BACKEND": "config.cache.RedisCache", "LOCATION": url, "KEY_PREFIX": f"{KEY_PREFIX}{prefix}"}
        for alias, prefix in (("default", "fs"), ("pages", "pg"))
    }


CACHES = redis_caches(REDIS_URL)
# Lesson and exercise pages kept rendered per learner, at most this long (0: off).
PAGE_CACHE_SECONDS = env.int("PAGE_CACHE_SECONDS", default=60)

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 8}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "home"
ACCOUNT_LOGOUT_REDIRECT_URL = "home"
# https://docs.allauth.org/en/latest/account/configuration.html
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "username*", "password1*", "password2*"]
ACCOUNT_EMAIL_VERIFICATION = env.str("ACCOUNT_EMAIL_VERIFICATION", default="optional")
ACCOUNT_LOGOUT_ON_GET = False
ACCOUNT_SESSION_REMEMBER = True
ACCOUNT_ADAPTER = "accounts.adapter.AccountAdapter"
# Failed sign-ins are limited by ours (config/ratelimits.py "login.*"), shared with the admin.
# allauth's "login" limit counts every sign-in, good ones too (30 a minute per address): a
# classroom behind one NAT address got 429s at the start of a lesson (bench/load.py).
ACCOUNT_RATE_LIMITS = {"login_failed": None, "login": None}
# Overrides of config/ratelimits.py's defaults, by name (unknown names are refused at start-up).
RATE_LIMITS = rate_limit_overrides(env.str("RATE_LIMITS", default=""), known=ratelimits.POLICIES)
RATE_CAPS = rate_cap_overrides(env.str("RATE_CAPS", default=""), known=ratelimits.CAPS)
# Set (e.g. "X-Forwarded-For") only behind a proxy that writes it, replacing the client's value:
# the first entry is then the client's address. Unset: REMOTE_ADDR.
CLIENT_IP_HEADER = env.str("DJANGO_CLIENT_IP_HEADER", default="")
EMAIL_BACKEND = env.str("DJANGO_EMAIL_BACKEND", default="django.core.mail.backends.smtp.EmailBackend")
DEFAULT_FROM_EMAIL = env.str("DJANGO_DEFAULT_FROM_EMAIL", default="From Scratch <noreply@fromscratch.local>")

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
MEDIA_ROOT = VAR_DIR / "media"

SESSION_COOKIE_HTTPONLY = True
# Sessions read from the cache (Redis), written through to the database: one PostgreSQL round
# trip less on every signed-in page, and nobody is signed out when Redis restarts.
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
CSRF_COOKIE_HTTPONLY = False  # htmx reads the token from the cookie-free meta tag; kept default
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
# Content-Security-Policy header with a per-request nonce (config/csp.py); on in prod and tests.
CSP_ENABLED = env.bool("DJANGO_CSP", default=False)

# --- Celery: https://docs.celeryq.dev/en/stable/userguide/configuration.html
CELERY_BROKER_URL = celery_broker_url(REDIS_URL)
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
# Results live on the Submission row; no result backend.
CELERY_TASK_IGNORE_RESULT = True
# A worker holds one job at a time and acknowledges it only when done, so a killed worker's
# job goes back to the queue; the attempt counter in the database stops a poison job looping.
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_TASK_DEFAULT_QUEUE = "grader"
CELERY_TASK_ROUTES = {
    "gpu_runner.run_job": {"queue": "grade.cpu"},  # overridden per job by the exercise's device
    "grader.*": {"queue": "grader"},
    "tutor.*": {"queue": "grader"},
}
# Longest wall limit any exercise may declare; the broker's visibility timeout must exceed the
# longest task or Redis hands an unfinished job to a second worker.
GRADER_MAX_WALL_SECONDS = env.int("GRADER_MAX_WALL_SECONDS", default=900)
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 4 * (GRADER_MAX_WALL_SECONDS + 60)}
if KEY_PREFIX:
    CELERY_BROKER_TRANSPORT_OPTIONS["global_keyprefix"] = KEY_PREFIX
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BEAT_SCHEDULE = {
    "reap-stuck-submissions": {"task": "grader.reap_stuck", "schedule": 30.0},
}

# --- Grading
# Set explicitly to run learner code without the sandbox (single learner, own machine only).
GRADER_UNSAFE_LOCAL = env.bool("GRADER_UNSAFE_LOCAL", default=False)
GRADER_MAX_ATTEMPTS = env.int("GRADER_MAX_ATTEMPTS", default=3)
# A submission still queued after this long is re-enqueued by the reaper (a lost message).
GRADER_QUEUE_TIMEOUT_SECONDS = env.int("GRADER_QUEUE_TIMEOUT_SECONDS", default=600)
GRADER_WARM_POOL = env.bool("GRADER_WARM_POOL", default=True)
# Compute every exercise's expected values when a version is stored or published (grader/services/references.py).
GRADER_WARM_REFERENCES = env.bool("GRADER_WARM_REFERENCES", default=True)
# Ready spares per kind per worker process (bench/warm_spares.py: back-to-back torch jobs).
GRADER_WARM_DEPTH = env.int("GRADER_WARM_DEPTH", default=2)
COURSE_ASSETS_DIR = env.str("COURSE_ASSETS_DIR", default="")
DATASET_CACHE_DIR = VAR_DIR / "datasets"

# --- Tutor: any OpenAI-compatible endpoint; empty means the offline tutor.
TUTOR_BASE_URL = env.str("TUTOR_BASE_URL", default="")
TUTOR_API_KEY = env.str("TUTOR_API_KEY", default="")
TUTOR_MODEL = env.str("TUTOR_MODEL", default="")
TUTOR_TIMEOUT_SECONDS = env.float("TUTOR_TIMEOUT_SECONDS", default=30.0)
TUTOR_MAX_RETRIES = env.int("TUTOR_MAX_RETRIES", default=2)
# Prices for the cost estimate, USD per 1,000 tokens (set them to your provider's).
TUTOR_PRICE_INPUT_PER_1K = env.float("TUTOR_PRICE_INPUT_PER_1K", default=0.00015)
TUTOR_PRICE_OUTPUT_PER_1K = env.float("TUTOR_PRICE_OUTPUT_PER_1K", default=0.0006)
# Default allowance (course.toml [tutor] overrides): CS50's duck uses 10, one back every 3 minutes.
TUTOR_QUOTA = env.int("TUTOR_QUOTA", default=10)
TUTOR_REFILL_SECONDS = env.int("TUTOR_REFILL_SECONDS", default=180)
TUTOR_MAX_QUESTION_CHARS = 4000
TUTOR_CONTEXT_TOKENS = env.int("TUTOR_CONTEXT_TOKENS", default=6000)
# The code check runs a reply's code on a worker; past this wait the reply is shown without code.
TUTOR_LEAK_CHECK_SECONDS = env.float("TUTOR_LEAK_CHECK_SECONDS", default=60.0)
TUTOR_LEAK_CHECK_QUEUE = env.str("TUTOR_LEAK_CHECK_QUEUE", default="grade.cpu")

# --- /healthz (config/health.py): details for staff or this bearer token (empty: no token access).
HEALTHZ_TOKEN = env.str("HEALTHZ_TOKEN", default="")
# Workers are pinged at most once per this many seconds, however often /healthz is asked.
HEALTHZ_PING_SECONDS = env.int("HEALTHZ_PING_SECONDS", default=5)
# /metrics (insights/metrics.py) for a Prometheus holding this bearer token, or a superuser's
# session; empty: superusers only. It reveals load, so it is never public.
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
