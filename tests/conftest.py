"""Shared fixtures. Tasks run eagerly in-process here (the integration tests start a real
worker); emails go to Django's in-memory outbox (``mailoutbox``)."""

from __future__ import annotations

import os
import shutil
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import closing
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core.cache import cache
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from demo import estate
from demo.partners import PartnerSandbox, serve
from requests_app import datamap
from requests_app.intake import receive
from requests_app.models import DataSubjectRequest
from smarct_dsar.celery import app as celery_app
from tests.factories import UserFactory


@pytest.fixture(autouse=True)
def _eager_celery() -> Iterator[None]:
    celery_app.conf.task_always_eager = True
    celery_app.conf.task_eager_propagates = True
    yield
    celery_app.conf.task_always_eager = False


DATA = Path(__file__).parent / "data"
ROOT = Path(__file__).parent.parent


@pytest.fixture(autouse=True)
def _data_map(settings: Any) -> Iterator[None]:
    """Unit tests run with no connected stores; gathering tests ask for ``demo_map``."""
    settings.DSAR_DATA_MAP = str(DATA / "no-stores.yaml")
    datamap.current.cache_clear()
    yield
    datamap.current.cache_clear()


@pytest.fixture(scope="session", autouse=True)
def _fresh_file_storage() -> None:
    """Each run starts with empty file storage and an empty demo outbox, as it starts with a fresh
    test database (whose references, and so file names, begin again at DSR-…-000001)."""
    from django.conf import settings

    for folder in ("files", "mail"):
        shutil.rmtree(Path(settings.VAR_DIR) / folder, ignore_errors=True)


@pytest.fixture(scope="session")
def demo_estate() -> dict[str, str]:
    """The demo stores, built once per test run under VAR_DIR/demo (about 2 s)."""
    from django.conf import settings

    return estate.build(Path(settings.VAR_DIR))


@pytest.fixture(scope="session")
def partners(demo_estate: dict[str, str]) -> Iterator[str]:
    """The partner sandbox on a free port; the demo map's HTTP stores point at it (so does a
    worker started by the integration tests, which inherits the environment)."""
    server = serve(Path(demo_estate["partners"]), port=0)
    base = f"http://127.0.0.1:{server.server_port}"
    previous = {
        k: os.environ.get(k) for k in ("DSAR_STORE_MARKETING_URL", "DSAR_STORE_SUPPORT_URL")
    }
    os.environ["DSAR_STORE_MARKETING_URL"] = f"{base}/marketing"
    os.environ["DSAR_STORE_SUPPORT_URL"] = f"{base}/support"
    yield base
    server.shutdown()
    for key, value in previous.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture
def demo_map(settings: Any, demo_estate: dict[str, str], partners: str) -> Any:
    settings.DSAR_DATA_MAP = str(ROOT / "demo" / "data-map.yaml")
    datamap.current.cache_clear()
    return datamap.current()


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings: Any) -> None:
    # PBKDF2's deliberate slowness costs ~0.3 s per staff user; it is not what these tests test.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _clear_rate_limits() -> Iterator[None]:
    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def _no_audit_checkpoints() -> Iterator[None]:
    """Each test's database starts a new audit chain: checkpoints of another test's chain (in
    the shared file storage) would not match it."""
    from django.core.files.storage import default_storage

    from requests_app.core.checkpoints import FOLDER

    def clear() -> None:
        try:
            _, files = default_storage.listdir(FOLDER)
        except FileNotFoundError:
            return
        for name in files:
            default_storage.delete(f"{FOLDER}/{name}")

    clear()
    yield
    clear()


@pytest.fixture
def reviewer(db: Any) -> Any:
    return UserFactory(username="rita", roles=["reviewer"])


@pytest.fixture
def approver(db: Any) -> Any:
    return UserFactory(username="ada", roles=["reviewer", "approver"])


@pytest.fixture
def ready(db: Any) -> Callable[[DataSubjectRequest], DataSubjectRequest]:
    """Submit a request in review for approval, as Sam (so any approver but Sam may approve)."""
    from tests.support.workflow import submit_for_approval

    return submit_for_approval


@pytest.fixture
def outsider(db: Any) -> Any:
    """Logged in, but holds no privacy role."""
    return UserFactory(username="olly", roles=[])


def _token_client(user: Any) -> APIClient:
    client = APIClient()
    token, _ = Token.objects.get_or_create(user=user)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


@pytest.fixture
def api() -> APIClient:
    return APIClient()


@pytest.fixture
def reviewer_api(reviewer: Any) -> APIClient:
    return _token_client(reviewer)


@pytest.fixture
def approver_api(approver: Any) -> APIClient:
    return _token_client(approver)


@pytest.fixture
def outsider_api(outsider: Any) -> APIClient:
    return _token_client(outsider)


@pytest.fixture
def submit(db: Any, django_capture_on_commit_callbacks: Any) -> Callable[..., DataSubjectRequest]:
    """File a request through the real intake service; on-commit work (emails) runs."""

    def _submit(**fields: Any) -> DataSubjectRequest:
        data = {
            "request_type": "access",
            "name": "Ann Example",
            "email": "ann@example.com",
            **fields,
        }
        with django_capture_on_commit_callbacks(execute=True):
            result = receive.request_receive(data=receive.Submission(**data))
        return result.dsr

    return _submit


@pytest.fixture
def verified(
    submit: Callable[..., DataSubjectRequest], django_capture_on_commit_callbacks: Any
) -> Callable[..., DataSubjectRequest]:
    """A request whose email is verified; with no stores in the map, gathering finishes at once."""
    from requests_app.intake import verification

    def _verified(**fields: Any) -> DataSubjectRequest:
        dsr = submit(**fields)
        raw = verification.token_issue(dsr=dsr, purpose="verify", ttl=timedelta(days=1))
        with django_capture_on_commit_callbacks(execute=True):
            verification.request_verify_email(raw_token=raw)
        dsr.refresh_from_db()
        return dsr

    return _verified


STORE_ENV = {
    "crm": "DSAR_STORE_CRM_URL",
    "app": "DSAR_STORE_APP_URL",
    "billing": "DSAR_STORE_BILLING_URL",
    "analytics": "DSAR_STORE_ANALYTICS_URL",
    "consent": "DSAR_STORE_CONSENT_DIR",
}


@dataclass
class OwnEstate:
    """A demo estate of the test's own, for tests that change the stores (erasure, corrections,
    opt-outs): built in a temporary folder, with its own partner sandbox."""

    urls: dict[str, str]
    sandbox: PartnerSandbox
    base: str

    def sqlite(self, store: str) -> sqlite3.Connection:
        return sqlite3.connect(self.urls[store].removeprefix("sqlite:///"))

    def table(self, store: str, table: str) -> dict[Any, tuple[Any, ...]]:
        """Every row of a table by primary key (its first column), exactly as stored."""
        with closing(self.sqlite(store)) as conn:
            return {row[0]: tuple(row) for row in conn.execute(f'SELECT * FROM "{table}"')}

    def snapshot(self) -> dict[str, dict[str, dict[Any, tuple[Any, ...]]]]:
        result = {}
        for store in ("crm", "app", "billing", "analytics"):
            with closing(self.sqlite(store)) as conn:
                names = [
                    r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")
                ]
            result[store] = {name: self.table(store, name) for name in names}
        return result


@pytest.fixture
def own_estate(
    tmp_path: Path, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> Iterator[OwnEstate]:
    built = estate.build(tmp_path)
    server = serve(Path(built["partners"]), port=0)
    base = f"http://127.0.0.1:{server.server_port}"
    for store, variable in STORE_ENV.items():
        monkeypatch.setenv(variable, built[store])
    monkeypatch.setenv("DSAR_STORE_MARKETING_URL", f"{base}/marketing")
    monkeypatch.setenv("DSAR_STORE_SUPPORT_URL", f"{base}/support")
    settings.DSAR_DATA_MAP = str(ROOT / "demo" / "data-map.yaml")
    datamap.current.cache_clear()
    yield OwnEstate(urls=built, sandbox=server.get_app(), base=base)  # type: ignore[arg-type]
    server.shutdown()
    datamap.current.cache_clear()


@pytest.fixture(autouse=True)
def _audit_chain_intact(request: pytest.FixtureRequest) -> Iterator[None]:
    """After every test that used the database, the audit chain verifies (what
    ``manage.py verify_audit`` checks), unless the test broke it on purpose."""
    marker = request.node.get_closest_marker("django_db")
    uses_db = "db" in request.fixturenames or (
        marker is not None and not marker.kwargs.get("transaction")
    )
    if (
        not uses_db
        or "transactional_db" in request.fixturenames
        or request.node.get_closest_marker("tampers_audit")
    ):
        yield
        return
    request.getfixturevalue("db")  # set up inside this fixture: still there at its teardown
    yield
    from requests_app.core.audit import chain_verify

    assert list(chain_verify()) == [], "the audit chain no longer verifies"
