"""Stamps: numbers that change whenever something a learner's page shows changes, so a rendered
page can be kept (frontend/page_cache.py) and dropped the moment it could be wrong.

Two kinds. One per user, for their own rows: submissions, drafts, progress, memberships, notices,
the user row itself. One for the whole site, for what every learner reads: courses, versions (a
publish), policies. A cached page is served only while both stamps it was rendered under are
unchanged.

A write bumps its stamp at once and again when its transaction commits. Bumped only before, a
page rendered from the old rows in between would be stored under the new stamp and stay wrong;
bumped only after, a request made inside the same transaction (a test's, a service that writes
then reads) would be served the page from before.

Every way of writing bumps, so a new write path cannot forget: save() and delete() through
signals, QuerySet.update(), bulk_create() and bulk_update() through `StampedQuerySet`. Each app declares its
models in its AppConfig.ready(); frontend/tests/test_page_cache.py fails for a model that has a user or a
course and is neither tracked nor listed in UNTRACKED with the reason.
"""

import logging
import time

from django.core.cache import caches
from django.db import models, transaction
from django.db.models.signals import post_delete, post_save

log = logging.getLogger(__name__)

SITE_KEY = "stamp:site"
ALIAS = "pages"  # settings.CACHES: shared by every process (a worker's bump must reach the web)

# model label -> why no learner page shows its rows (the check in frontend/tests/test_page_cache.py).
UNTRACKED = {
    "accounts.ApiToken": "only the token page lists them, and it is not cached",
    "courses.AuthoringWorkspace": "the instructor's draft; learners read published versions",
    "courses.Blob": "immutable content of a version; what learners read changes with a publish",
    "courses.Module": "immutable content of a version",
    "courses.Lesson": "immutable content of a version",
    "courses.Exercise": "immutable content of a version",
    "grader.ReferenceRun": "expected values; the instructor's versions page only",
    "grader.Regrade": "staff pages; what a learner sees of it lands in Submission and Notice",
    "grader.GradeRecord": "history; the exercise page shows the submission's own status",
    "grader.Replay": "staff pages",
    "grader.ReplayOutcome": "staff pages",
    "tutor.Conversation": "the tutor panel loads its conversation over the websocket",
    "tutor.Message": "the tutor panel loads its conversation over the websocket",
    "tutor.Allowance": "the tutor panel asks for the quota over the websocket",
    "insights.StuckResolution": "staff pages",
    "insights.ClusterAction": "staff pages",
}

_user_field: dict[type, str] = {}  # tracked model -> the attribute holding the user's id
_site: set[type] = set()
_quiet: dict[type, frozenset] = {}  # fields no page shows: writing only these bumps nothing


def cache():
    return caches[ALIAS]


def user_key(user_id) -> str:
    return f"stamp:user:{user_id}"


def track(model, *, user: str | None = None, site: bool = False, quiet=()) -> None:
    """Bump the stamp of the row's user (`user`: the attribute with their id, "pk" for the user
    model) or the site's (`site`) whenever a row of `model` is written."""
    if user:
        _user_field[model] = user
    if site:
        _site.add(model)
    _quiet[model] = frozenset(quiet)
    uid = f"stamps.{model._meta.label}"
    post_save.connect(_saved, sender=model, weak=False, dispatch_uid=uid)
    post_delete.connect(_deleted, sender=model, weak=False, dispatch_uid=uid)


def tracked(model) -> bool:
    return model in _site or model in _user_field


def changed(model, rows=(), *, user_ids=()) -> None:
    """Rows of `model` were written (or will be, when the transaction commits)."""
    ids = set(user_ids)
    field = _user_field.get(model)
    if field:
        ids.update(getattr(row, field) for row in rows)
    keys = [user_key(i) for i in ids if i is not None]
    if model in _site:
        keys.append(SITE_KEY)
    if keys:
        _bump(keys)
        if transaction.get_connection().in_atomic_block:
            transaction.on_commit(lambda: _bump(keys), robust=True)


def _start(store, key) -> None:
    """A stamp never set, or evicted, starts from the clock: never from a number an old page carries."""
    store.add(key, time.time_ns(), timeout=None)


def _bump(keys) -> None:
    store = cache()
    for key in keys:
        try:
            try:
                store.incr(key)
            except ValueError:
                _start(store, key)
                store.incr(key)
        except Exception:  # a cache outage: pages fall back to their time limit
            log.warning("could not bump the page stamp %s", key, exc_info=True)


def current(keys: list[str]) -> dict:
    """The stamps named, each started if missing (one round trip when all exist)."""
    store = cache()
    got = store.get_many(keys)
    for key in keys:
        if key not in got:
            _start(store, key)
            got[key] = store.get(key)
    return got


def _saved(sender, instance, update_fields=None, **kwargs):
    if update_fields and frozenset(update_fields) <= _quiet.get(sender, frozenset()):
        return
    changed(sender, [instance])


def _deleted(sender, instance, **kwargs):
    changed(sender, [instance])


class StampedQuerySet(models.QuerySet):
    """update() and bulk_create() bump stamps too (they send no signals)."""

    def update(self, **kwargs):
        model = self.model
        if frozenset(kwargs) <= _quiet.get(model, frozenset()) or not tracked(model):
            return super().update(**kwargs)
        field = _user_field.get(model)
        user_ids = set(self.order_by().values_list(field, flat=True).distinct()) if field else set()
        count = super().update(**kwargs)
        if count:
            changed(model, user_ids=user_ids)
        return count

    def bulk_update(self, objs, fields, *args, **kwargs):
        objs = list(objs)
        count = super().bulk_update(objs, fields, *args, **kwargs)
        if not frozenset(fields) <= _quiet.get(self.model, frozenset()):
            changed(self.model, objs)
        return count

    def bulk_create(self, objs, *args, **kwargs):
        made = super().bulk_create(objs, *args, **kwargs)
        changed(self.model, made)
        return made
