"""Error pages: JSON under /api/, friendly HTML elsewhere.

A database that cannot be reached (restart, failover, network) is a 503 with a clear message and
``Retry-After``, not a 500: ``DatabaseUnavailableMiddleware`` answers for errors raised in views,
``server_error`` for those raised in middleware (the tenant lookup, sessions) or at commit. The
connection is dropped by Django at the end of the request and reopened (``CONN_HEALTH_CHECKS``)
on the next one, so the same process serves again as soon as the database is back.
"""

import logging
import sys

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.template import loader

logger = logging.getLogger(__name__)

DATABASE_UNAVAILABLE = (OperationalError, InterfaceError)
RETRY_AFTER_SECONDS = 5


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def database_unavailable(request: HttpRequest) -> HttpResponse:
    """503: rendered without a request context, since context processors read the database."""
    if _is_api(request):
        response = JsonResponse(
            {
                "message": "The service is briefly unavailable (the database cannot be "
                "reached). Nothing was saved by this request; please retry in a few seconds."
            },
            status=503,
        )
    else:
        response = HttpResponse(loader.get_template("503.html").render(), status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


class DatabaseUnavailableMiddleware:
    """Turns a lost database connection in a view into the 503 answer (also with DEBUG on)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception):
        if isinstance(exception, DATABASE_UNAVAILABLE):
            logger.warning("database unavailable for %s: %s", request.path, exception)
            return database_unavailable(request)
        return None


def page_not_found(request: HttpRequest, exception=None) -> HttpResponse:
    if _is_api(request):
        return JsonResponse({"message": "Not found."}, status=404)
    return render(request, "404.html", status=404)


def permission_denied(request: HttpRequest, exception=None) -> HttpResponse:
    if _is_api(request):
        return JsonResponse({"message": "You do not have permission to do this."}, status=403)
    return render(request, "403.html", status=403)


def server_error(request: HttpRequest) -> HttpResponse:
    if isinstance(sys.exc_info()[1], DATABASE_UNAVAILABLE):
        return database_unavailable(request)
    if _is_api(request):
        return JsonResponse(
            {"message": "Something went wrong on our side. Please retry."}, status=500
        )
    return render(request, "500.html", status=500)
