"""The Celery app. Queues (DESIGN.md §3):

- `grade.cpu` / `grade.gpu`: gpu_runner jobs; a GPU worker consumes only `grade.gpu`, concurrency 1.
- `grader`: tasks that touch the database (recording results, the reaper, tutor leak checks).
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.dev")

app = Celery("fromscratch")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
