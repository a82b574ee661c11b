"""Writes for grading. Split by topic; import from here."""

from grader.services.drafts import draft_reset, draft_save  # noqa: F401
from grader.services.results import (  # noqa: F401
    reference_store,
    submission_mark_started,
    submission_record_result,
    submissions_reap,
)
from grader.services.submissions import (  # noqa: F401
    PrerequisiteLocked,
    SubmissionLimited,
    SubmissionRejected,
    job_build,
    submission_create,
    submission_enqueue,
    submission_quota,
)
