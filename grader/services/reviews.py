"""Staff review of integrity flags: a TA or instructor looks at the evidence and clears the flag
(a false alarm, or dealt with). The evidence stays on the result; the review says who, when, why."""

from django.utils import timezone

from grader.models import Submission


def integrity_clear(*, submission: Submission, user, note: str) -> Submission:
    """The caller has checked the TA role in the submission's course."""
    note = " ".join((note or "").split())
    if not note:
        raise ValueError("say why the flag is cleared (it is kept with the submission for other staff)")
    if not submission.flagged:
        raise ValueError("this submission is not flagged")
    review = {"decision": "cleared", "by": user.username, "at": timezone.now().isoformat(), "note": note[:500]}
    Submission.objects.filter(pk=submission.pk).update(flagged=False, flag_review=review)
    submission.flagged, submission.flag_review = False, review
    return submission
