"""`python manage.py course <action>`: the instructor's command line (docs/course-format.md).

new SLUG [--dir PATH] [--title T]      a skeleton course folder that validates
validate PATH                          every problem as file:line: message; exit 1 if any
                                       (warnings, file:line: warning: message, leave it 0)
test PATH [--exercise SLUG]            reference passes, starter and mutants fail (real runner)
full PATH --exercise X [--files DIR]  the exercise's full-size training run ([full]), outside grading
import PATH [--publish]                a new immutable version (no-op if unchanged); all or nothing
export SLUG PATH [--version N]         write a version back out as a folder (round-trips)
assets PATH                            fetch / copy and verify the course's datasets
publish SLUG [--version N]             make a version the one learners see
rollback SLUG                          publish the previous published version
list                                   courses and their versions
policy SLUG [--exercise X] [--due T] [--late curve:0=1,24=0.5,72=0] [--rate 5/10] ...
                                       show or set dates and limits (courses/policies.py)
"""

import os
import shutil
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from courses.format.tree import load, write
from courses.format.validate import validate
from courses.management.commands._references import report_references
from courses.models import Course, CourseVersion

SKELETON = Path(__file__).resolve().parents[2] / "skeleton"


class Command(BaseCommand):
    help = "Author, check, import and publish courses kept as folders."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        p = sub.add_parser("new", help="create a skeleton course folder")
        p.add_argument("slug")
        p.add_argument("--dir", default=None)
        p.add_argument("--title", default=None)
        sub.add_parser("validate", help="check a course folder").add_argument("path")
        p = sub.add_parser("test", help="run references, starters and mutants through the grader")
        p.add_argument("path")
        p.add_argument("--exercise", default=None)
        p.add_argument("--jobs", type=int, default=None, help="exercises checked at once (default: one per CPU)")
        p.add_argument("--fail-fast", action="store_true", help="stop each starter and mutant once it fails")
        p = sub.add_parser("full", help="an exercise's full-size training run ([full]), reporting what it measured")
        p.add_argument("path")
        p.add_argument("--exercise", required=True)
        p.add_argument("--files", default=None, help="a folder with your own versions of the learner files")
        p.add_argument("--test", action="append", default=None, help="run only this test (repeatable)")
        p = sub.add_parser("import", help="import a folder as a new version")
        p.add_argument("path")
        p.add_argument("--publish", action="store_true")
        p.add_argument("--wait", type=int, default=0, metavar="S", help="wait up to S s for expected values")
        p = sub.add_parser("export", help="write a version out as a folder")
        p.add_argument("slug")
        p.add_argument("path")
        p.add_argument("--version", type=int, default=None)
        sub.add_parser("assets", help="fetch and verify datasets").add_argument("path")
        p = sub.add_parser("publish", help="publish a version")
        p.add_argument("slug")
        p.add_argument("--version", type=int, default=None)
        p.add_argument("--wait", type=int, default=0, metavar="S", help="wait up to S s for expected values")
        sub.add_parser("rollback", help="publish the previous published version").add_argument("slug")
        sub.add_parser("list", help="list courses and versions")
        p = sub.add_parser("policy", help="show or set a course's (or an exercise's) dates and limits")
        p.add_argument("slug")
        p.add_argument("--exercise", default="", help="an exercise's own row (default: the course's)")
        p.add_argument("--release", default=None, help="opens at, e.g. 2026-12-01T09:00Z (UTC)")
        p.add_argument("--due", default=None, help="due at, e.g. 2026-12-20T23:59Z (UTC)")
        p.add_argument("--late", default=None, help="none | closed | curve:HOURS=CREDIT,...")
        p.add_argument("--rate", default=None, help="SUBMITS/MINUTES, e.g. 5/10 (Run does not count)")
        p.add_argument("--gpu-seconds", type=int, default=None, help="GPU seconds per learner per week")
        p.add_argument("--tutor", default=None, help="QUESTIONS/REFILL_SECONDS, e.g. 10/180 (course only)")
        p.add_argument("--clear", action="append", default=[], help="a field to inherit again (repeatable)")

    def handle(self, *args, action, **options):
        getattr(self, f"do_{action}")(**options)

    # --- helpers ------------------------------------------------------------------------------
    def _load_valid(self, path):
        tree, problems = load(path)
        spec, more = validate(tree, dataset_dirs=self._dataset_dirs())
        problems = sorted(problems + more, key=lambda p: (p.file, p.line))
        return tree, spec, problems

    def _dataset_dirs(self):
        from gpu_runner.datasets import local_mirrors

        return local_mirrors()

    def _report(self, problems, path):
        for problem in problems:
            self.stderr.write(f"{Path(path) / problem.file}:{problem.line}: {problem.message}")
        raise CommandError(f"{len(problems)} problem(s) found; nothing was changed")

    # --- actions ------------------------------------------------------------------------------
    def do_new(self, slug, dir, title, **_):
        from courses.format.validate import SLUG

        if not SLUG.match(slug):
            raise CommandError(f"{slug!r} is not a valid slug (lowercase letters, digits and hyphens)")
        target = Path(dir or slug)
        if target.exists() and any(target.iterdir()):
            raise CommandError(f"{target} exists and is not empty")
        shutil.copytree(SKELETON, target, dirs_exist_ok=True)
        toml = target / "course.toml"
        toml.write_text(
            toml.read_text().replace("{slug}", slug).replace("{title}", title or slug.replace("-", " ").title())
        )
        self.stdout.write(f"created {target}/ — check it with: python manage.py course validate {target}")

    def do_validate(self, path, **_):
        tree, spec, problems = self._load_valid(path)
        warnings = spec.get("warnings") or []
        for warning in warnings:  # they do not make the course invalid, but an author should look
            self.stderr.write(
                self.style.WARNING(f"{Path(path) / warning.file}:{warning.line}: warning: {warning.message}")
            )
        if problems:
            self._report(problems, path)
        ex = spec["exercises"]
        self.stdout.write(
            self.style.SUCCESS(
                f"{path}: valid — {len(spec['modules'])} modules, {len(spec['lessons'])} lessons, {len(ex)} exercises, "
                f"{sum(len(e['tests']) for e in ex.values())} tests, {sum(len(e['mutants']) for e in ex.values())} mutants"
                + (f", {len(warnings)} warning(s)" if warnings else "")
            )
        )

    def do_test(self, path, exercise, jobs, fail_fast=False, **_):
        from gpu_runner import runtime
        from gpu_runner.sandbox.diagnose import sandbox_status
        from gpu_runner.sandbox.launch import Launcher
        from gpu_runner.sandbox.pool import WarmPool
        from grader.course_check import check_exercise

        tree, spec, problems = self._load_valid(path)
        if problems:
            self._report(problems, path)
        usable, why = sandbox_status(runtime.sandbox_config())
        if not usable:
            raise CommandError(f"cannot run learner code here: {why}")
        order = [i["slug"] for m in spec["modules"] for i in m["items"] if i["kind"] == "exercise"]
        if exercise:
            if exercise not in spec["exercises"]:
                raise CommandError(f"no exercise {exercise!r} in {path} (exercises: {', '.join(order)})")
            order = [exercise]
        self.stdout.write(
            f"{'exercise':<18} {'candidate':<28} {'expect':<6} {'tests':>7}  {'result':<6} {'time':>6}  detail"
        )
        rows, started, lock = [], time.monotonic(), threading.Lock()

        def show(row):
            mark = self.style.SUCCESS("ok") if row.ok else self.style.ERROR("MISS")
            self.stdout.write(
                f"{row.exercise:<18} {row.candidate:<28} {row.expect:<6} {row.passed:>3}/{row.total:<3}  {mark:<6} "
                f"{row.seconds:>5.1f}s  {row.detail[:110]}"
            )
            sys.stdout.flush()

        def check(slug):
            # One warm pool per thread: exercises are checked side by side, one per core.
            pool = WarmPool(Launcher(runtime.sandbox_config()), enabled=True)
            try:
                found = check_exercise(
                    tree,
                    spec,
                    spec["exercises"][slug],
                    pool=pool,
                    data_dir=settings.DATASET_CACHE_DIR,
                    mirror_dir=settings.COURSE_ASSETS_DIR,
                    fail_fast=fail_fast,
                )
            finally:
                pool.close()
            with lock:
                for row in found:
                    show(row)
            return found

        with ThreadPoolExecutor(max_workers=max(1, jobs or os.cpu_count() or 1)) as executor:
            for found in executor.map(check, order):
                rows += found
        misses = [r for r in rows if not r.ok]
        summary = (
            f"{len(rows)} runs over {len(order)} exercises in {time.monotonic() - started:.0f}s: {len(misses)} miss(es)"
        )
        if misses:
            raise CommandError(summary)
        self.stdout.write(self.style.SUCCESS(summary))

    def do_full(self, path, exercise, files, test, **_):
        from gpu_runner import runtime
        from gpu_runner.execute import JobError
        from gpu_runner.sandbox.launch import Launcher
        from gpu_runner.sandbox.pool import WarmPool
        from grader.course_full import NoFullRun, bound_line, run_full

        tree, spec, problems = self._load_valid(path)
        if problems:
            self._report(problems, path)
        ex = spec["exercises"].get(exercise)
        if ex is None:
            raise CommandError(f"no exercise {exercise!r} in {path}")
        own = None
        if files:
            # The exercise's own files, and any file it takes from an earlier exercise ([[uses]]):
            # a model.py of yours in the folder replaces the reference's.
            used = [f for use in ex.get("uses", []) for f in use["files"]]
            own = {f: (Path(files) / f).read_text() for f in ex["files"] + used if (Path(files) / f).is_file()}
            missing = [f for f in ex["files"] if f not in own]
            if missing:
                raise CommandError(f"{files} lacks {', '.join(missing)}")
        pool = WarmPool(Launcher(runtime.sandbox_config()), enabled=False)
        self.stdout.write(f"{exercise}: full-size run of {'your files' if own else 'the reference solution'} ...")

        def on_metric(event):
            value = event.get("value")
            shown = f"{value:.4f}" if isinstance(value, float) else str(value)
            self.stdout.write(f"  {event.get('test')}  {event.get('name')} @ {event.get('step')}: {shown}")
            sys.stdout.flush()

        started = time.monotonic()
        try:
            out = run_full(
                tree,
                spec,
                ex,
                pool=pool,
                data_dir=settings.DATASET_CACHE_DIR,
                mirror_dir=settings.COURSE_ASSETS_DIR,
                files=own,
                only=test,
                on_metric=on_metric,
            )
        except (NoFullRun, JobError) as exc:
            raise CommandError(str(exc))
        finally:
            pool.close()
        run = out["run"]
        for t in out["job"]["tests"]:
            rec = out["tests"].get(t["id"]) or {}
            self.stdout.write(f"{t['id']}: {rec.get('outcome') or 'did not finish'}")
            for key, obs in rec.get("obs", {}).items():
                self.stdout.write(f"    {bound_line(key, obs)}")
        self.stdout.write(
            f"process: {run.verdict}{' (' + run.detail + ')' if run.detail else ''}, "
            f"{time.monotonic() - started:.0f}s wall"
        )
        if run.verdict != "ok" or out["unmet"]:
            raise CommandError(
                "the full-size run did not reach its bounds: " + "; ".join(out["unmet"] or [run.verdict])
            )

    def do_import(self, path, publish, wait=0, **_):
        from courses.services import CourseInvalid, version_import, version_publish

        tree, problems = load(path)
        if problems:
            self._report(problems, path)
        try:
            version, created = version_import(
                tree=tree, note=f"imported from {Path(path).resolve().name}", dataset_dirs=self._dataset_dirs()
            )
        except CourseInvalid as exc:
            self._report(exc.problems, path)
        if created:
            self.stdout.write(self.style.SUCCESS(f"imported {version} (hash {version.content_hash[:12]})"))
        else:
            self.stdout.write(f"unchanged: {version} already has this content (hash {version.content_hash[:12]})")
        if publish:
            version_publish(version=version)
            self.stdout.write(self.style.SUCCESS(f"published {version}"))
        self._fetch_datasets(version.meta.get("datasets") or {})
        report_references(self, version, wait)

    def _version(self, slug, number):
        course = Course.objects.filter(slug=slug).first()
        if course is None:
            raise CommandError(f"no course {slug!r}")
        qs = course.versions.all()
        version = qs.filter(number=number).first() if number else qs.order_by("-number").first()
        if version is None:
            raise CommandError(f"{slug} has no version {number}" if number else f"{slug} has no versions")
        return version

    def do_export(self, slug, path, version, **_):
        from courses.services import version_tree

        v = self._version(slug, version)
        try:
            write(version_tree(v), path)
        except FileExistsError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(self.style.SUCCESS(f"exported {v} to {path} (hash {v.content_hash[:12]})"))

    def do_assets(self, path, **_):
        tree, spec, problems = self._load_valid(path)
        if problems:
            self._report(problems, path)
        failures = self._fetch_datasets(spec["course"]["datasets"], verbose=True)
        if failures:
            raise CommandError(f"{failures} dataset(s) not available")

    def _fetch_datasets(self, declared: dict, *, verbose=False) -> int:
        """Make every declared dataset available in this host's cache (fetching it if needed);
        report each failure here and on the instructor's pages. Returns the failure count."""
        from gpu_runner.datasets import DatasetError, clear_failure, ensure, report_failure

        failures = 0
        for name, dataset in declared.items():
            dataset = {k: v for k, v in dataset.items() if not k.startswith("_")}
            try:
                target = ensure(settings.DATASET_CACHE_DIR, dataset, mirror_dir=settings.COURSE_ASSETS_DIR)
            except DatasetError as exc:
                failures += 1
                report_failure(dataset, str(exc))
                self.stderr.write(
                    f"{name}: {exc}\n  until it is available, submissions to the exercises that read it are not "
                    "gradable (learners are told the data is not available yet; no attempt is used)"
                )
                continue
            clear_failure(dataset)
            if verbose:
                self.stdout.write(f"{name}: ok ({target})")
        return failures

    def do_publish(self, slug, version, wait=0, **_):
        from courses.services import version_publish

        v = version_publish(version=self._version(slug, version))
        self.stdout.write(self.style.SUCCESS(f"published {v}"))
        self._fetch_datasets(v.meta.get("datasets") or {})
        report_references(self, v, wait)

    def do_rollback(self, slug, **_):
        from courses.services import version_rollback

        course = Course.objects.filter(slug=slug).first()
        if course is None:
            raise CommandError(f"no course {slug!r}")
        try:
            v = version_rollback(course=course)
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(self.style.SUCCESS(f"rolled back: {v} is published"))

    def do_list(self, **_):
        for course in Course.objects.all():
            current = course.published_version_id
            self.stdout.write(f"{course.slug}: {course.title}")
            for v in course.versions.order_by("-number"):
                flag = " (live)" if v.pk == current else ""
                self.stdout.write(
                    f"  v{v.number} {v.status}{flag} {v.created_at:%Y-%m-%d %H:%M} {v.content_hash[:12]} {v.note}"
                )
        if not CourseVersion.objects.exists():
            self.stdout.write("no courses yet: python manage.py course import PATH")

    def do_policy(self, slug, exercise, release, due, late, rate, gpu_seconds, tutor, clear, **_):
        from courses import policies
        from courses.selectors import policy_for
        from courses.services import policy_set

        course = Course.objects.filter(slug=slug).first()
        if course is None:
            raise CommandError(f"no course {slug!r}")
        fields = dict.fromkeys(clear)
        fields.update({k: v for k, v in (("release_at", release), ("due_at", due)) if v is not None})
        if late is not None:
            fields["late_policy"], _, curve = late.partition(":")
            if curve:
                fields["late_curve"] = curve
        pairs = [(rate, "rate_limit", "rate_window_minutes"), (tutor, "tutor_quota", "tutor_refill_seconds")]
        for text, first, second in pairs:
            if text is not None:
                fields[first], _, fields[second] = text.partition("/")
        if gpu_seconds is not None:
            fields["gpu_seconds_per_week"] = gpu_seconds
        if fields:
            try:
                policy_set(course=course, exercise_slug=exercise, user=None, **fields)
            except ValueError as exc:
                raise CommandError(str(exc)) from None
        policy = policy_for(course=course, exercise_slug=exercise)
        for name in policies.FIELDS:
            value = getattr(policy, name)
            if name in ("release_at", "due_at") and value:
                value = policies.date_words(value)
            elif name == "late_curve":
                value = policies.curve_text(value) or None
            self.stdout.write(f"{name}: {'-' if value is None else value} ({policy.sources[name]})")
