"""The real URL conf plus a form view that forgot CSRF on purpose: the CSRF walk must catch it."""

from django.http import HttpResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from helpdesk.urls import handler403, handler404, handler500  # noqa: F401
from helpdesk.urls import urlpatterns as real_urlpatterns


@csrf_exempt
def unprotected_form(request, tenant_slug):
    return HttpResponse("changed")


urlpatterns = [
    path("t/<slug:tenant_slug>/csrf-canary/", unprotected_form),
    *real_urlpatterns,
]
