"""A test-only URLconf: the site plus a page with a bare reply box that includes the article
picker (tickets/includes/article_picker.html) the way the ticket page's reply box does."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.template import engines
from django.urls import path

from helpdesk.tenancy.decorators import tenant_view
from helpdesk.tenancy.policy import Perm
from helpdesk.urls import urlpatterns as site_urlpatterns

PAGE = engines["django"].from_string(
    '{% extends "base.html" %}{% block content %}'
    '<form><label for="reply-body">Message</label>'
    '<textarea id="reply-body" name="body" rows="4"></textarea>'
    '{% include "tickets/includes/article_picker.html" %}</form>'
    "{% endblock %}"
)


@tenant_view(Perm.TICKETS_WORK)
def reply_box_page(request: HttpRequest, tenant_slug: str) -> HttpResponse:
    return HttpResponse(PAGE.render({}, request))


urlpatterns = [
    path("t/<slug:tenant_slug>/test-reply-box/", reply_box_page),
    *site_urlpatterns,
]
