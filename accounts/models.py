from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models

from courses.stamps import StampedQuerySet


class StampedUserManager(UserManager.from_queryset(StampedQuerySet)):
    pass


class User(AbstractUser):
    """Learners sign in with their email address; the username is what other people see."""

    email = models.EmailField("email address", unique=True)

    # The header of every page shows the user's name: writes drop their cached pages (courses/stamps.py).
    objects = StampedUserManager()

    def __str__(self):
        return self.username


class ApiToken(models.Model):
    """A personal API token for the terminal client and scripts. Only a hash of the secret is
    stored; the learner sees the whole token once, when it is created. The prefix (not secret)
    finds the row and names the token in lists."""

    class Scope(models.TextChoices):
        READ = "read"  # courses, lessons, exercises, their own submissions and progress
        SUBMIT = "submit"  # Run and Submit
        STAFF = "staff"  # what their course role allows staff to read (gradebook)

    user = models.ForeignKey("accounts.User", on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=80)
    prefix = models.CharField(max_length=12, unique=True)
    secret_hash = models.CharField(max_length=64)
    scopes = models.JSONField(default=list)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.name} ({self.prefix}…) of {self.user_id}"
