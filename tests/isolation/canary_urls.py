"""The real URL conf plus a view that leaks on purpose: the probe must catch it.

The leak is the classic one: a lookup by bare id that forgets the tenant. It reads a global model
(memberships), which row-level security does not cover, so it leaks on PostgreSQL too.
"""

from django.http import HttpResponse
from django.urls import path

from helpdesk.tenancy.models import Membership
from helpdesk.urls import handler403, handler404, handler500  # noqa: F401
from helpdesk.urls import urlpatterns as real_urlpatterns


def leaky_member(request, tenant_slug, membership_id):
    membership = Membership.objects.select_related("user").filter(pk=membership_id).first()
    return HttpResponse(membership.user.full_name if membership else "none")


urlpatterns = [
    path("t/<slug:tenant_slug>/canary/<int:membership_id>/", leaky_member),
    *real_urlpatterns,
]
