"""Courses, their immutable versions, and who belongs to them.

A course is a stable identity (slug). Its content lives in `CourseVersion`s: each is an immutable
snapshot of the course folder (a manifest of path -> blob hash) plus the parsed modules, lessons
and exercises. Learners' progress is keyed by (course, exercise slug), so it survives new
versions; each submission points at the exact `Exercise` row (and so version) it was graded on.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q

from courses.stamps import StampedQuerySet


class Course(models.Model):
    slug = models.SlugField(max_length=80, unique=True)
    title = models.CharField(max_length=200)
    summary = models.TextField(blank=True)
    # What learners see. Publishing and rolling back only move this pointer.
    published_version = models.ForeignKey(
        "CourseVersion", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = StampedQuerySet.as_manager()  # writes drop cached pages: courses/stamps.py

    class Meta:
        ordering = ["title"]

    def __str__(self):
        return self.title


class CourseVersion(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft"
        PUBLISHED = "published"
        RETIRED = "retired"

    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    # sha256 over the sorted manifest: equal folders give equal hashes (export/import round-trips).
    content_hash = models.CharField(max_length=64)
    manifest = models.JSONField()  # {"path/in/folder": "sha256", ...}
    meta = models.JSONField(default=dict)  # parsed course.toml
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.DRAFT)
    note = models.CharField(max_length=300, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)
    published_at = models.DateTimeField(null=True, blank=True)

    objects = StampedQuerySet.as_manager()  # writes drop cached pages: courses/stamps.py

    class Meta:
        ordering = ["course", "-number"]
        constraints = [models.UniqueConstraint(fields=["course", "number"], name="courseversion_unique_number")]

    def __str__(self):
        return f"{self.course.slug} v{self.number}"


class Blob(models.Model):
    """Content-addressed file contents shared by every version that holds the same bytes."""

    sha256 = models.CharField(max_length=64, primary_key=True)
    size = models.PositiveIntegerField()
    data = models.BinaryField()

    def __str__(self):
        return f"{self.sha256[:12]} ({self.size} bytes)"


class Module(models.Model):
    version = models.ForeignKey(CourseVersion, on_delete=models.CASCADE, related_name="modules")
    slug = models.SlugField(max_length=80)
    title = models.CharField(max_length=200)
    summary = models.TextField(blank=True)
    position = models.PositiveIntegerField()
    path = models.CharField(max_length=300)

    class Meta:
        ordering = ["version", "position"]
        constraints = [models.UniqueConstraint(fields=["version", "slug"], name="module_unique_slug")]

    def __str__(self):
        return self.title


class Lesson(models.Model):
    version = models.ForeignKey(CourseVersion, on_delete=models.CASCADE, related_name="lessons")
    module = models.ForeignKey(Module, on_delete=models.CASCADE, related_name="lessons")
    slug = models.SlugField(max_length=80)
    title = models.CharField(max_length=200)
    position = models.PositiveIntegerField()  # order within the module's item list
    path = models.CharField(max_length=300)
    minutes = models.PositiveIntegerField(default=10)
    objectives = models.JSONField(default=list)
    # Rows of the learner's own numbers shown with the lesson: [{exercise, metric, label, reference}]
    scoreboard = models.JSONField(default=list, blank=True)
    # Figures from the learner's own latest run shown with the lesson: [{exercise, name, label, about}]
    figures = models.JSONField(default=list, blank=True)
    source = models.TextField()  # Markdown without front matter
    # Rendered once per version (versions are immutable, so this is the cache).
    html = models.TextField()
    toc = models.JSONField(default=list)  # [{"level": 2, "text": ..., "anchor": ...}]
    sections = models.JSONField(default=list)  # [{"anchor", "title", "text"}] for the tutor's retrieval

    class Meta:
        ordering = ["version", "module__position", "position"]
        constraints = [models.UniqueConstraint(fields=["version", "slug"], name="lesson_unique_slug")]

    def __str__(self):
        return self.title


class Exercise(models.Model):
    class Device(models.TextChoices):
        CPU = "cpu"
        GPU = "gpu"

    version = models.ForeignKey(CourseVersion, on_delete=models.CASCADE, related_name="exercises")
    module = models.ForeignKey(Module, on_delete=models.CASCADE, related_name="exercises")
    lesson = models.ForeignKey(Lesson, null=True, blank=True, on_delete=models.SET_NULL, related_name="exercises")
    slug = models.SlugField(max_length=80)
    title = models.CharField(max_length=200)
    position = models.PositiveIntegerField()
    path = models.CharField(max_length=300)
    device = models.CharField(max_length=3, choices=Device.choices, default=Device.CPU)
    points = models.PositiveIntegerField(default=10)
    prompt_html = models.TextField(blank=True)
    # The validated exercise.toml (see docs/course-format.md) with defaults filled in.
    spec = models.JSONField()
    # Hash of every file the exercise's grading depends on: the reference-observation cache key.
    content_hash = models.CharField(max_length=64)

    class Meta:
        ordering = ["version", "module__position", "position"]
        constraints = [models.UniqueConstraint(fields=["version", "slug"], name="exercise_unique_slug")]

    def __str__(self):
        return self.title


class Membership(models.Model):
    class Role(models.TextChoices):
        STUDENT = "student"
        TA = "ta"
        INSTRUCTOR = "instructor"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=12, choices=Role.choices, default=Role.STUDENT)
    created_at = models.DateTimeField(auto_now_add=True)
    # "Continue where you left off": the last lesson or exercise the member opened.
    last_kind = models.CharField(max_length=10, blank=True)
    last_slug = models.SlugField(max_length=80, blank=True)
    last_seen_at = models.DateTimeField(null=True, blank=True)

    objects = StampedQuerySet.as_manager()  # writes drop cached pages: courses/stamps.py

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "course"], name="membership_unique")]

    def __str__(self):
        return f"{self.user} in {self.course.slug} as {self.role}"


class ExerciseProgress(models.Model):
    """A learner's standing on one exercise, across every version of the course."""

    class Status(models.TextChoices):
        ATTEMPTED = "attempted"
        PASSED = "passed"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="progress")
    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="progress")
    exercise_slug = models.SlugField(max_length=80)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ATTEMPTED)
    best_score = models.FloatField(default=0)
    max_score = models.FloatField(default=0)
    submissions = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    objects = StampedQuerySet.as_manager()  # writes drop cached pages: courses/stamps.py

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "course", "exercise_slug"], name="progress_unique"),
            models.CheckConstraint(condition=Q(best_score__gte=0), name="progress_score_nonnegative"),
        ]

    def __str__(self):
        return f"{self.user} {self.exercise_slug}: {self.status} {self.best_score:g}/{self.max_score:g}"


class AuthoringWorkspace(models.Model):
    """An instructor's editable copy of a course folder; publishing turns it into a new version."""

    course = models.OneToOneField(Course, on_delete=models.CASCADE, related_name="workspace")
    base_version = models.ForeignKey(CourseVersion, on_delete=models.CASCADE, related_name="+")
    manifest = models.JSONField()
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self):
        return f"workspace of {self.course.slug} (from v{self.base_version.number})"


class Policy(models.Model):
    """Release and due dates, late rules and limits for a course (exercise_slug "") or one of its
    exercises. An exercise's row overrides the course's field by field; a null field (or "" for
    late_policy) inherits, and null everywhere means no limit. The rules: courses/policies.py.
    Keyed by slug, like progress, so a policy outlives course versions."""

    class LatePolicy(models.TextChoices):
        NONE = "none"  # accepted, marked late, full credit
        CURVE = "curve"  # credit falls with hours late (late_curve)
        CLOSED = "closed"  # no submissions after the due date

    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="policies")
    exercise_slug = models.SlugField(max_length=80, blank=True)
    release_at = models.DateTimeField(null=True, blank=True)
    due_at = models.DateTimeField(null=True, blank=True)
    late_policy = models.CharField(max_length=6, choices=LatePolicy.choices, blank=True)
    late_curve = models.JSONField(null=True, blank=True)  # [[hours, credit], ...], sorted
    rate_limit = models.PositiveIntegerField(null=True, blank=True)  # submits per window
    rate_window_minutes = models.PositiveIntegerField(null=True, blank=True)
    gpu_seconds_per_week = models.PositiveIntegerField(null=True, blank=True)
    tutor_quota = models.PositiveIntegerField(null=True, blank=True)  # course rows only
    tutor_refill_seconds = models.PositiveIntegerField(null=True, blank=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    objects = StampedQuerySet.as_manager()  # writes drop cached pages: courses/stamps.py

    class Meta:
        verbose_name_plural = "policies"
        constraints = [models.UniqueConstraint(fields=["course", "exercise_slug"], name="policy_unique")]

    def __str__(self):
        return f"policy of {self.course.slug}{' / ' + self.exercise_slug if self.exercise_slug else ''}"
