"""Submissions and their lifecycle (queued -> running -> graded | error), drafts, and cached
reference observations."""

from django.conf import settings
from django.db import models


class Submission(models.Model):
    class Kind(models.TextChoices):
        RUN = "run"  # visible tests only, quick feedback; does not count toward progress
        SUBMIT = "submit"  # every test; counts

    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        GRADED = "graded"
        ERROR = "error"  # not gradable: an infrastructure fault, costs the learner nothing

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="submissions")
    course = models.ForeignKey("courses.Course", on_delete=models.CASCADE, related_name="submissions")
    # The exact exercise row, and so the course version, this was graded against.
    exercise = models.ForeignKey("courses.Exercise", on_delete=models.PROTECT, related_name="submissions")
    exercise_slug = models.SlugField(max_length=80)  # stable across versions: history and progress
    kind = models.CharField(max_length=6, choices=Kind.choices, default=Kind.SUBMIT)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.QUEUED)
    # Grading delivery attempt: bumped by the reaper when it re-enqueues; results from an older
    # attempt no longer match the conditional update and are dropped.
    attempt = models.PositiveIntegerField(default=1)
    # The learner's attempt number on this exercise (submits only; infrastructure faults don't use one).
    number = models.PositiveIntegerField(default=1)
    files = models.JSONField()
    # The exact earlier-exercise files this submission ran with (`uses` in exercise.toml), so a
    # regrade or replay runs the same code: {exercise_slug: {"source": "yours", "submission": id,
    # "files": {...}}}.
    uses_files = models.JSONField(default=dict, blank=True)
    device = models.CharField(max_length=8, blank=True)
    queue = models.CharField(max_length=20, blank=True)
    gradable = models.BooleanField(default=True)
    passed = models.BooleanField(default=False)
    score = models.FloatField(null=True, blank=True)
    max_score = models.FloatField(null=True, blank=True)
    result = models.JSONField(null=True, blank=True)  # docs/result-schema.md
    events = models.JSONField(default=list, blank=True)  # the event log, copied from Redis when done
    error = models.TextField(blank=True)
    # Set when the grader found evidence that the code tampered with the grading harness; the
    # reasons are in result["integrity"]. Staff review lists these first.
    flagged = models.BooleanField(default=False)
    runner_version = models.CharField(max_length=40, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    deadline_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["user", "course", "exercise_slug", "-created_at"], name="submission_history"),
            models.Index(fields=["status", "deadline_at"], name="submission_reaper"),
            models.Index(fields=["course", "flagged"], name="submission_flagged"),
        ]

    def __str__(self):
        return f"#{self.pk} {self.exercise_slug} by {self.user_id} ({self.status})"

    @property
    def finished(self) -> bool:
        return self.status in (self.Status.GRADED, self.Status.ERROR)


class Draft(models.Model):
    """The learner's editor contents, autosaved, so another device picks up where they were."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="drafts")
    course = models.ForeignKey("courses.Course", on_delete=models.CASCADE, related_name="drafts")
    exercise_slug = models.SlugField(max_length=80)
    files = models.JSONField()
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "course", "exercise_slug"], name="draft_unique")]

    def __str__(self):
        return f"draft of {self.exercise_slug} by {self.user_id}"


class ReferenceRun(models.Model):
    """Observations of the reference solution, per exercise content and device class: the
    expected values of differential grading. Computed once, on first need."""

    content_hash = models.CharField(max_length=64)
    device = models.CharField(max_length=8)
    events = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["content_hash", "device"], name="reference_unique")]

    def __str__(self):
        return f"reference {self.content_hash[:12]} on {self.device}"
