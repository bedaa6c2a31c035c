from __future__ import annotations

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "smarct_dsar.settings")
application = get_wsgi_application()

# Fail at start-up, with every problem listed, rather than on the first request that gathers.
from requests_app import datamap  # noqa: E402

datamap.current()
