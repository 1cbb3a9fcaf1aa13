"""Which pages follow the visitor's language.

Customers' pages (the status page, surveys, the help centre, the portal) speak the language the
browser asks for (Accept-Language, among ``LANGUAGES``); catalogues in ``locale/``. Staff pages stay
in ``LANGUAGE_CODE`` until the staff interface has catalogues of its own: otherwise a German
browser would get English pages with Django's German form errors and month names in them.
"""

from __future__ import annotations

import re

from django.conf import settings
from django.middleware.locale import LocaleMiddleware
from django.utils import translation

CUSTOMER_PATHS = re.compile(r"^/(?:status|feedback|survey)/|^/t/[^/]+/(?:portal|help)/")


def customer_facing(path: str) -> bool:
    return bool(CUSTOMER_PATHS.match(path))


class CustomerLocaleMiddleware(LocaleMiddleware):
    """Django's LocaleMiddleware on customers' pages; the site's language everywhere else."""

    def process_request(self, request):
        if customer_facing(request.path_info):
            return super().process_request(request)
        translation.activate(settings.LANGUAGE_CODE)
        request.LANGUAGE_CODE = settings.LANGUAGE_CODE
        return None

    def process_response(self, request, response):
        if customer_facing(request.path_info):
            return super().process_response(request, response)
        return response
