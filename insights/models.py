"""What staff do with what the course data shows: learners they helped (the stuck queue), and
changes made from a misconception cluster (so the page can show whether it shrank afterwards)."""

from django.conf import settings
from django.db import models


class StuckResolution(models.Model):
    """A TA marked a stuck learner as helped. The learner comes back to the queue only if they get
    stuck again after this (new failed attempts, or a new request for a human)."""

    course = models.ForeignKey("courses.Course", on_delete=models.CASCADE, related_name="+")
    learner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    exercise_slug = models.SlugField(max_length=80, blank=True)  # blank: a request for a human outside an exercise
    resolved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    note = models.CharField(max_length=500, blank=True)
    resolved_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-resolved_at"]
        indexes = [models.Index(fields=["course", "learner", "exercise_slug"], name="stuck_resolution_lookup")]

    def __str__(self):
        return f"{self.learner_id} on {self.exercise_slug or 'the course'} resolved"


class ClusterAction(models.Model):
    """A hint written or a mutant saved from a misconception cluster."""

    class Kind(models.TextChoices):
        HINT = "hint"
        MUTANT = "mutant"

    course = models.ForeignKey("courses.Course", on_delete=models.CASCADE, related_name="+")
    exercise_slug = models.SlugField(max_length=80)
    signature = models.CharField(max_length=64)
    kind = models.CharField(max_length=8, choices=Kind.choices)
    detail = models.TextField()  # the hint's text, or the mutant's name
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at"]
        indexes = [models.Index(fields=["course", "exercise_slug", "signature"], name="cluster_action_lookup")]

    def __str__(self):
        return f"{self.kind} on {self.exercise_slug}/{self.signature[:8]}"
