"""Resolve the tenant from the URL path and run the request inside its scope."""

from __future__ import annotations

import re

from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import timezone

from helpdesk.tenancy.context import tenant_context
from helpdesk.tenancy.selectors import tenant_and_membership_get

TENANT_PATH = re.compile(r"^/(?P<api>api/v1/)?t/(?P<slug>[^/]+)(?:/|$)")


class TenantMiddleware:
    """Sets ``request.tenant`` and ``request.membership`` for /t/<slug>/ and /api/v1/t/<slug>/.

    Unknown slugs are a 404 (JSON for the API). Membership is *not* enforced here, because some
    tenant pages are public (help page); pages use ``tenant_view`` and the API ``TenantApiView``.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.tenant = None
        request.membership = None
        match = TENANT_PATH.match(request.path_info)
        if match is None:
            return self.get_response(request)
        tenant, membership = tenant_and_membership_get(slug=match["slug"], user=request.user)
        if tenant is None:
            if match["api"]:
                return JsonResponse({"message": "Not found."}, status=404)
            return render(request, "404.html", {"exception": Http404()}, status=404)
        request.tenant = tenant
        request.membership = membership
        timezone.activate(tenant.time_zone)
        try:
            with tenant_context(tenant):
                return self.get_response(request)
        finally:
            timezone.deactivate()
