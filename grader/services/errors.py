class SubmissionRejected(ValueError):
    """Bad input from the learner: shown to them as is, nothing stored or queued."""


class SubmissionLimited(SubmissionRejected):
    """Refused by a limit (config/ratelimits.py, or the course's policy: courses/policies.py),
    not by what was sent: HTTP 429. `quota` is where the learner stands, for the page."""

    def __init__(self, message: str, *, retry_after: int | None = None, quota: dict | None = None):
        super().__init__(message)
        self.retry_after = retry_after
        self.quota = quota


class SubmissionClosed(SubmissionRejected):
    """Refused by the exercise's dates (courses/policies.py): not open yet, or closed after its
    due date. Nothing is stored: HTTP 403."""


class PrerequisiteLocked(SubmissionRejected):
    """The learner has not passed an exercise this one needs (grader/prerequisites.py); nothing
    is stored or queued. `lock` says which, with the message they read."""

    def __init__(self, lock):
        super().__init__(lock.message)
        self.lock = lock
