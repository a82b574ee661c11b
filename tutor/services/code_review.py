"""What of a reply's code the learner may see. Every code token (reply_text.code_in: fenced with
``` or ~~~ under any info string or none, indented, long inline spans, <pre>/<code> text) goes
through the same steps, whatever its language tag:

1. Similarity with the reference solution (guardrails.similarity_leak: shared 5-grams; and
   reference_lines_leak: a whole reference line the learner lacks). A hit is removed
   (`leak_similarity`). Prose paragraphs get the n-gram check too: code written as plain lines
   still shows as text.
2. Execution, in an exercise conversation, against the stored submission the tutor reasoned
   about (prompt.submission, re-read through its permission gate: never the browser's files):
   the block is spliced into its files and that submission's failing tests run in the sandbox.
   Making one pass is a leak (`leak_exec`).

When the execution check cannot decide, the policy closes:
- the check errors, times out, the runner reports the job not gradable, the learner's check
  rate is spent, or the stored submission can no longer be read: no code of the reply is shown,
  and each block's place says so in plain words (`leak_check_unavailable`);
- no graded submission yet: a block that would replace a function of the exercise's starter
  files is held back with a note saying why (`leak_unchecked`); it cannot be run against
  failures nobody has seen;
- the submission passed every test: nothing is left to give away by running; step 1 still applies;
- a block that defines nothing the learner's files define ("nothing to splice": a line, an
  expression, another language) cannot stand in for their code, so running it would only run
  their own code again: step 1, with the line check, is its check.
A lesson or course conversation has no submission to run: its blocks are compared with every
exercise's reference solution in the course version, and a block that would replace a function
of some exercise's starter is held back with a pointer to that exercise's page
(`leak_unchecked`). Code the lessons or the starter already show counts as given everywhere:
quoting it gives nothing away.
"""

import logging
from dataclasses import dataclass

from channels.db import database_sync_to_async

from courses import selectors as course_selectors
from courses.models import Exercise, Lesson
from tutor.services import guardrails, leak_check, reply_text

log = logging.getLogger(__name__)


_lesson_code: dict[int, dict] = {}


def _code_the_lessons_show(version) -> dict:
    """Code blocks of the course's lessons: what a reader is shown anyway, so quoting it gives
    nothing away (it counts with the starter as already given)."""
    if version is None:
        return {}
    cached = _lesson_code.get(version.pk)
    if cached is None:
        cached = {}
        for slug, sections in Lesson.objects.filter(version=version).values_list("slug", "sections"):
            for n, section in enumerate(sections or []):
                for m, block in enumerate(reply_text.code_in(section.get("text", ""))):
                    cached[f"lesson/{slug}/{n}/{m}"] = block.text
        if len(_lesson_code) > 64:
            _lesson_code.clear()
        _lesson_code[version.pk] = cached
    return cached


@dataclass
class Reference:
    solution: dict  # the exercise's reference files
    starter: dict  # its starter files
    given: dict  # what the learner is shown anyway: the starter and the lessons' code


def _references(prompt, version) -> list[Reference]:
    """The exercises a reply is compared with: the conversation's, or every one in the course."""
    if prompt.exercise is not None:
        exercises = [prompt.exercise]
    elif version is not None:
        exercises = list(Exercise.objects.filter(version=version))
    else:
        exercises = []
    shown = _code_the_lessons_show(version)
    out = []
    for exercise in exercises:
        bundle = course_selectors.exercise_bundle(exercise=exercise)
        files = exercise.spec["files"]
        starter = {f: bundle["starter"].get(f, "") for f in files}
        out.append(Reference({f: bundle["solution"].get(f, "") for f in files}, starter, {**shown, **starter}))
    return out


def _similar(code: str, references: list[Reference], known: dict, *, lines: bool) -> bool:
    for ref in references:
        if guardrails.similarity_leak(code, ref.solution, ref.given):
            return True
        own = {f"own/{k}": v for k, v in known.items()}
        if lines and guardrails.reference_lines_leak(code, ref.solution, {**ref.given, **own}):
            return True
    return False


def _would_replace(code: str, references: list[Reference]) -> bool:
    """Whether the block defines a function of some exercise's starter (and is not just code
    the lessons or starter already show)."""
    return any(
        leak_check.spliced_files(ref.starter, code) is not None and not guardrails.only_given(code, ref.given)
        for ref in references
    )


async def _base(prompt, user):
    """(the stored submission to run against or None, whether reading it failed)."""
    if prompt.exercise is None or prompt.submission is None:
        return None, False
    try:
        return await database_sync_to_async(leak_check.base_for)(user=user, submission_id=prompt.submission.pk), False
    except Exception as exc:  # gone, or no longer readable: nothing to run against, so no code
        log.warning("tutor code check: submission %s unreadable: %s", prompt.submission.pk, exc)
        return None, True


async def review(*, text: str, prompt, user, version) -> tuple[str, list[str]]:
    """(text the learner may see, flags)."""
    text = reply_text.normalise(text)
    blocks = reply_text.code_in(text)
    references = await database_sync_to_async(_references)(prompt, version)
    base, unreadable = await _base(prompt, user)
    known = base.files if base else {}
    flags, removed = [], []  # removed: (block, note)

    def remove(block, note, flag):
        flags.append(flag)
        removed.append((block, note))

    for block in blocks:
        if _similar(block.text, references, known, lines=True):
            remove(block, guardrails.REDACTED, "leak_similarity")
    for para in reply_text.prose_in(text):
        overlaps = any(b.start < para.end and para.start < b.end for b in blocks)
        if not overlaps and _similar(para.text, references, known, lines=False):
            remove(para, guardrails.REDACTED, "leak_similarity")

    pending = [b for b in blocks if all(b is not r for r, _ in removed)]
    if prompt.exercise is None:
        for block in pending:
            if _would_replace(block.text, references):
                remove(block, guardrails.FROM_THE_EXERCISE, "leak_unchecked")
    elif unreadable:
        for block in pending:
            remove(block, guardrails.UNCHECKED, "leak_check_unavailable")
    elif base is None:
        for block in pending:
            if _would_replace(block.text, references):
                remove(block, guardrails.NOTHING_GRADED, "leak_unchecked")
    elif base.failing:
        for n, block in enumerate(pending):
            files = leak_check.spliced_files(base.files, block.text)
            if files is None:
                continue
            try:
                passed = await leak_check.tests_passed_with(base=base, user=user, files=files)
            except leak_check.CheckUnavailable as exc:
                log.warning("tutor code check unavailable (submission %s): %s", base.submission_id, exc)
                for rest in pending[n:]:
                    remove(rest, guardrails.UNCHECKED, "leak_check_unavailable")
                for earlier in pending[:n]:  # checked and passed, but the reply goes without code
                    if all(earlier is not r for r, _ in removed):
                        remove(earlier, guardrails.UNCHECKED, "leak_check_unavailable")
                break
            if passed:
                remove(block, guardrails.REDACTED, "leak_exec")
    for block, note in sorted(removed, key=lambda r: -r[0].start):
        text = reply_text.replace(text, [block], note)
    return text, sorted(set(flags))
