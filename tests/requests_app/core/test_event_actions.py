"""Issue 14, one vocabulary: every audit action is named in one place (``EventAction``); one that
is not, a typo, is refused at once rather than silently weakening what matches on it."""

from __future__ import annotations

import pytest

from requests_app.core.actions import ACTIONS, PREPARATION_EVENTS
from requests_app.core.audit import event_append
from requests_app.models import EventAction, RequestEvent

pytestmark = pytest.mark.django_db


def test_an_unnamed_action_is_refused(verified: object) -> None:
    with pytest.raises(ValueError, match="unknown audit action 'redcat'"):
        event_append(dsr=None, actor="staff:ada", action="redcat")
    assert not RequestEvent.objects.filter(action="redcat").exists()


def test_what_the_two_person_rule_matches_on_is_named() -> None:
    assert set(EventAction.values) >= PREPARATION_EVENTS
    assert {a.recorded_as for a in ACTIONS.values()} <= set(EventAction.values)
