"""Course and exercise policies (issue #12, item 5): the pure rules in courses/policies.py (merge,
lateness and credit, the submit window, the GPU week), and policy_set's validation, with the
message an instructor reads for each mistake."""

from datetime import UTC, datetime, timedelta

import pytest
from django.core.exceptions import PermissionDenied

from courses import policies
from courses.models import Membership, Policy
from courses.services import membership_set_role, policy_set

T0 = datetime(2026, 12, 20, 23, 59, tzinfo=UTC)  # a Sunday
CURVE = [[0, 1.0], [24, 0.5], [72, 0]]


def hours(h: float) -> datetime:
    return T0 + timedelta(hours=h)


# --- merging ----------------------------------------------------------------------------------------
def test_defaults_when_no_row_sets_anything():
    policy = policies.effective(None, None)
    assert policy == policies.EffectivePolicy()
    assert policy.late_policy == "none" and policy.due_at is None and not policy.rate_limited
    assert set(policy.sources.values()) == {"default"}


def test_an_exercise_row_overrides_the_course_field_by_field():
    course = Policy(due_at=T0, late_policy="closed", rate_limit=5, rate_window_minutes=10, tutor_quota=4)
    exercise = Policy(exercise_slug="mean", rate_limit=2, late_policy="")  # "" inherits
    policy = policies.effective(course, exercise)
    assert policy.due_at == T0 and policy.late_policy == "closed" and policy.tutor_quota == 4
    assert (policy.rate_limit, policy.rate_window_minutes) == (2, 10)
    assert policy.sources["rate_limit"] == "exercise"
    assert policy.sources["rate_window_minutes"] == policy.sources["due_at"] == "course"
    assert policy.sources["gpu_seconds_per_week"] == "default"


def test_rows_can_be_mappings_and_curves_become_tuples():
    policy = policies.effective({"late_policy": "curve", "late_curve": CURVE}, {"due_at": T0})
    assert policy.late_curve == ((0.0, 1.0), (24.0, 0.5), (72.0, 0.0)) and policy.due_at == T0


# --- late ---------------------------------------------------------------------------------------------
def test_without_a_due_date_nothing_is_late():
    assert policies.late(policies.effective(None, None), hours(1000)) == policies.Late(False, 0.0, 1.0)
    assert policies.late(None, hours(5)) == policies.Late(False, 0.0, 1.0)


def test_on_time_and_late_under_each_policy():
    none = policies.effective({"due_at": T0, "late_policy": "none"}, None)
    closed = policies.effective({"due_at": T0, "late_policy": "closed"}, None)
    assert policies.late(none, T0) == policies.Late(False, 0.0, 1.0)  # at the due date is on time
    assert policies.late(none, hours(30)) == policies.Late(True, 30.0, 1.0)  # marked late, full credit
    assert policies.late(closed, hours(0.5)) == policies.Late(True, 0.5, 0.0)


@pytest.mark.parametrize(
    "late_hours,credit", [(0.001, 1.0), (12, 0.75), (24, 0.5), (48, 0.25), (72, 0.0), (73, 0.0), (500, 0.0)]
)
def test_credit_falls_piecewise_linearly_along_the_curve(late_hours, credit):
    policy = policies.effective({"due_at": T0, "late_policy": "curve", "late_curve": CURVE}, None)
    result = policies.late(policy, hours(late_hours))
    assert result.late and result.hours == pytest.approx(late_hours)
    assert result.credit == pytest.approx(credit, abs=1e-4)


def test_credit_is_zero_after_the_last_point_even_when_it_was_not_zero():
    policy = policies.effective({"due_at": T0, "late_policy": "curve", "late_curve": [[0, 1], [24, 0.5]]}, None)
    assert policies.late(policy, hours(24)).credit == 0.5
    assert policies.late(policy, hours(24.5)).credit == 0.0


# --- the submit window ------------------------------------------------------------------------------
def test_no_window_without_a_limit():
    assert policies.window_state(limit=None, minutes=10, times=[T0], now=T0) is None
    assert policies.window_state(limit=3, minutes=None, times=[T0], now=T0) is None


def test_the_window_counts_only_the_last_minutes_and_says_what_is_left():
    now = T0
    times = [now - timedelta(minutes=m) for m in (30, 9, 2)]  # the first is outside a 10-minute window
    state = policies.window_state(limit=3, minutes=10, times=times, now=now)
    assert (state.used, state.left, state.next_at, state.retry_after) == (2, 1, None, 0)
    assert state.message == "1 of 3 submissions left in this 10-minute window."


def test_when_none_are_left_the_next_one_comes_when_the_oldest_ages_out():
    now = T0
    times = [now - timedelta(minutes=m) for m in (2, 9, 5)]  # any order
    state = policies.window_state(limit=3, minutes=10, times=times, now=now)
    assert state.left == 0 and state.next_at == now + timedelta(minutes=1) and state.retry_after == 60
    assert "No submissions left in this 10-minute window" in state.message
    assert "the next one is allowed at Mon 21 Dec 2026, 00:00 UTC (in 60 s)" in state.message
    assert state.as_dict()["next_at"] == state.next_at.isoformat()
    # Over the limit (staff lowered it): the one that must age out is further back.
    lowered = policies.window_state(limit=2, minutes=10, times=times, now=now)
    assert lowered.next_at == now + timedelta(minutes=5)


def test_a_submit_exactly_one_window_old_no_longer_counts():
    state = policies.window_state(limit=1, minutes=10, times=[T0 - timedelta(minutes=10)], now=T0)
    assert state.left == 1


def test_hour_windows_are_named_in_hours():
    assert policies.window_words(60) == "1-hour" and policies.window_words(120) == "2-hour"
    assert policies.window_words(90) == "90-minute"


# --- the GPU week -------------------------------------------------------------------------------------
def test_the_week_starts_on_monday_at_midnight_utc():
    monday = datetime(2026, 12, 14, tzinfo=UTC)
    assert policies.week_start(T0) == monday  # Sunday night
    assert policies.week_start(monday) == monday
    assert policies.week_start(monday - timedelta(seconds=1)) == monday - timedelta(days=7)
    # A time given in another zone is placed in its UTC week: Monday 01:00 at UTC+2 is Sunday UTC.
    from zoneinfo import ZoneInfo

    athens = datetime(2026, 12, 21, 1, 0, tzinfo=ZoneInfo("Europe/Athens"))
    assert policies.week_start(athens) == monday


def test_gpu_state_says_what_is_used_and_when_it_resets():
    assert policies.gpu_state(budget=None, used_seconds=10, now=T0) is None
    state = policies.gpu_state(budget=600, used_seconds=420.4, now=T0)
    assert not state.exhausted and state.left == pytest.approx(179.6)
    assert state.resets_at == datetime(2026, 12, 21, tzinfo=UTC) and state.retry_after == 60
    assert "420 of 600 s used" in state.message and "Mon 21 Dec 2026, 00:00 UTC" in state.message
    assert policies.gpu_state(budget=600, used_seconds=600, now=T0).exhausted


# --- words and parsing --------------------------------------------------------------------------------
def test_due_words_describe_the_late_rule():
    now = T0 - timedelta(days=3)
    curve = policies.effective({"due_at": T0, "late_policy": "curve", "late_curve": CURVE}, None)
    assert policies.due_words(curve, now).startswith("Due Sun 20 Dec 2026, 23:59 UTC (in 3 days).")
    assert "100% at 0 h, 50% at 24 h, 0% at 72 h late, nothing after" in policies.due_words(curve, now)
    closed = policies.effective({"due_at": T0, "late_policy": "closed"}, None)
    assert (
        policies.due_words(closed, hours(1)) == "Was due Sun 20 Dec 2026, 23:59 UTC. No submissions after the due date."
    )
    assert policies.due_words(policies.effective(None, None), now) == ""


def test_parse_when_and_curve():
    assert policies.parse_when("2026-12-20T23:59Z") == T0
    assert policies.parse_when("2026-12-20 23:59") == T0  # UTC unless it says
    assert policies.parse_when("2026-12-21T01:59+02:00") == T0
    assert policies.parse_when("") is None
    with pytest.raises(ValueError, match="not a date and time"):
        policies.parse_when("next friday")
    assert policies.parse_curve("0=1, 24=0.5; 72=0") == [[0, 1], [24, 0.5], [72, 0]]
    assert policies.curve_text(CURVE) == "0=1, 24=0.5, 72=0"
    with pytest.raises(ValueError, match="not hours=credit"):
        policies.parse_curve("0:1")


# --- policy_set: the service and its validation ---------------------------------------------------
@pytest.fixture
def instructor(make_user, course):
    user = make_user("teacher")
    membership_set_role(user=user, course=course, role=Membership.Role.INSTRUCTOR)
    return user


def test_policy_set_writes_one_row_and_keeps_fields_not_named(course, instructor):
    row = policy_set(course=course, user=instructor, due_at="2026-12-20T23:59Z", late_policy="curve", late_curve=CURVE)
    assert row.due_at == T0 and row.late_curve == CURVE and row.updated_by == instructor
    policy_set(course=course, exercise_slug="mean", user=instructor, rate_limit=5, rate_window_minutes=10)
    policy_set(course=course, user=instructor, late_policy="closed")  # the curve goes with the curve policy
    row.refresh_from_db()
    assert row.due_at == T0 and row.late_policy == "closed" and row.late_curve is None
    from courses.selectors import policies_for_course, policy_for

    mean = policy_for(course=course, exercise_slug="mean")
    assert mean.due_at == T0 and mean.late_policy == "closed" and mean.rate_limit == 5
    everything = policies_for_course(course=course)
    assert set(everything) == {"", "mean"} and everything[""].rate_limit is None
    # Clearing every field of a row removes it.
    assert (
        policy_set(course=course, exercise_slug="mean", user=instructor, rate_limit="", rate_window_minutes=None)
        is None
    )
    assert not Policy.objects.filter(course=course, exercise_slug="mean").exists()


def test_policy_for_is_one_query(course, instructor, django_assert_num_queries):
    from courses.selectors import policy_for

    policy_set(course=course, user=instructor, rate_limit=5, rate_window_minutes=10)
    with django_assert_num_queries(1):
        assert policy_for(course=course, exercise_slug="mean").rate_limit == 5


@pytest.mark.parametrize(
    "slug,fields,message",
    [
        (
            "",
            {"release_at": "2026-12-21T00:00Z", "due_at": "2026-12-20T00:00Z"},
            "due date .* must come after the release",
        ),
        ("", {"late_curve": [[0, 1], [24, 1.5]]}, r"credit 1.5 at 24 h is outside \[0, 1\]"),
        ("", {"late_curve": [[0, 1], [48, 0.5], [24, 0]]}, "hours must increase"),
        ("", {"late_curve": [[0, 0.5], [24, 0.8]]}, "credit must not rise"),
        ("", {"late_curve": [[12, 1], [24, 0.5]]}, "first point must be at 0 hours"),
        ("", {"late_curve": "0=1, x=0"}, "not hours=credit"),
        ("", {"late_policy": "curve"}, "needs a late curve"),
        ("", {"late_policy": "sometimes"}, "late_policy must be one of none, curve, closed"),
        ("", {"rate_limit": 0, "rate_window_minutes": 10}, "rate_limit must be positive"),
        ("", {"rate_limit": -3, "rate_window_minutes": 10}, "rate_limit must be positive"),
        ("", {"rate_limit": 5}, "needs both a number .* and a window"),
        ("", {"gpu_seconds_per_week": "lots"}, "gpu_seconds_per_week must be a whole number"),
        ("", {"tutor_quota": 2.5}, "tutor_quota must be a whole number"),
        ("mean", {"tutor_quota": 3}, "tutor_quota is per course"),
        ("", {"deadline": T0}, "unknown policy field 'deadline'"),
        ("nope", {"rate_limit": 1, "rate_window_minutes": 1}, "has no exercise 'nope'"),
    ],
)
def test_policy_set_refuses_with_a_specific_message(course, instructor, slug, fields, message):
    with pytest.raises(ValueError, match=message):
        policy_set(course=course, exercise_slug=slug, user=instructor, **fields)
    assert not Policy.objects.exists()


def test_rows_are_checked_together(course, instructor):
    policy_set(course=course, user=instructor, due_at=T0)
    # An exercise that opens after the course's due date would be due before it opens.
    with pytest.raises(ValueError, match=r"must come after the release date .*\(exercise mean\)"):
        policy_set(course=course, exercise_slug="mean", user=instructor, release_at=T0 + timedelta(days=1))
    policy_set(course=course, exercise_slug="mean", user=instructor, release_at=T0 - timedelta(days=1))
    # ... and moving the course's due date before that release is refused for the same reason.
    with pytest.raises(ValueError, match=r"\(exercise mean\)"):
        policy_set(course=course, user=instructor, due_at=T0 - timedelta(days=2))
    assert Policy.objects.get(course=course, exercise_slug="").due_at == T0


def test_only_instructors_set_policies(course, make_user):
    ta = make_user("ta")
    membership_set_role(user=ta, course=course, role=Membership.Role.TA)
    with pytest.raises(PermissionDenied):
        policy_set(course=course, user=ta, rate_limit=1, rate_window_minutes=1)
    assert policy_set(course=course, user=None, rate_limit=1, rate_window_minutes=1)  # the CLI


def test_the_policy_sets_the_tutor_allowance(course, student, instructor):
    from tutor.services import allowance_status, allowance_take

    assert allowance_status(user=student, course=course)["cap"] == 10  # TUTOR_QUOTA
    policy_set(course=course, user=instructor, tutor_quota=2, tutor_refill_seconds=600)
    status = allowance_status(user=student, course=course)
    assert (status["cap"], status["left"], status["refill_seconds"]) == (2, 2, 600)
    allowance_take(user=student, course=course)
    assert allowance_take(user=student, course=course)["left"] == 0
    from tutor.services import QuotaExceeded

    with pytest.raises(QuotaExceeded):
        allowance_take(user=student, course=course)
    policy_set(course=course, user=instructor, tutor_quota=None, tutor_refill_seconds=None)
    assert allowance_status(user=student, course=course)["cap"] == 10  # back to the course's own


def test_the_command_line_sets_and_shows_a_policy(course):
    from io import StringIO

    from django.core.management import call_command
    from django.core.management.base import CommandError

    out = StringIO()
    call_command(
        "course", "policy", "demo", "--due", "2026-12-20T23:59Z", "--late", "curve:0=1,24=0.5,72=0", "--rate", "5/10",
        stdout=out,
    )  # fmt: skip
    shown = out.getvalue()
    assert "due_at: Sun 20 Dec 2026, 23:59 UTC (course)" in shown and "late_curve: 0=1, 24=0.5, 72=0 (course)" in shown
    assert "rate_limit: 5 (course)" in shown and "gpu_seconds_per_week: - (default)" in shown
    call_command("course", "policy", "demo", "--exercise", "mean", "--gpu-seconds", "600", stdout=(out := StringIO()))
    assert "gpu_seconds_per_week: 600 (exercise)" in out.getvalue() and "rate_limit: 5 (course)" in out.getvalue()
    with pytest.raises(CommandError, match="must come after the release date"):
        call_command("course", "policy", "demo", "--release", "2026-12-21T00:00Z", stdout=StringIO())
