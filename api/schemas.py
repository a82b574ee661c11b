"""What the API sends and accepts (its OpenAPI document is generated from these)."""

from typing import Literal

from ninja import Schema


class Error(Schema):
    detail: str


class CourseOut(Schema):
    slug: str
    title: str
    summary: str
    version: int | None
    role: str | None


class ItemOut(Schema):
    kind: Literal["lesson", "exercise"]
    slug: str
    title: str


class ModuleOut(Schema):
    slug: str
    title: str
    items: list[ItemOut]


class CourseDetail(CourseOut):
    modules: list[ModuleOut]


class LessonOut(Schema):
    slug: str
    title: str
    minutes: int
    html: str
    source: str


class ExerciseOut(Schema):
    slug: str
    title: str
    device: str
    points: int
    prompt_html: str
    files: list[str]
    starter: dict[str, str]
    support: dict[str, str]
    visible_tests: dict[str, str]
    locked: str | None


class SubmissionIn(Schema):
    kind: Literal["run", "submit"] = "submit"
    files: dict[str, str]


class SubmissionOut(Schema):
    id: int
    kind: str
    status: str
    exercise: str
    course: str
    number: int
    passed: bool
    score: float | None
    max_score: float | None
    created_at: str
    url: str
    events_url: str
    result: dict | None = None


class EventsOut(Schema):
    finished: bool
    events: list[dict]


class ProgressOut(Schema):
    exercise: str
    status: str
    best_score: float
    max_score: float
    submits: int


class GradebookRow(Schema):
    username: str
    scores: dict[str, float | None]
    statuses: dict[str, str]
    late: dict[str, bool]
    total: float


class LocalJobOut(Schema):
    ready: bool
    detail: str
    job: dict | None = None


class ImportOut(Schema):
    course: str
    version: int
    created: bool
    published: bool
