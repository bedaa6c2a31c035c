"""Saved views of the queue: each member of staff's own named filters. The caller gives filters
already checked against the queue's form (``dashboard/saved_views.py``); here are the rules of
the collection: a name used once per person (whatever its case), and a cap per person."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.db import transaction

from requests_app.core.errors import RuleViolation
from requests_app.models import SavedView

SAVED_VIEWS_MAX = 20


@transaction.atomic
def saved_view_create(*, user: User, name: str, query: str) -> SavedView:
    # The person's row is locked so that two saves at once cannot both pass the checks.
    User.objects.select_for_update().filter(pk=user.pk).first()
    mine = SavedView.objects.filter(user=user)
    if mine.filter(name__iexact=name).exists():
        raise RuleViolation(f"You already have a saved view named “{name}”.", field="name")
    if mine.count() >= SAVED_VIEWS_MAX:
        raise RuleViolation(
            f"You may keep at most {SAVED_VIEWS_MAX} saved views: delete one first.", field="name"
        )
    return SavedView.objects.create(user=user, name=name, query=query)


def saved_view_delete(*, user: User, pk: int) -> bool:
    """Delete the person's own view; another's, or none, is not found (and stays)."""
    deleted, _ = SavedView.objects.filter(pk=pk, user=user).delete()
    return deleted > 0
