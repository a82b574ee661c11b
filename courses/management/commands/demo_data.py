"""Demo accounts and the flagship course, for `make run` (idempotent: a second run reuses them)."""

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from accounts.models import User
from courses.format.tree import load
from courses.models import Membership
from courses.services import CourseInvalid, membership_set_role, version_import, version_publish

PASSWORD = "learn-from-scratch"
FLAGSHIP = Path(settings.BASE_DIR) / "content" / "zero-to-gpt"
ACCOUNTS = [
    ("student", Membership.Role.STUDENT, False),
    ("ta", Membership.Role.TA, False),
    ("instructor", Membership.Role.INSTRUCTOR, False),
    ("admin", None, True),
]


class Command(BaseCommand):
    help = "Create the demo accounts and import + publish the flagship course (development only)."

    def add_arguments(self, parser):
        parser.add_argument("--force", action="store_true", help="allow with DEBUG off")

    def handle(self, *args, force=False, **options):
        if not settings.DEBUG and not force:
            raise CommandError(
                "demo_data creates accounts with a published password; it only runs with DEBUG on (or --force)"
            )
        course = self._flagship()
        for name, role, staff in ACCOUNTS:
            user, created = User.objects.get_or_create(username=name, defaults={"email": f"{name}@fromscratch.local"})
            if created:
                user.set_password(PASSWORD)
                user.is_staff = user.is_superuser = staff
                user.save()
            if course is not None and role is not None:
                membership_set_role(user=user, course=course, role=role)
        self.stdout.write("demo accounts ready")

    def _flagship(self):
        if not FLAGSHIP.is_dir():
            return None
        tree, problems = load(FLAGSHIP)
        try:
            if problems:
                raise CourseInvalid(problems)
            from gpu_runner.datasets import local_mirrors

            dirs = local_mirrors()
            version, created = version_import(tree=tree, note="flagship course (make run)", dataset_dirs=dirs)
        except CourseInvalid as exc:
            self.stderr.write(f"the flagship course has {len(exc.problems)} problem(s) and was not imported:")
            for problem in exc.problems[:20]:
                self.stderr.write(f"  {FLAGSHIP.name}/{problem}")
            from courses.models import Course

            return Course.objects.filter(slug="zero-to-gpt").first()
        if created or version.course.published_version_id is None:
            version_publish(version=version)
            self.stdout.write(f"flagship course: {version} published")
        self._assets(version)
        return version.course

    def _assets(self, version):
        from gpu_runner.datasets import DatasetError, ensure

        for name, dataset in (version.meta.get("datasets") or {}).items():
            try:
                ensure(settings.DATASET_CACHE_DIR, dataset, mirror_dir=settings.COURSE_ASSETS_DIR)
            except DatasetError as exc:
                self.stderr.write(f"dataset {name}: {exc}")
