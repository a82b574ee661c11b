"""Writes for course staff: resolving a stuck learner, and the data engine's one-step actions
from a misconception cluster (a hint for its failing check, a mutant from a learner's mistake, a
replay of a candidate version). Callers have checked the role: TA for resolving, instructor for
anything that changes the course."""

import difflib
import io
import re
import tokenize

import tomlkit
from django.db import transaction

from courses import services as course_services
from courses.format import patches
from courses.models import Exercise
from courses.services.versions import version_import
from insights.models import ClusterAction, StuckResolution

BEFORE_ANY_TEST = "(before any test)"


def stuck_resolve(*, course, learner, exercise_slug: str, user, note: str = "") -> StuckResolution:
    """Mark a learner as helped; the request for a human, if any, counts as answered."""
    from tutor.models import Conversation

    with transaction.atomic():
        resolution = StuckResolution.objects.create(
            course=course, learner=learner, exercise_slug=exercise_slug, resolved_by=user, note=note[:500]
        )
        convos = Conversation.objects.filter(course=course, user=learner, human_requested_at__isnull=False)
        if exercise_slug:
            convos = convos.filter(kind=Conversation.Kind.EXERCISE, item_slug=exercise_slug)
        else:
            convos = convos.exclude(kind=Conversation.Kind.EXERCISE)
        convos.update(human_requested_at=None)
    return resolution


def _exercise_toml(*, course, exercise_slug: str, user):
    """The workspace (created from the latest version when there is none), the exercise's folder
    in it, and its exercise.toml parsed with layout and comments kept."""
    workspace = course_services.workspace_get_or_create(course=course, user=user)
    exercise = Exercise.objects.filter(version=workspace.base_version, slug=exercise_slug).first()
    if exercise is None:
        raise ValueError(f"the authoring workspace has no exercise {exercise_slug!r}")
    tree = course_services.workspace_tree(workspace=workspace)
    path = f"{exercise.path}/exercise.toml"
    if not tree.exists(path):
        raise ValueError(f"the authoring workspace has no {path}")
    return workspace, exercise, tree, path, tomlkit.parse(tree.text(path))


def cluster_hint_add(*, course, exercise_slug: str, signature: str, test_id: str, text: str, user) -> ClusterAction:
    """Append a hint to the failing test's ladder in the authoring workspace (published with the
    next version), and remember it against the cluster."""
    text = " ".join((text or "").split())
    if not text:
        raise ValueError("the hint is empty")
    if len(text) > 1000:
        raise ValueError("a hint is at most 1,000 characters; the tutor climbs the ladder one rung at a time")
    if test_id == BEFORE_ANY_TEST:
        raise ValueError("this cluster fails before any test runs: say it in the prompt, not in a test's hints")
    workspace, _exercise, _tree, path, doc = _exercise_toml(course=course, exercise_slug=exercise_slug, user=user)
    tests = doc.get("tests") or {}
    if test_id not in tests:
        raise ValueError(f"exercise.toml has no [tests.{test_id}] table to add the hint to")
    table = tests[test_id]
    if "hints" not in table:
        table["hints"] = tomlkit.array()
        table["hints"].multiline(True)
    table["hints"].append(text)
    course_services.workspace_write(workspace=workspace, path=path, content=tomlkit.dumps(doc), user=user)
    return ClusterAction.objects.create(
        course=course,
        exercise_slug=exercise_slug,
        signature=signature,
        kind=ClusterAction.Kind.HINT,
        detail=f"{test_id}: {text}",
        created_by=user,
    )


def strip_comments(source: str) -> str:
    """Learner code without its comments (names and notes stay with the learner). Code that does
    not tokenize is kept as it is, minus whole-line comments."""
    try:
        tokens = [t for t in tokenize.generate_tokens(io.StringIO(source).readline) if t.type != tokenize.COMMENT]
        out = tokenize.untokenize(tokens)
    except (tokenize.TokenError, IndentationError, SyntaxError):
        out = "\n".join(line for line in source.splitlines() if not line.lstrip().startswith("#"))
    lines = [line.rstrip() for line in out.splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip("\n") + "\n"


def _patch(solution: dict, mutant: dict, about: str) -> str | None:
    """A unified diff against the solution that applies back exactly, or None."""
    sections = [about.replace("\n", " "), ""]
    for name, text in mutant.items():
        if name not in solution:
            return None
        diff = list(
            difflib.unified_diff(
                solution[name].splitlines(), text.splitlines(), f"solution/{name}", f"mutant/{name}", lineterm="", n=2
            )
        )
        if not diff:
            continue
        sections.extend(diff)
    patch = "\n".join(sections) + "\n"
    try:
        parsed = patches.parse(patch)
        for name, hunks in parsed.items():
            if patches.apply(solution[name], hunks).rstrip("\n") != mutant[name].rstrip("\n"):
                return None
    except patches.PatchError:
        return None
    return patch


def cluster_mutant_save(*, course, exercise_slug: str, signature: str, submission, name: str, about: str, user):
    """Save a learner's mistake (comments removed, no name attached) as a mutant in the authoring
    workspace, declared to fail the cluster's first failing test: `course test` proves from then
    on that the tests catch it."""
    from insights.clusters import fingerprint

    fp = fingerprint(submission.result)
    if submission.course_id != course.pk or submission.exercise_slug != exercise_slug or fp is None:
        raise ValueError("that submission is not a failing submit of this exercise")
    if fp.signature != signature:
        raise ValueError("that submission is not in this cluster")
    if not re.fullmatch(r"[a-z][a-z0-9_]{2,40}", name or ""):
        raise ValueError("a mutant's name is 3-41 lowercase letters, digits and underscores, starting with a letter")
    workspace, exercise, tree, path, doc = _exercise_toml(course=course, exercise_slug=exercise_slug, user=user)
    base = exercise.path
    if any(p.startswith(f"{base}/mutants/{name}.") or p.startswith(f"{base}/mutants/{name}/") for p in tree.files):
        raise ValueError(f"the exercise already has a mutant named {name}")
    learner_files = exercise.spec.get("files") or []
    mutant = {f: strip_comments(submission.files.get(f, "")) for f in learner_files if f in submission.files}
    solution = {f: tree.text(f"{base}/solution/{f}") for f in mutant if tree.exists(f"{base}/solution/{f}")}
    about = (about or f"seen in learners' submissions: {fp.first_name} — {fp.check}")[:300]
    patch = _patch(solution, mutant, about)
    with transaction.atomic():
        if patch is not None:
            course_services.workspace_write(
                workspace=workspace, path=f"{base}/mutants/{name}.patch", content=patch, user=user
            )
        else:
            for f, text in mutant.items():
                course_services.workspace_write(
                    workspace=workspace, path=f"{base}/mutants/{name}/{f}", content=text, user=user
                )
        mutants = doc.get("mutants")
        if mutants is None:
            doc["mutants"] = mutants = tomlkit.table(is_super_table=True)
        entry = tomlkit.table()
        if fp.first_test != BEFORE_ANY_TEST:
            entry["fails"] = [fp.first_test]
        entry["about"] = about
        mutants[name] = entry
        course_services.workspace_write(workspace=workspace, path=path, content=tomlkit.dumps(doc), user=user)
        return ClusterAction.objects.create(
            course=course,
            exercise_slug=exercise_slug,
            signature=signature,
            kind=ClusterAction.Kind.MUTANT,
            detail=name,
            created_by=user,
        )


def candidate_from_workspace(*, course, user, dataset_dirs: tuple = ()):
    """The authoring workspace as an unpublished version (imported, not published) and the slugs of
    the exercises whose grading differs from the published version's: what a replay must check.
    Raises CourseInvalid when the workspace does not validate."""
    workspace = course_services.workspace_get_or_create(course=course, user=user)
    version, _created = version_import(
        tree=course_services.workspace_tree(workspace=workspace),
        user=user,
        note="candidate for replay",
        dataset_dirs=dataset_dirs,
    )
    published = dict(
        Exercise.objects.filter(version_id=course.published_version_id).values_list("slug", "content_hash")
    )
    changed = [
        e.slug
        for e in Exercise.objects.filter(version=version).order_by("module__position", "position")
        if e.slug in published and published[e.slug] != e.content_hash
    ]
    return version, changed
