"""Tutor conversations, their messages, and each learner's question allowance."""

from django.conf import settings
from django.db import models


class Conversation(models.Model):
    class Kind(models.TextChoices):
        LESSON = "lesson"
        EXERCISE = "exercise"
        COURSE = "course"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="tutor_conversations")
    course = models.ForeignKey("courses.Course", on_delete=models.CASCADE, related_name="tutor_conversations")
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.COURSE)
    item_slug = models.SlugField(max_length=80, blank=True)
    title = models.CharField(max_length=200, blank=True)
    human_requested_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-updated_at"]
        indexes = [models.Index(fields=["user", "course", "kind", "item_slug"], name="conversation_lookup")]

    def __str__(self):
        return f"{self.user} · {self.title or self.item_slug}"


class Message(models.Model):
    class Role(models.TextChoices):
        LEARNER = "learner"
        TUTOR = "tutor"  # the AI tutor
        TA = "ta"  # a person: a TA or instructor who joined
        SYSTEM = "system"  # notices (quota, provider down)

    class Status(models.TextChoices):
        COMPLETE = "complete"
        STREAMING = "streaming"
        STOPPED = "stopped"  # the learner pressed stop; what was said is kept
        ERROR = "error"

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="messages")
    role = models.CharField(max_length=8, choices=Role.choices)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    text = models.TextField()
    html = models.TextField(blank=True)  # sanitised render, made once when the message completes
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.COMPLETE)
    # What the reply was grounded on (section anchors, test ids, submission id) and what the
    # model reported about its own reply (failing test, function, lines, citations, strategy).
    context = models.JSONField(default=dict, blank=True)
    sidecar = models.JSONField(default=dict, blank=True)
    # Guardrail findings: leak_exec, leak_similarity, leak_unchecked, leak_check_unavailable, canary,
    # citation_invalid, off_topic, provider_error, tutor_not_configured
    flags = models.JSONField(default=list, blank=True)
    rating = models.SmallIntegerField(default=0)  # -1 unhelpful, 0 unrated, 1 helpful
    rating_comment = models.CharField(max_length=500, blank=True)
    provider = models.CharField(max_length=40, blank=True)
    model = models.CharField(max_length=100, blank=True)
    tokens_in = models.PositiveIntegerField(default=0)
    tokens_out = models.PositiveIntegerField(default=0)
    cost_usd = models.DecimalField(max_digits=10, decimal_places=6, default=0)
    latency_ms = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self):
        return f"{self.role}: {self.text[:60]}"


class Allowance(models.Model):
    """CS50-style energy: `points` questions, one more every `refill_seconds` up to the cap."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="tutor_allowances")
    course = models.ForeignKey("courses.Course", on_delete=models.CASCADE, related_name="tutor_allowances")
    points = models.FloatField()
    updated_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "course"], name="allowance_unique")]

    def __str__(self):
        return f"{self.user} in {self.course_id}: {self.points:.1f}"
