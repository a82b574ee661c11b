from grader.models import Draft
from grader.services.files import clean_files


def draft_save(*, user, exercise, files: dict) -> Draft:
    """Autosave the editor. Same file rules as a submission, so a draft can always be submitted."""
    files = clean_files(exercise=exercise, files=files, partial=True)
    draft, created = Draft.objects.get_or_create(
        user=user, course=exercise.version.course, exercise_slug=exercise.slug, defaults={"files": files}
    )
    if not created:
        draft.files = {**draft.files, **files}
        draft.save(update_fields=["files", "updated_at"])
    return draft


def draft_reset(*, user, exercise) -> None:
    """Back to the starter code (the learner confirmed)."""
    Draft.objects.filter(user=user, course=exercise.version.course, exercise_slug=exercise.slug).delete()
