"""Building the prompt: what the tutor knows about where the learner is.

Parts, in priority order when the token budget (TUTOR_CONTEXT_TOKENS, ~4 characters a token)
runs short, and how each is cut:
  1. system prompt and the question: never cut (the question is at most 4,000 characters);
  2. the learner-visible grader result of their latest submission: failing tests first, at most 5,
     each message cut to 600 characters and output to 400;
  3. the learner's code: each file at most 6,000 characters, keeping the lines around where the
     failing test's traceback points, else the start;
  4. lesson sections retrieved for the question: the top 3, each at most 1,500 characters;
  5. hints from the exercise's ladder, up to the learner's current level for the failing test;
  6. earlier turns of the conversation, newest first, each at most 800 characters.
Never included: the reference solution, hidden test source, or hidden tests' expected values
(the stored result already leaves those out).
"""

import html
import json
from dataclasses import dataclass, field

from django.conf import settings

from courses.models import Exercise, Lesson
from grader.models import Submission
from tutor.models import Conversation, Message
from tutor.prompts import system_prompt
from tutor.selectors import graded_submission_for
from tutor.services import canary as canaries
from tutor.services.retrieval import index_for


def estimate_tokens(text: str) -> int:
    return max(1, len(text) // 4)


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 40] + f"\n[... {len(text) - limit + 40} characters cut ...]"


def _cut_code(text: str, limit: int, focus_line: int | None) -> str:
    if len(text) <= limit:
        return text
    lines = text.splitlines()
    if focus_line:
        start = max(0, focus_line - 40)
        window = lines[start : start + 80]
        body = "\n".join(window)
        return (
            f"[... lines 1-{start} omitted ...]\n{body}\n[... {max(0, len(lines) - start - 80)} more lines omitted ...]"
            if start
            else body
        )
    return _cut(text, limit)


def _tag(name: str, body: str, **attrs) -> str:
    attributes = "".join(f' {k}="{html.escape(str(v), quote=True)}"' for k, v in attrs.items())
    # Closing tags inside untrusted text are defused so the text cannot end its own block.
    safe = body.replace(f"</{name}>", f"</ {name}>")
    return f"<{name}{attributes}>\n{safe}\n</{name}>"


@dataclass
class Prompt:
    system: str
    messages: list
    canary: str
    sections: list = field(default_factory=list)  # Section objects given to the model
    failing: list = field(default_factory=list)  # learner-visible failing test rows
    hints: dict = field(default_factory=dict)  # test id -> hints given so far
    exercise: Exercise | None = None
    lesson: Lesson | None = None
    submission: Submission | None = None
    code: dict = field(default_factory=dict)
    tokens: int = 0
    question: str = ""

    def context_record(self) -> dict:
        return {
            "sections": [s.ref for s in self.sections],
            "failing": [t["id"] for t in self.failing],
            "hints": {k: len(v) for k, v in self.hints.items()},
            "submission": self.submission.pk if self.submission else None,
            "tokens": self.tokens,
        }


def _item(conversation: Conversation, version):
    exercise = lesson = None
    if conversation.kind == Conversation.Kind.EXERCISE:
        exercise = (
            Exercise.objects.select_related("lesson").filter(version=version, slug=conversation.item_slug).first()
        )
        lesson = exercise.lesson if exercise else None
    elif conversation.kind == Conversation.Kind.LESSON:
        lesson = Lesson.objects.filter(version=version, slug=conversation.item_slug).first()
    return exercise, lesson


def _hint_level(conversation: Conversation, test_id: str) -> int:
    """How far up the ladder: one more rung each time the learner asks about the same test."""
    asked = sum(
        1
        for ctx in conversation.messages.filter(role=Message.Role.LEARNER).values_list("context", flat=True)
        if isinstance(ctx, dict) and test_id in (ctx.get("failing") or [])
    )
    return asked + 1


def build_prompt(
    *,
    conversation: Conversation,
    question: str,
    code: dict | None = None,
    focus_test: str = "",
    exclude_id: int | None = None,
) -> Prompt:
    course = conversation.course
    version = course.published_version
    canary = canaries.new()
    prompt = Prompt(
        system=system_prompt(course_title=course.title, canary=canary), messages=[], canary=canary, question=question
    )
    exercise, lesson = _item(conversation, version) if version else (None, None)
    prompt.exercise, prompt.lesson = exercise, lesson
    budget = settings.TUTOR_CONTEXT_TOKENS - estimate_tokens(prompt.system) - estimate_tokens(question) - 200
    parts = []

    # 2. the grader's latest learner-visible result for this exercise
    if exercise is not None:
        submission = graded_submission_for(
            user=conversation.user, conversation=conversation, exercise_slug=exercise.slug
        )
        prompt.submission = submission
        if submission and submission.result:
            rows = [t for t in submission.result.get("tests", []) if t.get("status") != "passed"]
            rows.sort(key=lambda t: (t["id"] != focus_test, t.get("status") == "skipped"))
            prompt.failing = rows[:5]
            lines = [f"Submission #{submission.number or 'run'}: {submission.result.get('message', '')}"]
            for t in prompt.failing:
                lines.append(
                    f"- test {t['id']} ({t.get('visibility', 'visible')}): {t['status']}: {_cut(t.get('message') or '', 600)}"
                )
                if t.get("expected") is not None:
                    lines.append(f"  expected {t['expected']}, got {t['actual']}")
                if t.get("output"):
                    lines.append(f"  output: {_cut(t['output'], 400)}")
            if not prompt.failing:
                lines.append("All tests passed.")
            block = _tag("grader_result", "\n".join(lines))
            parts.append(block)
            budget -= estimate_tokens(block)

    # 3. their code: what is in the editor now, else the latest submission's
    if exercise is not None:
        files = {k: v for k, v in (code or {}).items() if k in exercise.spec["files"] and isinstance(v, str)}
        if not files and prompt.submission:
            files = prompt.submission.files
        prompt.code = files
        focus_line = None
        for t in prompt.failing[:1]:
            frames = ((t.get("error") or {}).get("frames")) or []
            focus_line = next((f.get("line") for f in reversed(frames) if not f.get("test")), None)
        for name, text in files.items():
            block = _tag("learner_code", _cut_code(text, 6000, focus_line), file=name)
            if estimate_tokens(block) < budget:
                parts.append(block)
                budget -= estimate_tokens(block)

    # 4. lesson sections for the question (and the failing test's messages)
    if version is not None:
        query = " ".join(
            [question, exercise.title if exercise else "", *(t.get("message", "") for t in prompt.failing[:2])]
        )
        boost = lesson.slug if lesson else ""
        for _score, section in index_for(version).search(query, k=3, boost_lesson=boost):
            block = _tag("lesson_section", _cut(section.text, 1500), ref=section.ref, title=section.title)
            if estimate_tokens(block) < budget:
                parts.append(block)
                prompt.sections.append(section)
                budget -= estimate_tokens(block)

    # 5. hints up to the learner's level on the failing test
    if exercise is not None and prompt.failing:
        ladder = {t["id"]: t.get("hints") or [] for t in exercise.spec["tests"]}
        target = prompt.failing[0]["id"]
        level = _hint_level(conversation, target)
        given = ladder.get(target, [])[:level]
        if given:
            prompt.hints[target] = given
            block = _tag(
                "hints",
                "\n".join(f"{i + 1}. {h}" for i, h in enumerate(given)),
                test=target,
                note="the instructor's hint ladder; offer the last one if the learner is stuck",
            )
            parts.append(block)
            budget -= estimate_tokens(block)

    # 6. history, newest first, as far as the budget goes
    history = []
    for m in (
        conversation.messages.exclude(role=Message.Role.SYSTEM)
        .exclude(pk=exclude_id)
        .order_by("-created_at", "-id")[:12]
    ):
        line = f"{m.role}: {_cut(m.text, 800)}"
        if estimate_tokens(line) > budget:
            break
        history.append(line)
        budget -= estimate_tokens(line)
    if history:
        parts.insert(0, _tag("history", "\n".join(reversed(history))))

    where = (
        f'The learner is on the exercise "{exercise.title}".'
        if exercise
        else (f'The learner is reading the lesson "{lesson.title}".' if lesson else "The learner is in the course.")
    )
    user_content = "\n\n".join([where, *parts, _tag("question", question)])
    prompt.messages = [{"role": "system", "content": prompt.system}, {"role": "user", "content": user_content}]
    prompt.tokens = estimate_tokens(prompt.system) + estimate_tokens(user_content)
    return prompt


def prompt_fingerprint(prompt: Prompt) -> str:
    """Stable description of a prompt, without its random canary (for recorded responses)."""
    marker = canaries.PREFIX.rstrip("-")
    messages = [{**m, "content": m["content"].replace(prompt.canary, marker)} for m in prompt.messages]
    return json.dumps(messages, sort_keys=True)
