"""Writes for grading. Split by topic; import from here."""

from grader.services.drafts import draft_reset, draft_save  # noqa: F401
from grader.services.references import reference_warm_failed, reference_warmed, references_warm  # noqa: F401
from grader.services.regrades import notice_mark_read, regrade_start  # noqa: F401
from grader.services.replays import replay_record, replay_start  # noqa: F401
from grader.services.results import (  # noqa: F401
    reference_store,
    submission_mark_started,
    submission_record_result,
    submissions_reap,
)
from grader.services.reviews import integrity_clear  # noqa: F401
from grader.services.submissions import (  # noqa: F401
    PrerequisiteLocked,
    SubmissionClosed,
    SubmissionLimited,
    SubmissionRejected,
    job_build,
    submission_create,
    submission_enqueue,
    submission_quota,
)
