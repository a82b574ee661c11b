"""The course data engine groups failing submissions by the mistake, not by who wrote the code.

Twenty learners submit through the real pipeline (worker, sandbox): four independently written
implementations of `value`, each correct and with each of four bugs planted by hand, every copy
in its learner's own layout. The clusters must be exactly the four planted bugs, each holding all
four implementations, with the failing tests BUGS.toml recorded; the correct ones in none. Then
the instructor acts on a cluster: a hint for its failing check and the learner's mistake saved as
a mutant, both in the authoring workspace, which still validates."""

import io
import random
import time
import tokenize

import pytest

from courses.models import Exercise, Membership
from grader.models import Submission
from insights import clusters as clustering
from insights.seeding import LEARNER_FILE, bugs, disguise, variants
from tests.fixtures import autograd_folder, import_published


def _result(*tests, status="failed"):
    return {
        "gradable": True,
        "status": status,
        "tests": [dict(zip(("id", "status", "message"), t, strict=True)) for t in tests],
    }


def test_fingerprint_ignores_numbers_and_names_but_not_the_check():
    a = _result(("t1", "passed", ""), ("t2", "failed", "Use += — a.grad: expected 2, got 1"))
    b = _result(("t1", "passed", ""), ("t2", "failed", "Use += — a.grad: expected 2.5, got 1.25"))
    c = _result(("t1", "passed", ""), ("t2", "failed", "Use += — b.grad: expected 2, got 1"))
    d = _result(("t1", "failed", "NameError: name 'foo' is not defined"), ("t2", "failed", "x"))
    e = _result(("t1", "failed", "NameError: name 'bar' is not defined"), ("t2", "failed", "y"))
    assert clustering.fingerprint(a).signature == clustering.fingerprint(b).signature
    assert clustering.fingerprint(a).signature != clustering.fingerprint(c).signature
    assert clustering.fingerprint(d).signature == clustering.fingerprint(e).signature
    assert clustering.fingerprint(_result(("t1", "passed", ""), status="passed")) is None
    assert clustering.fingerprint({"gradable": False, "tests": []}) is None
    # A syntax error fails before any test: its own kind of cluster, by the verdict.
    syntax = {
        "gradable": True,
        "status": "error",
        "message": "SyntaxError in engine.py line 3",
        "tests": [],
        "verdict": {"kind": "exit"},
    }
    assert clustering.fingerprint(syntax).first_test == "(before any test)"


def test_disguise_changes_the_text_not_the_program():
    source = variants()[0].source
    rng = random.Random(1)
    copies = {disguise(source, rng) for _ in range(6)}
    assert len(copies) > 1
    for copy in copies:
        assert compile(copy, "engine.py", "exec").co_names == compile(source, "engine.py", "exec").co_names


@pytest.mark.django_db(transaction=True)
@pytest.mark.worker
@pytest.mark.sandbox
@pytest.mark.slow
def test_clusters_match_the_planted_bugs(tmp_path, make_user, celery_worker, client):
    from courses.services import membership_enroll, membership_set_role, workspace_problems
    from grader.services import submission_create
    from insights import engine, selectors
    from insights.services import cluster_hint_add, cluster_mutant_save

    course = import_published(autograd_folder(tmp_path / "autograd"))
    exercise = Exercise.objects.get(version=course.published_version, slug="value")
    rng = random.Random(7)
    planted = {}
    for i, variant in enumerate(variants()):
        learner = make_user(f"l{i:02d}")
        membership_enroll(user=learner, course=course)
        sub = submission_create(user=learner, exercise=exercise, files={LEARNER_FILE: disguise(variant.source, rng)})
        planted[sub.pk] = (variant.impl, variant.bug)
    deadline = time.monotonic() + 600
    while Submission.objects.exclude(status__in=("graded", "error")).exists():
        assert time.monotonic() < deadline, "grading did not finish"
        time.sleep(0.5)
    graded = {s.pk: s for s in Submission.objects.all()}
    assert all(s.status == "graded" for s in graded.values()), [s.error for s in graded.values() if s.error]
    for pk, (impl, bug) in planted.items():
        assert graded[pk].passed == (bug is None), (impl, bug, graded[pk].result["message"])

    found = engine.clusters_for_exercise(course=course, exercise_slug="value")
    meta = bugs()["bugs"]
    assert len(found) == len(meta)
    for cluster in found:
        members = [planted[sid] for sid in cluster.submissions]
        assert len({bug for _, bug in members}) == 1, members  # one mistake per cluster...
        bug = members[0][1]
        assert sorted(impl for impl, _ in members) == sorted(bugs()["implementations"])  # ...from every author
        assert cluster.fingerprint.first_test == meta[bug]["first_failing"]
        assert set(cluster.fingerprint.failing) == set(meta[bug]["fails"])
        assert cluster.example in cluster.submissions
    clustered = {sid for c in found for sid in c.submissions}
    assert not {pk for pk, (_, bug) in planted.items() if bug is None} & clustered

    dashboard = selectors.course_dashboard(course=course)
    row = next(r for r in dashboard["exercises"] if r["exercise"].slug == "value")
    assert (row["attempted"], row["passed"], dashboard["enrolled"]) == (20, 4, 20)
    assert row["median_attempts"] == 1 and sum(t["count"] for t in row["top_failing"]) <= 16

    # The instructor acts on the largest cluster from its page.
    teacher = make_user("teacher")
    membership_set_role(user=teacher, course=course, role=Membership.Role.INSTRUCTOR)
    client.force_login(teacher)
    target = found[0]
    page = client.get(f"/courses/{course.slug}/staff/clusters/value/{target.signature}/")
    assert page.status_code == 200 and target.fingerprint.first_name in page.content.decode()
    cluster_hint_add(
        course=course,
        exercise_slug="value",
        signature=target.signature,
        test_id=target.fingerprint.first_test,
        text="Run the failing check by hand on paper first.",
        user=teacher,
    )
    example = Submission.objects.get(pk=target.example)
    cluster_mutant_save(
        course=course,
        exercise_slug="value",
        signature=target.signature,
        submission=example,
        name="seen_in_cohort",
        about="",
        user=teacher,
    )
    from courses.format.mutants import mutant_sources
    from courses.format.validate import validate
    from courses.services import workspace_get_or_create, workspace_tree

    ws = workspace_get_or_create(course=course, user=teacher)
    assert [p for p in workspace_problems(workspace=ws) if p.severity != "warning"] == []
    spec, _ = validate(workspace_tree(workspace=ws))
    ex = spec["exercises"]["value"]
    assert ex["tests"][[t["id"] for t in ex["tests"]].index(target.fingerprint.first_test)]["hints"][-1].startswith(
        "Run the failing check"
    )
    mutant = next(m for m in ex["mutants"] if m["name"] == "seen_in_cohort")
    assert mutant["fails"] == [target.fingerprint.first_test]
    # The mutant is the learner's code without its comments (their header comment is gone).
    tree = workspace_tree(workspace=ws)
    from courses.format.exercises import bundle as split_bundle

    bundle = split_bundle({rel: d.decode() for rel, d in tree.under(ex["path"]).items()})
    code = mutant_sources(mutant, bundle)[LEARNER_FILE]
    # The learner's comments are gone (names and notes stay with the learner)...
    comments = [t for t in tokenize.generate_tokens(io.StringIO(code).readline) if t.type == tokenize.COMMENT]
    assert comments == []
    # ...and the mutant still makes the same mistake: graded, it lands in the same cluster.
    probe = make_user("probe")
    membership_enroll(user=probe, course=course)
    sub = submission_create(user=probe, exercise=exercise, files={LEARNER_FILE: code})
    while not Submission.objects.get(pk=sub.pk).finished:
        assert time.monotonic() < deadline + 120, "grading did not finish"
        time.sleep(0.3)
    assert clustering.fingerprint(Submission.objects.get(pk=sub.pk).result).signature == target.signature
