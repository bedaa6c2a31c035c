"""Saved views of the queue: a member of staff names the filters they use, sees them above the
queue and deletes them; each sees only their own."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from requests_app.models import SavedView
from requests_app.staff.saved_views import SAVED_VIEWS_MAX
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def login(user: Any, **kwargs: Any) -> Client:
    client = Client(**kwargs)
    client.force_login(user)
    return client


def test_a_saved_view_is_listed_above_the_queue_and_applies_its_filters(
    reviewer: Any, verified: Any
) -> None:
    verified(name="Eric Erasure", email="eric@example.com", request_type="erasure")
    verified(name="Alma Access", email="alma@example.com", request_type="access")
    client = login(reviewer)
    response = client.post(
        "/staff/views/", {"name": "Erasures", "query": "type=erasure&status=all"}
    )
    assert response.status_code == 302
    assert response["Location"] == "/staff/?type=erasure&status=all"
    saved = SavedView.objects.get(user=reviewer)
    assert (saved.name, saved.query) == ("Erasures", "type=erasure&status=all")
    page = client.get("/staff/").content.decode()
    assert "Erasures" in page
    assert 'name="type" value="erasure"' in page  # the saved view's button posts its filters
    # applying it: the queue's own form (POST), which clears any search kept in the session
    applied = client.post("/staff/", {"q": "", "type": "erasure", "status": "all"}, follow=True)
    assert "Eric Erasure" in applied.content.decode()
    assert "Alma Access" not in applied.content.decode()


def test_only_the_queue_filters_are_kept_never_the_search(reviewer: Any) -> None:
    client = login(reviewer)
    client.post(
        "/staff/views/",
        {"name": "Mine", "query": "type=access&q=Bob+Smith&page=3&evil=%3Cscript%3E"},
    )
    assert SavedView.objects.get(user=reviewer).query == "type=access"


def test_a_filter_the_queue_would_refuse_is_not_saved(reviewer: Any) -> None:
    client = login(reviewer)
    response = client.post(
        "/staff/views/", {"name": "Odd", "query": "status=nonsense"}, follow=True
    )
    assert "could not be saved" in response.content.decode()
    assert not SavedView.objects.exists()


@pytest.mark.parametrize("name", ["", " ", "x" * 61])
def test_a_view_needs_a_short_name(reviewer: Any, name: str) -> None:
    response = login(reviewer).post("/staff/views/", {"name": name, "query": "type=access"})
    assert response.status_code == 302
    assert not SavedView.objects.exists()


def test_names_are_unique_per_person_and_views_are_capped(reviewer: Any, approver: Any) -> None:
    client = login(reviewer)
    client.post("/staff/views/", {"name": "Erasures", "query": "type=erasure"})
    again = client.post("/staff/views/", {"name": "erasures", "query": "type=access"}, follow=True)
    assert "already have a saved view named" in again.content.decode()
    login(approver).post("/staff/views/", {"name": "Erasures", "query": "type=erasure"})
    assert SavedView.objects.filter(name="Erasures").count() == 2  # one each
    for n in range(SAVED_VIEWS_MAX - 1):
        client.post("/staff/views/", {"name": f"View {n}", "query": "type=access"})
    assert SavedView.objects.filter(user=reviewer).count() == SAVED_VIEWS_MAX
    over = client.post("/staff/views/", {"name": "One more", "query": ""}, follow=True)
    assert f"at most {SAVED_VIEWS_MAX} saved views" in over.content.decode()
    assert SavedView.objects.filter(user=reviewer).count() == SAVED_VIEWS_MAX


def test_a_person_deletes_their_own_view(reviewer: Any) -> None:
    client = login(reviewer)
    client.post("/staff/views/", {"name": "Erasures", "query": "type=erasure"})
    saved = SavedView.objects.get()
    response = client.post(f"/staff/views/{saved.pk}/delete/")
    assert response.status_code == 302
    assert not SavedView.objects.exists()


def test_another_persons_view_can_be_neither_seen_nor_deleted(reviewer: Any, approver: Any) -> None:
    login(approver).post("/staff/views/", {"name": "Arlo's secret view", "query": "type=erasure"})
    theirs = SavedView.objects.get(user=approver)
    client = login(reviewer)
    assert "Arlo&#x27;s secret view" not in client.get("/staff/").content.decode()
    response = client.post(f"/staff/views/{theirs.pk}/delete/", follow=True)
    assert "not found" in response.content.decode()
    assert SavedView.objects.filter(pk=theirs.pk).exists()
    # the same answer as for a view that never existed: nothing tells them it is there
    missing = client.post("/staff/views/999999/delete/", follow=True)
    assert missing.content.decode().count("not found") == response.content.decode().count(
        "not found"
    )


def test_saving_and_deleting_need_the_csrf_token(reviewer: Any) -> None:
    client = login(reviewer, enforce_csrf_checks=True)
    assert client.post("/staff/views/", {"name": "X", "query": ""}).status_code == 403
    saved = SavedView.objects.create(user=reviewer, name="Mine", query="type=access")
    assert client.post(f"/staff/views/{saved.pk}/delete/").status_code == 403
    assert client.get("/staff/views/").status_code == 405


def test_staff_without_a_role_cannot_save(db: Any) -> None:
    nobody = UserFactory(username="nora", roles=[])
    assert login(nobody).post("/staff/views/", {"name": "X", "query": ""}).status_code == 403
