"""What one /metrics scrape costs against a PostgreSQL holding many submissions.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres REDIS_URL=redis://127.0.0.1:6379/0 \\
        python bench/metrics_scrape.py [--rows 200000 --last-hour 5000 --messages 100000]

Creates a throwaway database next to DATABASE_URL's (dropped at the end), migrates it, imports the
demo course, bulk-inserts --rows finished submissions (--last-hour of them finished in the last
hour, each with a stored result's timing) and --messages tutor messages, runs ANALYZE, then times
insights.metrics.scrape() (Redis and database together) --runs times and prints the median and p95.
"""

import argparse
import os
import secrets
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--last-hour", type=int, default=5_000)
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    import psycopg

    server = urlparse(os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres"))
    name = f"metrics_bench_{secrets.token_hex(3)}"
    admin = psycopg.connect(server._replace(path="/postgres").geturl(), autocommit=True)
    admin.execute(f'CREATE DATABASE "{name}"')
    try:
        os.environ["DATABASE_URL"] = server._replace(path=f"/{name}").geturl()
        os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings.test"
        import django

        django.setup()
        run(args)
    finally:
        from django.db import connections

        connections.close_all()
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def run(args):
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    from accounts.models import User
    from grader.models import Submission
    from insights.metrics import scrape
    from tests.fixtures import import_published, make_course_folder
    from tutor.models import Conversation, Message

    call_command("migrate", verbosity=0)
    course = import_published(make_course_folder(Path(tempfile.mkdtemp()) / "demo"))
    exercise = course.versions.get().exercises.get(slug="mean")
    user = User.objects.create_user(username="bench", email="bench@example.org", password="x" * 12)
    now = timezone.now()
    batch = []
    for i in range(args.rows):
        recent = i < args.last_hour
        finished = now - (timedelta(seconds=i % 3600) if recent else timedelta(days=1 + i % 300))
        created = finished - timedelta(seconds=0.05 + (i % 50) / 10)
        timing = {"queued_at": created.isoformat(), "finished_at": finished.isoformat()}
        batch.append(
            Submission(
                user=user,
                course=course,
                exercise=exercise,
                exercise_slug="mean",
                kind="submit" if i % 3 else "run",
                status="graded" if i % 50 else "error",
                files={"stats.py": ""},
                queue="grade.cpu" if i % 10 else "grade.gpu",
                result={"status": "passed", "timing": timing},
                finished_at=finished,
            )
        )
        if len(batch) == 5000:
            Submission.objects.bulk_create(batch)
            batch = []
    Submission.objects.bulk_create(batch)
    Submission.objects.filter(finished_at__isnull=False).update(created_at=now - timedelta(days=1))
    conversation = Conversation.objects.create(user=user, course=course)
    Message.objects.bulk_create(
        [
            Message(
                conversation=conversation,
                role="tutor",
                text="x",
                provider="openai",
                model="m",
                tokens_in=900,
                tokens_out=120,
            )
            for _ in range(args.messages)
        ],
        batch_size=5000,
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    scrape()  # warm-up: connections, plans
    times = []
    for _ in range(args.runs):
        started = time.perf_counter()
        text = scrape()
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    p95 = times[min(len(times) - 1, int(0.95 * len(times)))]
    print(
        f"scrape: {args.rows} submissions ({args.last_hour} in the last hour), {args.messages} tutor messages, "
        f"{len(text.splitlines())} lines: median {statistics.median(times):.1f} ms, p95 {p95:.1f} ms ({args.runs} runs)"
    )


if __name__ == "__main__":
    main()
