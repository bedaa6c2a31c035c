"""Which language a page is in.

The public side follows the person: the language they chose with the switcher (Django's
``set_language`` keeps it in a cookie), else their browser's ``Accept-Language``, else English
(Django's ``LocaleMiddleware``). Staff pages, the API and the admin are English whatever the
browser says: the privacy team works in English, and one member of staff must read what another
read. Emails and letters sent later do not depend on any of this: they are written in the
language the request was filed in (``DataSubjectRequest.language``).
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest
from django.middleware.locale import LocaleMiddleware
from django.utils import translation

ENGLISH_ONLY_PATHS = ("/staff/", "/api/", "/admin/")


class LanguageMiddleware(LocaleMiddleware):
    def process_request(self, request: HttpRequest) -> None:
        if request.path_info.startswith(ENGLISH_ONLY_PATHS):
            translation.activate(settings.LANGUAGE_CODE)
            request.LANGUAGE_CODE = translation.get_language()
            return
        super().process_request(request)
