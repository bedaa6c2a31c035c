"""API fuzzing: schemathesis generates requests for every operation in ``/api/schema/``, valid
(positive) and invalid (negative), anonymous and as an approver. No answer may be a 500, and every answer must match the
schema it claims (status code, headers, body). Bounded: a few examples per operation, no deadline.
"""

from __future__ import annotations

import itertools
from typing import Any

import hypothesis
import pytest
import schemathesis
from hypothesis import HealthCheck
from rest_framework.authtoken.models import Token
from schemathesis import GenerationMode, checks

from smarct_dsar.wsgi import application
from tests.factories import UserFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.fuzz]

CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
]


@pytest.fixture
def api_schema(db: Any, settings: Any) -> Any:
    settings.DSAR_RATE_LIMIT_PER_IP = 100_000  # fuzzing is not abuse; limits are tested elsewhere
    settings.DSAR_RATE_LIMIT_PER_EMAIL = 100_000
    settings.DSAR_RATE_LIMIT_VERIFY_PER_IP = 100_000
    return schemathesis.openapi.from_wsgi("/api/schema/", application)


BOUNDED = hypothesis.settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
    database=None,
)


def fuzz(schema: Any, headers: dict[str, str]) -> list[str]:
    """Every operation, bounded; the failures found, one line each (all operations are tried)."""
    failures = []
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 20  # the whole API, not a fragment of it
    for operation, mode in itertools.product(operations, GenerationMode):

        @hypothesis.given(case=operation.as_strategy(generation_mode=mode))
        @BOUNDED
        def run(case: Any) -> None:
            case.call_and_validate(headers=headers, checks=CHECKS)

        try:
            run()
        except (Exception, BaseExceptionGroup) as exc:  # collected, then reported together
            detail = [exc] if not isinstance(exc, BaseExceptionGroup) else list(exc.exceptions)
            failures += [
                f"{operation.label} ({mode.value}): {str(e).strip()[:400]}" for e in detail
            ]
    return failures


def test_anonymous_callers_never_get_a_500_or_an_answer_outside_the_schema(
    api_schema: Any,
) -> None:
    assert fuzz(api_schema, {}) == []


def test_staff_never_get_a_500_or_an_answer_outside_the_schema(api_schema: Any) -> None:
    user = UserFactory(username="fuzzer", roles=["reviewer", "approver"])
    token, _ = Token.objects.get_or_create(user=user)
    assert fuzz(api_schema, {"Authorization": f"Token {token.key}"}) == []
