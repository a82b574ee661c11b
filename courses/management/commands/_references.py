"""`course import|publish --wait S`: how far a version's expected values are. Not a command
itself (Django skips modules whose names start with an underscore)."""

import time


def report_references(command, version, wait: int) -> None:
    """Say how far the expected values of `version` are (computed on the workers after the
    import), waiting up to `wait` seconds for them: the first learner of a ready exercise does
    not wait for the reference. Reads the grader's state lazily, as `course test` does."""
    from grader.selectors import references_status

    deadline = time.monotonic() + wait
    while True:
        status = references_status(version=version)
        if not status["pending"] or time.monotonic() >= deadline:
            break
        time.sleep(1)
    line = f"expected values: {len(status['ready'])}/{status['total']} exercises ready"
    if status["pending"]:
        line += f"; computing on the workers: {', '.join(status['pending'])}"
    command.stdout.write(line)
    for failed in status["failed"]:
        command.stderr.write(f"{failed['slug']}: expected values could not be computed: {failed['error']}")
