"""`manage.py insights seed --course zero-to-gpt --learners 120`: a seeded cohort for trying the
staff pages (dashboard, misconceptions, gradebook) on a running platform. Needs a worker
(`make run` has one)."""

from collections import Counter

from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = "Course data engine tools: seed a cohort of generated learners through the real grader."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        seed = sub.add_parser("seed", help="learners submit seeded implementations (correct and with planted bugs)")
        seed.add_argument("--course", default="zero-to-gpt")
        seed.add_argument("--learners", type=int, default=60)
        seed.add_argument("--seed", type=int, default=0)

    def handle(self, *args, **options):
        from courses.models import Course
        from insights.seeding import seed_cohort

        course = Course.objects.filter(slug=options["course"]).first()
        if course is None or course.published_version_id is None:
            raise CommandError(f"no published course {options['course']!r}: import it with `manage.py course import`")
        if not 1 <= options["learners"] <= 2000:
            raise CommandError("--learners must be between 1 and 2000")
        plan = seed_cohort(course=course, learners=options["learners"], seed=options["seed"], log=self.stdout.write)
        planted = Counter(p["bug"] or "correct" for p in plan)
        total = sum(len(p["submissions"]) for p in plan)
        self.stdout.write(
            f"{len(plan)} learners, {total} submissions; first attempt: "
            + ", ".join(f"{k} {v}" for k, v in sorted(planted.items()))
        )
        self.report(course, plan)
        self.stdout.write(f"See /courses/{course.slug}/staff/clusters/?exercise=value")

    def report(self, course, plan):
        """How the clusters line up with what was planted: each cluster's bugs (by submission), and
        for each bug the clusters it landed in. A perfect result is one bug per cluster, one
        cluster per bug, every implementation in it."""
        from insights.engine import clusters_for_exercise

        planted = {}
        for p in plan:
            for sid in p["submissions"]:
                planted[sid] = (p["impl"], p["bug"])
        clusters = clusters_for_exercise(course=course, exercise_slug="value")
        seen = [c for c in clusters if set(c.submissions) & set(planted)]
        spans = {}
        for c in seen:
            members = [planted[s] for s in c.submissions if s in planted]
            bugs = Counter(bug or "correct" for _, bug in members)
            impls = sorted({impl for impl, _ in members})
            top, n = bugs.most_common(1)[0]
            spans.setdefault(top, []).append(c.signature)
            self.stdout.write(
                f"cluster {c.signature}: {len(members)} submits, {len(c.learners)} learners, "
                f"first failing {c.fingerprint.first_test}; bugs {dict(bugs)}; purity {n / len(members):.0%}; "
                f"implementations {', '.join(impls)}"
            )
        for bug, sigs in sorted(spans.items()):
            self.stdout.write(f"bug {bug}: {len(sigs)} cluster(s)")
