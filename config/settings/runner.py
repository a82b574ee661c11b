"""A GPU (or CPU) grading worker that holds no database credentials (DESIGN.md §3): it needs
REDIS_URL alone. Only `gpu_runner.run_job` may run under these settings; it never touches the ORM.
"""

from config.env import channel_layer_hosts, redis_url, require
from config.settings.base import *  # noqa: F403
from config.settings.base import CHANNEL_LAYERS

DEBUG = False
DATABASES = {}  # any ORM use fails loudly instead of needing credentials
SECRET_KEY = "runner-has-no-sessions-or-signing-" + "x" * 16
REDIS_URL = redis_url(require("REDIS_URL", hint="redis://host:6379/0"))
CHANNEL_LAYERS["default"]["CONFIG"]["hosts"] = channel_layer_hosts(REDIS_URL)
CELERY_BROKER_URL = REDIS_URL if not REDIS_URL.startswith("unix://") else "redis+socket://" + REDIS_URL[7:]
