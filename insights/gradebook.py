"""The gradebook: per learner per exercise, the best score with late credit applied, the status,
and whether the work counted was late. One function computes it; the page and the CSV both
render that, so they cannot disagree."""

import csv
import io
from dataclasses import dataclass, field

from accounts.models import User
from courses import policies
from courses import selectors as course_selectors
from grader.models import Submission
from insights.selectors import GRADED, exercises_of, students_of


@dataclass
class Cell:
    score: float | None = None  # best credited score; None: never submitted for credit
    max_score: float = 0
    status: str = ""  # "", "attempted", "passed"
    late: bool = False  # the submit that gave `score` (or the first pass) was late
    submission: int | None = None
    submits: int = 0

    @property
    def label(self) -> str:
        if self.score is None:
            return ""
        return f"{self.score:g}/{self.max_score:g}"


@dataclass
class Row:
    user: User
    cells: dict[str, Cell] = field(default_factory=dict)

    @property
    def total(self) -> float:
        return sum(c.score or 0 for c in self.cells.values())


def gradebook(*, course) -> dict:
    exercises = exercises_of(course=course)
    rules = course_selectors.policies_for_course(course=course)
    students = students_of(course=course)
    users = {u.pk: u for u in User.objects.filter(pk__in=students).order_by("username")}
    rows = {
        uid: Row(user=u, cells={e.slug: Cell(max_score=float(e.points)) for e in exercises}) for uid, u in users.items()
    }
    slugs = {e.slug for e in exercises}
    for sid, uid, slug, score, max_score, passed, created in (
        Submission.objects.filter(course=course, user_id__in=students, exercise_slug__in=slugs, **GRADED)
        .order_by("created_at", "pk")
        .values_list("id", "user_id", "exercise_slug", "score", "max_score", "passed", "created_at")
    ):
        cell = rows[uid].cells[slug]
        late = policies.late(rules.get(slug) or rules[""], created)
        credited = (score or 0) * late.credit
        cell.submits += 1
        cell.max_score = float(max_score or cell.max_score)
        if cell.score is None or credited > cell.score:
            cell.score, cell.late, cell.submission = credited, late.late, sid
        if passed and cell.status != "passed":
            cell.status = "passed"
            cell.late = cell.late or late.late
        elif not cell.status:
            cell.status = "attempted"
    max_total = sum(float(e.points) for e in exercises)
    return {"exercises": exercises, "rows": list(rows.values()), "max_total": max_total, "rules": rules}


def _safe(value) -> str:
    """A cell a spreadsheet will not run as a formula (CSV injection: =, +, -, @ lead a formula)."""
    text = str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def gradebook_csv(*, course) -> str:
    book = gradebook(course=course)
    out = io.StringIO()
    writer = csv.writer(out)
    header = ["username", "email"]
    for ex in book["exercises"]:
        header += [f"{ex.slug} score", f"{ex.slug} max", f"{ex.slug} status", f"{ex.slug} late"]
    writer.writerow([*header, "total", "max total"])
    for row in book["rows"]:
        line = [_safe(row.user.username), _safe(row.user.email)]
        for ex in book["exercises"]:
            cell = row.cells[ex.slug]
            line += [
                "" if cell.score is None else f"{cell.score:g}",
                f"{cell.max_score:g}",
                cell.status,
                "late" if cell.late else "",
            ]
        writer.writerow([*line, f"{row.total:g}", f"{book['max_total']:g}"])
    return out.getvalue()
