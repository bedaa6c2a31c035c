"""An authentication backend for tests that authenticates nobody: it notes how many attempts the
log-in lockout had counted at the moment a password was checked (the lockout must count first,
or parallel guesses all get through between the check and the count)."""

from __future__ import annotations

from typing import Any

from django.conf import settings

SEEN: list[int] = []


class CountObserver:
    def authenticate(self, request: Any, username: str | None = None, **kwargs: Any) -> None:
        from django.core.cache import cache

        from smarct_dsar.ratelimit import _key

        key, _ = _key("login-user", username or "", settings.DSAR_LOGIN_LOCKOUT_SECONDS)
        SEEN.append(int(cache.get(key, 0)))
        return None

    def get_user(self, user_id: int) -> None:
        return None
