from django.contrib.auth.models import AbstractUser
from django.db import models


class User(AbstractUser):
    """Learners sign in with their email address; the username is what other people see."""

    email = models.EmailField("email address", unique=True)

    def __str__(self):
        return self.username
