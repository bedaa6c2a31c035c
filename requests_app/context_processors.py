from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest


def site(request: HttpRequest) -> dict[str, Any]:
    return {
        "controller": settings.DSAR_CONTROLLER_NAME,
        "privacy_contact": settings.DSAR_PRIVACY_CONTACT,
        "demo_mode": settings.DEMO_MODE,
        "single_person_mode": settings.DSAR_SINGLE_PERSON_MODE,
    }
