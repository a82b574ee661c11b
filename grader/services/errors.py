class SubmissionRejected(ValueError):
    """Bad input from the learner: shown to them as is, nothing stored or queued."""
