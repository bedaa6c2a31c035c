"""Small typed readers for environment variables.

Every reader fails with ``ImproperlyConfigured`` naming the variable and the fix, so a
misconfigured deployment stops at start-up instead of misbehaving later. Secrets may be
given as ``<NAME>_FILE`` (a path, as Docker and Kubernetes secrets are mounted).
"""

from __future__ import annotations

import os
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str = "") -> str:
    """The variable's value, or the contents of the file named by ``<NAME>_FILE``."""
    file_name = os.environ.get(f"{name}_FILE")
    if file_name:
        try:
            return Path(file_name).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ImproperlyConfigured(
                f"{name}_FILE={file_name!r} cannot be read ({exc.strerror}). "
                f"Fix: point {name}_FILE at a readable file, or set {name} directly."
            ) from exc
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(
        f"{name}={raw!r} is not a boolean. Fix: set {name} to one of true/false, 1/0, yes/no."
    )


def env_int(name: str, default: int, *, minimum: int | None = None) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(
            f"{name}={raw!r} is not a whole number. "
            f"Fix: set {name} to an integer such as {default}."
        ) from None
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(
            f"{name}={value} is below {minimum}. Fix: use {minimum} or more."
        )
    return value


def env_list(name: str, default: list[str]) -> list[str]:
    """Comma-separated values; like every reader of a possible secret, from ``<NAME>_FILE`` too
    (one value per line or comma-separated)."""
    if os.environ.get(name) is None and not os.environ.get(f"{name}_FILE"):
        return default
    raw = env_str(name).replace("\n", ",")
    return [item.strip() for item in raw.split(",") if item.strip()]


def require(name: str, value: str, fix: str) -> str:
    """Fail with the variable's name and the fix when a production value is missing."""
    if not value:
        raise ImproperlyConfigured(f"{name} is required when DEBUG is off. Fix: {fix}")
    return value
