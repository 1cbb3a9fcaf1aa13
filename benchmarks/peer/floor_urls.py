"""The least a request of each kind costs on our stack: the floor under the figures of
benchmarks/peer/compare.py (``--only floor``), served with the same middleware, settings, server
and database role as the product (through ``floor_settings``).

- ``GET /t/<slug>/floor/empty/``: a signed-in member's tenant page that reads nothing and
  renders nothing (session, user, tenant and membership, permission check);
- ``GET /t/<slug>/floor/chrome/``: the same with the page's frame around no content (base.html:
  sidebar, navigation, tenant switcher), what every agent page renders;
- ``POST /floor/form/``: an anonymous form post with the CSRF check that stores one row in one
  transaction (the least a public form that keeps what it is sent can do);
- ``POST /api/v1/t/<slug>/floor/``: an API request with an API key that stores one row, through
  the tenant API base class (key lookup, scope check, the request's tenant scope).

The row goes into ``bench_floor``, which compare.py creates for the run and drops after it.
"""

from __future__ import annotations

from django.db import connection, transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import include, path
from django.views.decorators.csrf import csrf_protect
from rest_framework import status
from rest_framework.response import Response

from helpdesk.tenancy.api.views import TenantApiView
from helpdesk.tenancy.decorators import tenant_view
from helpdesk.tenancy.policy import Perm
from tickets.models import Ticket


def _store(body: str) -> int:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("INSERT INTO bench_floor (body) VALUES (%s) RETURNING id", [body])
        return cursor.fetchone()[0]


@tenant_view(Perm.TICKETS_VIEW)
def empty(request: HttpRequest, tenant_slug: str) -> HttpResponse:
    return HttpResponse(f"<!DOCTYPE html><title>{request.tenant.name}</title>")


@tenant_view(Perm.TICKETS_VIEW)
def chrome(request: HttpRequest, tenant_slug: str) -> HttpResponse:
    return render(request, "base.html", {})


@csrf_protect
def form(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return HttpResponse(status=405)
    return HttpResponse(f"stored {_store(request.POST.get('message', ''))}", status=201)


class FloorApi(TenantApiView):
    model = Ticket
    write_perm = Perm.TICKETS_WORK

    def get_tenant_queryset(self):
        return Ticket.objects.none()

    def post(self, request, tenant_slug: str):
        return Response({"id": _store(str(request.data.get("body", "")))}, status.HTTP_201_CREATED)


urlpatterns = [
    path("t/<slug:tenant_slug>/floor/empty/", empty),
    path("t/<slug:tenant_slug>/floor/chrome/", chrome),
    path("floor/form/", form),
    path("api/v1/t/<slug:tenant_slug>/floor/", FloorApi.as_view()),
    path("", include("helpdesk.urls")),
]
