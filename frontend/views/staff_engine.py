"""The course data engine's pages: misconception clusters and the actions taken from them (a
hint, a mutant), regrades with score history, and replays of a candidate version against past
submissions before it is published. Reading is for TAs and instructors; anything that changes
the course or anyone's score is for instructors."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from courses.models import Exercise, Membership
from courses.services import CourseInvalid
from frontend.views.authoring import _dataset_dirs
from frontend.views.staff import _course, _page
from grader import selectors as grader_selectors
from grader import services as grader_services
from grader.models import Regrade, Replay, Submission
from insights import engine
from insights import selectors as insights
from insights import services as insight_services

INSTRUCTOR = Membership.Role.INSTRUCTOR


@login_required
def clusters(request, slug):
    course = _course(request, slug)
    exercises = insights.exercises_of(course=course)
    chosen = request.GET.get("exercise") or (exercises[0].slug if exercises else "")
    rows = engine.clusters_for_exercise(course=course, exercise_slug=chosen) if chosen else []
    return _page(request, course, "frontend/staff_clusters.html", exercises=exercises, chosen=chosen, clusters=rows)


@login_required
def cluster(request, slug, exercise_slug, signature):
    course = _course(request, slug)
    detail = engine.cluster_detail(course=course, exercise_slug=exercise_slug, signature=signature)
    return _page(request, course, "frontend/staff_cluster.html", exercise_slug=exercise_slug, **detail)


@login_required
@require_POST
def cluster_act(request, slug, exercise_slug, signature):
    course = _course(request, slug, role=INSTRUCTOR)
    engine.exercise_for_staff(course=course, exercise_slug=exercise_slug)
    action = request.POST.get("action")
    try:
        if action == "hint":
            insight_services.cluster_hint_add(
                course=course,
                exercise_slug=exercise_slug,
                signature=signature,
                test_id=request.POST.get("test", ""),
                text=request.POST.get("text", ""),
                user=request.user,
            )
            messages.success(request, "Hint added to the authoring workspace; it reaches learners when you publish.")
        elif action == "mutant":
            submission = Submission.objects.filter(pk=request.POST.get("submission") or 0, course=course).first()
            if submission is None:
                raise ValueError("choose a submission of this course")
            saved = insight_services.cluster_mutant_save(
                course=course,
                exercise_slug=exercise_slug,
                signature=signature,
                submission=submission,
                name=request.POST.get("name", "").strip(),
                about=request.POST.get("about", ""),
                user=request.user,
            )
            messages.success(
                request,
                f"Saved as mutant “{saved.detail}” in the authoring workspace: `course test` now proves the tests catch it.",
            )
        else:
            raise ValueError(f"unknown action {action!r}")
    except ValueError as exc:
        messages.error(request, str(exc))
    return redirect("staff_cluster", slug=slug, exercise_slug=exercise_slug, signature=signature)


@login_required
def regrades(request, slug):
    course = _course(request, slug, role=INSTRUCTOR)
    return _page(
        request,
        course,
        "frontend/staff_regrades.html",
        regrades=Regrade.objects.filter(course=course).select_related("requested_by", "submission")[:50],
        replays=Replay.objects.filter(course=course).select_related("exercise__version", "requested_by")[:50],
        exercises=insights.exercises_of(course=course),
    )


@login_required
@require_POST
def regrade_start(request, slug):
    course = _course(request, slug, role=INSTRUCTOR)
    scope, submission = request.POST.get("scope", ""), None
    if scope == Regrade.Scope.SUBMISSION:
        submission = Submission.objects.filter(pk=request.POST.get("submission") or 0, course=course).first()

    def back():
        if submission is not None and request.POST.get("back") == "submission":
            return redirect("submission_detail", submission_id=submission.pk)
        return redirect("staff_regrades", slug=slug)

    try:
        regrade = grader_services.regrade_start(
            course=course,
            user=request.user,
            scope=scope,
            target=request.POST.get("target", Regrade.Target.CURRENT),
            exercise_slug=request.POST.get("exercise", ""),
            submission=submission,
            note=request.POST.get("note", ""),
        )
    except ValueError as exc:
        messages.error(request, str(exc))
        return back()
    skipped = ", ".join(f"{n} {why}" for why, n in regrade.skipped.items())
    messages.success(
        request,
        f"Regrade #{regrade.pk}: {regrade.total} submission(s) queued behind learners' own jobs"
        + (f" (left out: {skipped})" if skipped else "")
        + ". Learners whose score changes are told.",
    )
    return back()


@login_required
@require_POST
def replay_start(request, slug):
    """Replay the authoring workspace (as an unpublished version) against past submissions of
    every exercise whose grading it changes, or of the one named."""
    course = _course(request, slug, role=INSTRUCTOR)
    try:
        version, changed = insight_services.candidate_from_workspace(
            course=course, user=request.user, dataset_dirs=_dataset_dirs()
        )
    except CourseInvalid as exc:
        messages.error(request, f"The workspace does not validate ({len(exc.problems)} problem(s)): fix it first.")
        return redirect("author_workspace", slug=slug)
    except ValueError as exc:
        messages.error(request, str(exc))
        return redirect("staff_regrades", slug=slug)
    wanted = request.POST.get("exercise") or ""
    slugs = [wanted] if wanted else changed
    if not slugs:
        messages.info(
            request, f"Version {version.number} grades every exercise as the published one does: nothing to replay."
        )
        return redirect("staff_regrades", slug=slug)
    started = []
    for ex in Exercise.objects.filter(version=version, slug__in=slugs):
        started.append(grader_services.replay_start(exercise=ex, user=request.user))
    if not started:
        raise Http404("No such exercise in the candidate version.")
    return redirect("staff_replay", slug=slug, replay_id=started[0].pk)


@login_required
def replay(request, slug, replay_id):
    course = _course(request, slug, role=INSTRUCTOR)
    run = Replay.objects.filter(pk=replay_id, course=course).select_related("exercise__version").first()
    if run is None:
        raise Http404("No such replay in this course.")
    outcomes = list(run.outcomes.select_related("submission__user").order_by("submission_id"))
    flips = [o for o in outcomes if o.finished and (not o.after_gradable or o.after_passed != o.before_passed)]
    score_changes = [
        o
        for o in outcomes
        if o.finished and o.after_gradable and o.after_passed == o.before_passed and o.after_score != o.before_score
    ]
    siblings = Replay.objects.filter(course=course, exercise__version=run.exercise.version).exclude(pk=run.pk)
    return _page(
        request,
        course,
        "frontend/staff_replay.html",
        run=run,
        flips=flips,
        score_changes=score_changes,
        siblings=siblings,
        published=course.published_version_id == run.exercise.version_id,
    )


def staff_extras(request, submission) -> dict:
    """What the submission page adds for the course's staff: score history, the tutor
    conversation around it, resource use and events, regrade and flag review forms."""
    if not grader_selectors.can_review(user=request.user, submission=submission):
        return {}
    from courses.selectors import has_role

    convo, convo_messages = insights.conversation_around(submission=submission)
    return {
        "staff_view": True,
        "history": insights.grade_history(submission=submission),
        "around": convo,
        "around_messages": convo_messages,
        "can_regrade": submission.kind == Submission.Kind.SUBMIT
        and has_role(user=request.user, course=submission.course, role=INSTRUCTOR),
    }
