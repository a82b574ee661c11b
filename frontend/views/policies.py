"""The instructors' page for a course's dates and limits (courses/policies.py): a table of the
course default and every exercise with the values in force, and a form that sets one row."""

from datetime import UTC

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse

from courses import policies, selectors, services
from courses.models import Membership
from tutor.services.quota import course_limits

INSTRUCTOR = Membership.Role.INSTRUCTOR
# The form's fields, in order: (name, label, input type, help).
FORM = [
    ("release_at", "Opens (UTC)", "datetime-local", "Before this, learners cannot open or submit the exercise."),
    ("due_at", "Due (UTC)", "datetime-local", ""),
    ("late_policy", "After the due date", "select", ""),
    ("late_curve", "Late curve (hours=credit)", "text", "Only with the curve: e.g. 0=1, 24=0.5, 72=0."),
    ("rate_limit", "Submits per window", "number", "Run does not count."),
    ("rate_window_minutes", "Window (minutes)", "number", ""),
    ("gpu_seconds_per_week", "GPU seconds per learner per week", "number", "GPU exercises; Run counts too."),
    ("tutor_quota", "Tutor questions (full bar)", "number", "Course-wide only."),
    ("tutor_refill_seconds", "Seconds for one question back", "number", "Course-wide only."),
]
LATE_CHOICES = [
    ("", "inherit"),
    ("none", "accept, full credit"),
    ("curve", "credit falls (curve)"),
    ("closed", "closed"),
]


def _exercises(course):
    version = course.published_version or course.versions.order_by("-number").first()
    if version is None:
        return []
    return [item for m in selectors.modules_with_items(version=version) for kind, item in m.items if kind == "exercise"]


def _input_value(name, value) -> str:
    if value in (None, ""):
        return ""
    if name in ("release_at", "due_at"):
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M")
    if name == "late_curve":
        return policies.curve_text(value)
    return str(value)


def _cell(policy, name) -> dict:
    value = getattr(policy, name)
    if name in ("release_at", "due_at"):
        text = policies.date_words(value) if value else "—"
    elif name == "late_policy":
        text = f"curve {policies.curve_text(policy.late_curve)}" if value == policies.CURVE else value
    elif name == "rate_limit":
        text = f"{value} per {policy.rate_window_minutes} min" if policy.rate_limited else "no limit"
    else:
        text = "no limit" if value is None else str(value)
    return {"text": text, "source": policy.sources.get(name, "default")}


COLUMNS = [("release_at", "Opens"), ("due_at", "Due"), ("late_policy", "Late"), ("rate_limit", "Submits")]
COLUMNS_GPU = [("gpu_seconds_per_week", "GPU s/week")]


@login_required
def staff_policies(request, slug):
    course = selectors.course_get_for_user(user=request.user, slug=slug, role=INSTRUCTOR)
    exercises = _exercises(course)
    titles = {e.slug: e.title for e in exercises}
    row_slug = request.POST.get("exercise_slug", "") if request.method == "POST" else request.GET.get("row", "")
    rows = selectors.policy_rows(course=course)
    if row_slug and row_slug not in titles and row_slug not in rows:
        raise Http404("No such exercise in this course.")
    error, entered = "", None
    if request.method == "POST":
        names = [n for n, *_ in FORM if row_slug == "" or n not in policies.COURSE_ONLY]
        entered = {n: request.POST.get(n, "").strip() for n in names}
        try:
            services.policy_set(course=course, exercise_slug=row_slug, user=request.user, **entered)
        except ValueError as exc:
            error = str(exc)
        else:
            messages.success(
                request, f"Saved the policy of {titles.get(row_slug, row_slug) if row_slug else 'the course'}."
            )
            return redirect(reverse("staff_policies", args=[course.slug]) + (f"?row={row_slug}" if row_slug else ""))
    effective = selectors.policies_for_course(course=course)
    columns = COLUMNS + (COLUMNS_GPU if any(e.device == "gpu" for e in exercises) else [])
    table = [
        {
            "slug": s,
            "title": titles.get(s, s) if s else "Course default",
            "cells": [_cell(effective[s], name) for name, _ in columns],
        }
        for s in ["", *(s for s in effective if s)]
    ]
    row = rows.get(row_slug)
    values = entered or {n: _input_value(n, getattr(row, n, None)) for n, *_ in FORM}
    # An exercise's empty field inherits: show what it would inherit.
    course_default = effective[""] if row_slug else None
    fields = [
        {
            "name": n,
            "label": label,
            "type": kind,
            "help": help_text,
            "value": values.get(n, ""),
            "inherits": _input_value(n, getattr(course_default, n, None)) if course_default else "",
        }
        for n, label, kind, help_text in FORM
        if row_slug == "" or n not in policies.COURSE_ONLY
    ]
    return render(
        request,
        "frontend/staff_policies.html",
        {
            "course": course,
            "columns": [label for _, label in columns],
            "table": table,
            "row_slug": row_slug,
            "row_title": titles.get(row_slug, row_slug) if row_slug else "Course default",
            "fields": fields,
            "late_choices": LATE_CHOICES,
            "error": error,
            "tutor": course_limits(course),
        },
        status=400 if error else 200,
    )
