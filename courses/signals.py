"""What the courses app tells apps that depend on it, without importing them (the arrows go
the other way): the grader listens to compute expected values ahead of the first learner."""

from django.dispatch import Signal

# Sent after the transaction that stored or published a version commits; kwargs: version.
version_ready = Signal()
