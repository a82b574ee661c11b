"""The JSON API, version 1 (`/api/v1/`, its OpenAPI document at `/api/v1/openapi.json`). Thin, like the views: each operation authenticates the token, checks its scope,
goes through the same permission gates and services as the pages, and shapes the answer."""

from django.core.exceptions import PermissionDenied
from django.http import Http404
from ninja import File, NinjaAPI, Query, UploadedFile
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.responses import Status

from api import schemas as s
from api.auth import Refused, TokenAuth, need
from courses import selectors as course_selectors
from courses.models import ExerciseProgress, Membership
from gpu_runner.events import MAX_SEQ, replay
from grader import prerequisites
from grader import selectors as grader_selectors
from grader import services as grader_services
from grader.models import Submission

api = NinjaAPI(
    title="From Scratch API",
    version="1",
    urls_namespace="api-v1",
    auth=TokenAuth(),
    docs_url=None,  # Swagger UI loads from a CDN, which the CSP (and offline machines) refuse
    description="Personal tokens (Account → API tokens) as `Authorization: Bearer fs_…`. Scopes: "
    "read, submit, staff. Errors are `{detail}` in one line.",
)
ERRORS = {400: s.Error, 401: s.Error, 403: s.Error, 404: s.Error, 429: s.Error}


def _error(request, status: int, detail: str, retry_after: int = 0):
    response = api.create_response(request, {"detail": detail}, status=status)
    if retry_after:
        response["Retry-After"] = str(retry_after)
    return response


@api.exception_handler(Refused)
def _refused(request, exc):
    return _error(request, exc.status, exc.detail, exc.retry_after)


@api.exception_handler(AuthenticationError)
def _no_token(request, exc):
    return _error(request, 401, "no token: send the header Authorization: Bearer fs_… (Account → API tokens)")


@api.exception_handler(ValidationError)
def _invalid(request, exc):
    """One line naming the field (`files.micrograd/engine.py: Input should be a valid string`)."""
    first = exc.errors[0] if exc.errors else {}
    where = ".".join(str(p) for p in first.get("loc", ()) if p not in ("body", "payload", "query", "path"))
    return _error(request, 400, f"{where or 'body'}: {first.get('msg', 'invalid')}")


@api.exception_handler(Http404)
def _missing(request, exc):
    return _error(request, 404, str(exc) or "not found")


@api.exception_handler(PermissionDenied)
def _denied(request, exc):
    return _error(request, 403, str(exc) or "not allowed")


@api.exception_handler(HttpError)
def _http(request, exc):
    detail = str(exc)
    if detail.startswith("Cannot parse request body"):
        detail = 'body: not valid JSON (send an object like {"files": {…}})'
    return _error(request, exc.status_code, detail)


def _course_out(course, user) -> dict:
    return {
        "slug": course.slug,
        "title": course.title,
        "summary": course.summary,
        "version": course.published_version.number if course.published_version_id else None,
        "role": course_selectors.role_for(user=user, course=course),
    }


def _version(request, slug):
    course = course_selectors.course_get_for_user(user=request.user, slug=slug)
    return course, course_selectors.version_for_learner(course=course)


@api.get("/courses", response={200: list[s.CourseOut], **ERRORS}, tags=["courses"])
def courses(request):
    need(request, "read")
    return [_course_out(c, request.user) for c in course_selectors.course_list_visible(user=request.user)]


@api.get("/courses/{slug}", response={200: s.CourseDetail, **ERRORS}, tags=["courses"])
def course(request, slug: str):
    need(request, "read")
    course, version = _version(request, slug)
    modules = [
        {
            "slug": m.slug,
            "title": m.title,
            "items": [
                {"kind": "lesson" if kind == "lesson" else "exercise", "slug": item.slug, "title": item.title}
                for kind, item in m.items
            ],
        }
        for m in course_selectors.modules_with_items(version=version)
    ]
    return {**_course_out(course, request.user), "modules": modules}


@api.get("/courses/{slug}/lessons/{lesson}", response={200: s.LessonOut, **ERRORS}, tags=["courses"])
def lesson(request, slug: str, lesson: str):
    need(request, "read")
    _course, version = _version(request, slug)
    row = course_selectors.lesson_get(version=version, slug=lesson)
    return {"slug": row.slug, "title": row.title, "minutes": row.minutes, "html": row.html, "source": row.source}


@api.get("/courses/{slug}/exercises/{exercise}", response={200: s.ExerciseOut, **ERRORS}, tags=["exercises"])
def exercise(request, slug: str, exercise: str):
    """The prompt, the starter files and the visible tests: what a learner needs to work locally.
    A locked exercise (a prerequisite not passed) says why and gives no files."""
    need(request, "read")
    course, version = _version(request, slug)
    ex = course_selectors.exercise_get(version=version, slug=exercise)
    lock = prerequisites.first_lock(user=request.user, exercise=ex)
    bundle = course_selectors.exercise_bundle(exercise=ex)
    spec = ex.spec
    visible = {t["file"] for t in spec["tests"] if t["visibility"] == "visible" and t.get("file")}
    return {
        "slug": ex.slug,
        "title": ex.title,
        "device": ex.device,
        "points": ex.points,
        "prompt_html": ex.prompt_html,
        "files": spec["files"],
        "starter": {} if lock else {f: bundle["starter"].get(f, "") for f in spec["files"]},
        "support": {} if lock else {f: bundle["starter"][f] for f in spec.get("support", []) if f in bundle["starter"]},
        "visible_tests": {} if lock else {p: t for p, t in bundle["tests"].items() if p in visible},
        "locked": lock.message if lock else None,
    }


@api.get(
    "/courses/{slug}/exercises/{exercise}/local",
    response={200: s.LocalJobOut, 202: s.LocalJobOut, **ERRORS},
    tags=["exercises"],
)
def local_job(request, slug: str, exercise: str):
    """What `fromscratch test` needs to run the visible tests on the learner's machine, judged
    by the same code as the server: the visible tests and the reference's observations of them
    (shown to learners anyway). Never the solution or a hidden test. 202 while the expected
    values are being computed: ask again in a few seconds."""
    need(request, "read")
    from grader.local import local_job_for

    _course, version = _version(request, slug)
    ex = course_selectors.exercise_get(version=version, slug=exercise)
    try:
        job = local_job_for(user=request.user, exercise=ex)
    except grader_services.PrerequisiteLocked as exc:
        raise Refused(403, str(exc)) from None
    if job is None:
        return Status(202, {"ready": False, "detail": "computing the expected values; ask again in a few seconds"})
    return {"ready": True, "detail": "", "job": job}


def _submission_out(sub: Submission, *, result: bool = True) -> dict:
    return {
        "id": sub.pk,
        "kind": sub.kind,
        "status": sub.status,
        "exercise": sub.exercise_slug,
        "course": sub.course.slug,
        "number": sub.number,
        "passed": sub.passed,
        "score": sub.score,
        "max_score": sub.max_score,
        "created_at": sub.created_at.isoformat(),
        "url": f"/submissions/{sub.pk}/",
        "events_url": f"/api/v1/submissions/{sub.pk}/events",
        # What staff review (integrity evidence) stays on the staff pages.
        "result": {k: v for k, v in (sub.result or {}).items() if k != "integrity"} if result and sub.result else None,
    }


@api.post(
    "/courses/{slug}/exercises/{exercise}/submissions",
    response={201: s.SubmissionOut, **ERRORS},
    tags=["submissions"],
)
def submit(request, slug: str, exercise: str, payload: s.SubmissionIn):
    need(request, "submit")
    course, version = _version(request, slug)
    if not course_selectors.has_role(user=request.user, course=course, role=Membership.Role.STUDENT):
        raise Refused(403, "enroll in this course (on its page) before submitting")
    ex = course_selectors.exercise_get(version=version, slug=exercise)
    try:
        sub = grader_services.submission_create(user=request.user, exercise=ex, files=payload.files, kind=payload.kind)
    except grader_services.SubmissionLimited as exc:
        raise Refused(429, str(exc), exc.retry_after or 0) from None
    except (grader_services.SubmissionClosed, grader_services.PrerequisiteLocked) as exc:
        raise Refused(403, str(exc)) from None
    except (ValueError, grader_services.SubmissionRejected) as exc:
        raise Refused(400, str(exc)) from None
    return Status(201, _submission_out(sub, result=False))


@api.get("/submissions/{submission_id}", response={200: s.SubmissionOut, **ERRORS}, tags=["submissions"])
def submission(request, submission_id: int):
    need(request, "read")
    return _submission_out(grader_selectors.submission_get_for_user(user=request.user, submission_id=submission_id))


@api.get("/submissions/{submission_id}/events", response={200: s.EventsOut, **ERRORS}, tags=["submissions"])
def events(request, submission_id: int, after: int = Query(0, ge=0, le=MAX_SEQ)):
    """The submission's events after sequence number `after`: poll until `finished` (the
    websocket /ws/submissions/<id>/ streams the same events to a browser)."""
    need(request, "read")
    sub = grader_selectors.submission_get_for_user(user=request.user, submission_id=submission_id)
    found = replay(sub.pk, after) if not sub.finished else []
    if not found:
        sub.refresh_from_db(fields=["events", "status"])
        found = [e for e in sub.events or [] if e.get("seq", 0) > after]
    return {"finished": sub.finished, "events": found}


@api.get(
    "/submissions/{submission_id}/stream",
    response={200: None, **ERRORS},
    tags=["submissions"],
    openapi_extra={
        "responses": {
            "200": {
                "description": "text/event-stream",
                "content": {"text/event-stream": {"schema": {"type": "object"}}},
            }
        }
    },
)
def stream(request, submission_id: int, after: int = Query(0, ge=0, le=MAX_SEQ)):
    """Server-sent events: each event as `id: <seq>`, `event: <type>`, `data: <json>`, then
    `event: end` once the submission is finished. Resume with ?after=<last id>."""
    from django.http import StreamingHttpResponse

    from api.stream import sse

    need(request, "read")
    sub = grader_selectors.submission_get_for_user(user=request.user, submission_id=submission_id)
    response = StreamingHttpResponse(sse(sub.pk, after), content_type="text/event-stream")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"  # nginx: pass events through as they come
    return response


@api.get("/courses/{slug}/progress", response={200: list[s.ProgressOut], **ERRORS}, tags=["progress"])
def progress(request, slug: str):
    need(request, "read")
    course = course_selectors.course_get_for_user(user=request.user, slug=slug)
    rows = ExerciseProgress.objects.filter(user=request.user, course=course).order_by("exercise_slug")
    return [
        {
            "exercise": p.exercise_slug,
            "status": p.status,
            "best_score": p.best_score,
            "max_score": p.max_score,
            "submits": p.submissions,
        }
        for p in rows
    ]


@api.get("/courses/{slug}/gradebook", response={200: list[s.GradebookRow], **ERRORS}, tags=["staff"])
def gradebook(request, slug: str):
    """The gradebook as the staff page and its CSV show it (insights/gradebook.py)."""
    need(request, "staff")
    from insights.gradebook import gradebook as compute

    course = course_selectors.course_get_for_user(user=request.user, slug=slug, role=Membership.Role.TA)
    book = compute(course=course)
    return [
        {
            "username": row.user.username,
            "scores": {slug: cell.score for slug, cell in row.cells.items()},
            "statuses": {slug: cell.status for slug, cell in row.cells.items()},
            "late": {slug: cell.late for slug, cell in row.cells.items()},
            "total": row.total,
        }
        for row in book["rows"]
    ]


@api.get(
    "/courses/{slug}/exercises/{exercise}/submissions",
    response={200: list[s.SubmissionOut], **ERRORS},
    tags=["submissions"],
)
def my_submissions(request, slug: str, exercise: str):
    """Your own submissions of the exercise, newest first (at most 50)."""
    need(request, "read")
    course = course_selectors.course_get_for_user(user=request.user, slug=slug)
    rows = grader_selectors.submission_history(user=request.user, course=course, exercise_slug=exercise)
    return [_submission_out(sub, result=False) for sub in rows]


@api.post("/course-imports", response={201: s.ImportOut, **ERRORS}, tags=["staff"])
def course_import(request, archive: File[UploadedFile], publish: bool = False):
    """A course folder as a zip (what the authoring page exports), imported as the next version
    of its course and, with publish=true, published. A new course needs a site administrator; an
    existing one, its instructor. An invalid folder: 400 with every problem as file:line."""
    need(request, "staff")
    from courses.archive import ArchiveInvalid, tree_from_zip
    from courses.format.validate import validate
    from courses.models import Course
    from courses.services import CourseInvalid, version_import, version_publish

    if archive.size > 80 << 20:
        raise Refused(400, "archive: larger than 80 MiB")
    try:
        tree = tree_from_zip(archive.read())
    except ArchiveInvalid as exc:
        raise Refused(400, f"archive: {exc}") from None
    spec, _problems = validate(tree)
    slug = (spec.get("course") or {}).get("slug")
    existing = Course.objects.filter(slug=slug).first() if slug else None
    allowed = request.user.is_staff or (
        existing is not None
        and course_selectors.has_role(user=request.user, course=existing, role=Membership.Role.INSTRUCTOR)
    )
    if not allowed:
        raise Refused(403, "importing needs the instructor role in that course (a new course: a site administrator)")
    try:
        version, created = version_import(tree=tree, user=request.user, note="imported through the API")
    except CourseInvalid as exc:
        lines = "; ".join(f"{p.file}:{p.line}: {p.message}" for p in exc.problems[:20])
        raise Refused(400, f"{len(exc.problems)} problem(s): {lines}") from None
    if publish:
        version_publish(version=version, user=request.user)
    return Status(
        201, {"course": version.course.slug, "version": version.number, "created": created, "published": publish}
    )
