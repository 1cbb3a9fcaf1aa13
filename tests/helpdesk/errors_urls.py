"""URLs for tests/helpdesk/test_errors.py: views that lose the database connection."""

from django.db import InterfaceError, OperationalError
from django.urls import path

from helpdesk.urls import handler403, handler404, handler500  # noqa: F401


def lost_connection(request):
    raise OperationalError("server closed the connection unexpectedly")


def closed_connection(request):
    raise InterfaceError("connection already closed")


def broken(request):
    raise RuntimeError("a bug")


class LostInMiddleware:
    """Stands for a middleware (tenant lookup, sessions) whose query fails before any view."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path.endswith("/in-middleware/"):
            raise OperationalError("could not connect to server: Connection refused")
        return self.get_response(request)


urlpatterns = [
    path("api/v1/lost/", lost_connection),
    path("api/v1/closed/", closed_connection),
    path("api/v1/in-middleware/", lost_connection),
    path("page/lost/", lost_connection),
    path("page/in-middleware/", lost_connection),
    path("page/broken/", broken),
]
