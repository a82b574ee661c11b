"""Submissions and their lifecycle (queued -> running -> graded | error), drafts, and cached
reference observations."""

from django.conf import settings
from django.db import models

from courses.stamps import StampedQuerySet


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
    # The row it was first graded against, kept when a staff regrade moves `exercise` to another
    # version (null: never moved). "Regrade against the version it was graded with" uses it.
    submitted_exercise = models.ForeignKey(
        "courses.Exercise", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
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
    # A staff member reviewed the flag: {"by": username, "at": iso time, "note": ..., "decision": "cleared"}.
    # The evidence stays in result["integrity"].
    flag_review = models.JSONField(default=dict, blank=True)
    runner_version = models.CharField(max_length=40, blank=True)
    # The staff regrade this submission is in (or was last in): its jobs run at a lower priority
    # than learners' own, do not count against the learner's caps, and fold into progress by
    # recomputing it (a regrade can lower a score) instead of adding an attempt.
    regrade = models.ForeignKey("Regrade", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    deadline_at = models.DateTimeField(null=True, blank=True)

    objects = StampedQuerySet.as_manager()  # writes drop cached pages: courses/stamps.py

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

    objects = StampedQuerySet.as_manager()  # writes drop cached pages: courses/stamps.py

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
    # Why the last warm-up of this exercise failed (the reference does not pass its own tests, a
    # dataset is missing): shown to instructors on the versions page; cleared by a good run.
    error = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["content_hash", "device"], name="reference_unique")]

    def __str__(self):
        return f"reference {self.content_hash[:12]} on {self.device}"


class Regrade(models.Model):
    """A staff request to grade past submissions again: one submission, one exercise or the whole
    course, against the version each was graded with or the course's current one."""

    class Scope(models.TextChoices):
        SUBMISSION = "submission"
        EXERCISE = "exercise"
        COURSE = "course"

    class Target(models.TextChoices):
        ORIGINAL = "original"  # the exercise row (version) the submission was graded with
        CURRENT = "current"  # the course's published version of the same exercise

    course = models.ForeignKey("courses.Course", on_delete=models.CASCADE, related_name="regrades")
    scope = models.CharField(max_length=10, choices=Scope.choices)
    target = models.CharField(max_length=8, choices=Target.choices, default=Target.CURRENT)
    exercise_slug = models.SlugField(max_length=80, blank=True)
    submission = models.ForeignKey(Submission, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    note = models.CharField(max_length=300, blank=True)
    total = models.PositiveIntegerField(default=0)
    done = models.PositiveIntegerField(default=0)
    changed = models.PositiveIntegerField(default=0)
    # Submissions left out and why ({"no_exercise": 3}: the current version has no such exercise).
    skipped = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"regrade #{self.pk} of {self.course_id} ({self.scope})"


class GradeRecord(models.Model):
    """Score history: every time a submit was graded (first, then each regrade). The submission row
    holds the latest; these rows are never changed."""

    submission = models.ForeignKey(Submission, on_delete=models.CASCADE, related_name="grades")
    regrade = models.ForeignKey(Regrade, null=True, blank=True, on_delete=models.SET_NULL, related_name="records")
    version = models.PositiveIntegerField()  # the course version it was graded against
    status = models.CharField(max_length=8)
    gradable = models.BooleanField(default=True)
    passed = models.BooleanField(default=False)
    score = models.FloatField(null=True, blank=True)
    max_score = models.FloatField(null=True, blank=True)
    tests = models.JSONField(default=dict)  # {test id: status}
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self):
        return f"grade of #{self.submission_id}: {self.score}/{self.max_score} (v{self.version})"


class Notice(models.Model):
    """Something a learner must hear about that they did not cause: a regrade changed a score.
    Shown at the top of every page they open until they mark it read."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notices")
    course = models.ForeignKey("courses.Course", on_delete=models.CASCADE, related_name="+")
    submission = models.ForeignKey(Submission, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    text = models.CharField(max_length=500)
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)

    objects = StampedQuerySet.as_manager()  # writes drop cached pages: courses/stamps.py

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["user", "read_at"], name="notice_unread")]

    def __str__(self):
        return f"notice for {self.user_id}: {self.text[:40]}"


class Replay(models.Model):
    """A candidate version of one exercise graded against every past submit of it, changing
    nothing: whose verdict would flip if this version were published."""

    class Status(models.TextChoices):
        RUNNING = "running"
        FINISHED = "finished"

    course = models.ForeignKey("courses.Course", on_delete=models.CASCADE, related_name="replays")
    exercise = models.ForeignKey("courses.Exercise", on_delete=models.CASCADE, related_name="+")  # the candidate
    exercise_slug = models.SlugField(max_length=80)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.RUNNING)
    total = models.PositiveIntegerField(default=0)
    done = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"replay #{self.pk} of {self.exercise_slug}"


class ReplayOutcome(models.Model):
    replay = models.ForeignKey(Replay, on_delete=models.CASCADE, related_name="outcomes")
    submission = models.ForeignKey(Submission, on_delete=models.CASCADE, related_name="+")
    before_passed = models.BooleanField()
    before_score = models.FloatField(null=True)
    # Filled when its job reports back; `after_gradable` false: the candidate could not grade it.
    finished = models.BooleanField(default=False)
    after_gradable = models.BooleanField(default=True)
    after_passed = models.BooleanField(null=True)
    after_score = models.FloatField(null=True)
    after_max_score = models.FloatField(null=True)
    after_tests = models.JSONField(default=dict)  # {test id: status}
    detail = models.CharField(max_length=500, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["replay", "submission"], name="replay_outcome_unique")]

    def __str__(self):
        return f"replay {self.replay_id}: #{self.submission_id}"
