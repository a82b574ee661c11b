"""The rules a learner's files must follow before anything is stored or queued."""

from grader.services.errors import SubmissionRejected


def clean_files(*, exercise, files, partial: bool = False) -> dict[str, str]:
    """Only the exercise's editable files, as UTF-8 text under the size cap. `partial` allows a
    subset (autosave of one tab)."""
    spec = exercise.spec
    allowed = spec["files"]
    limit = int(spec.get("max_file_kb", 64)) * 1024
    if not isinstance(files, dict) or not files:
        raise SubmissionRejected("no files were sent")
    cleaned = {}
    for name, content in files.items():
        if name not in allowed:
            raise SubmissionRejected(f"{name!r} is not part of this exercise; you can edit {', '.join(allowed)}")
        if isinstance(content, bytes):
            try:
                content = content.decode("utf-8")
            except UnicodeDecodeError:
                raise SubmissionRejected(f"{name} is not UTF-8 text") from None
        if not isinstance(content, str):
            raise SubmissionRejected(f"{name} must be text")
        if "\x00" in content:
            raise SubmissionRejected(f"{name} looks like a binary file (it contains NUL bytes); submit source code")
        size = len(content.encode("utf-8"))
        if size > limit:
            raise SubmissionRejected(
                f"{name} is {size // 1024} KiB; the limit for this exercise is {limit // 1024} KiB"
            )
        cleaned[name] = content
    if not partial:
        missing = [name for name in allowed if name not in cleaned]
        if missing:
            raise SubmissionRejected(f"missing file(s): {', '.join(missing)}")
    return cleaned
