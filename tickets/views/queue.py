"""The queue page: views, filters, saved views, bulk actions, keyset pagination."""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.http import HttpRequest, HttpResponse, QueryDict
from django.middleware.csrf import get_token
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from helpdesk.tenancy.decorators import tenant_view
from helpdesk.tenancy.policy import Perm, role_has_perm
from helpdesk.tenancy.selectors import membership_list
from tickets.forms import BulkForm, SaveViewForm
from tickets.models import SavedView
from tickets.queue import VIEWS, QueueFilters, queue_page, queue_view_counts
from tickets.rendering import queue_rows_html, queue_toolbar_html
from tickets.services.bulk import tickets_bulk_apply
from tickets.services.workspace import saved_view_create


def _saved_views(request: HttpRequest):
    return SavedView.objects.for_tenant(request.tenant).filter(
        Q(owner=None) | Q(owner=request.user)
    )


@tenant_view(Perm.TICKETS_VIEW)
def queue(request: HttpRequest, tenant_slug: str) -> HttpResponse:
    tenant = request.tenant
    params = request.GET
    saved = None
    if params.get("saved"):
        saved = (
            _saved_views(request).filter(public_id=params["saved"]).first()
            if _is_uuid(params["saved"])
            else None
        )
        if saved is not None:
            params = QueryDict(mutable=True)
            for key, value in saved.filters.items():
                if isinstance(value, list):
                    params.setlist(key, [str(v) for v in value])
                elif value not in (None, ""):
                    params[key] = str(value)
    filters = QueueFilters.from_params(params)
    page = queue_page(
        tenant=tenant, user=request.user, filters=filters, cursor=request.GET.get("cursor", "")
    )
    can_work = role_has_perm(request.membership.role, Perm.TICKETS_WORK)
    rows = queue_rows_html(
        tenant=tenant, user=request.user, tickets=page.tickets, can_work=can_work
    )
    context = {
        "page": page,
        "rows": rows,
        "filters": filters,
        "can_work": can_work,
        "query_without_cursor": _query_without(request.GET, "cursor"),
        "filters_query": _filters_query(filters),
        "saved": saved,
    }
    if request.headers.get("HX-Request"):
        return render(request, "tickets/includes/queue_rows.html", context)
    context |= {
        "views": list(VIEWS.items()),
        "counts": queue_view_counts(tenant=tenant, user=request.user),
        "toolbar": queue_toolbar_html(
            tenant=tenant,
            user=request.user,
            filters=filters,
            can_work=can_work,
            csrf_token=get_token(request),
        ),
        "saved_views": _saved_views(request),
        "can_share": role_has_perm(request.membership.role, Perm.WORKSPACE_MANAGE),
    }
    return render(request, "tickets/queue.html", context)


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def _filters_query(filters: QueueFilters) -> str:
    """The effective filters as a query string: what "Save this view" stores (also right when the
    page was opened through ``?saved=``)."""
    params = QueryDict(mutable=True)
    for key, value in filters.as_dict().items():
        if isinstance(value, list):
            params.setlist(key, value)
        elif value:
            params[key] = value
    return params.urlencode()


def _query_without(params: QueryDict, *keys: str) -> str:
    copy = params.copy()
    for key in keys:
        copy.pop(key, None)
    return copy.urlencode()


@tenant_view(Perm.TICKETS_WORK)
@require_POST
def queue_bulk(request: HttpRequest, tenant_slug: str) -> HttpResponse:
    form = BulkForm(request.POST)
    back = request.POST.get("next") or ""
    target = redirect(reverse("tickets:queue", kwargs={"tenant_slug": tenant_slug}) + f"?{back}")
    if not form.is_valid():
        messages.error(request, "Select tickets and an action.")
        return target
    data = form.cleaned_data
    assignee = None
    if data["action"] == "assign" and data["value"]:
        member = next(
            (m for m in membership_list(tenant=request.tenant) if str(m.user_id) == data["value"]),
            None,
        )
        if member is None:
            messages.error(request, "Choose a member to assign to.")
            return target
        assignee = member.user
    try:
        result = tickets_bulk_apply(
            tenant=request.tenant,
            actor=request.user,
            numbers=data["tickets"],
            action=data["action"],
            value=data["value"],
            assignee=assignee,
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return target
    if result.changed:
        messages.success(
            request, f"Updated {result.changed} ticket{'s' if result.changed != 1 else ''}."
        )
    for number, reason in sorted(result.errors.items())[:5]:
        messages.warning(request, f"{request.tenant.reference_prefix}-{number}: {reason}")
    return target


@tenant_view(Perm.TICKETS_VIEW)
@require_POST
def queue_view_save(request: HttpRequest, tenant_slug: str) -> HttpResponse:
    form = SaveViewForm(request.POST)
    filters = QueueFilters.from_params(QueryDict(request.POST.get("query", ""))).as_dict()
    if not form.is_valid():
        messages.error(request, "Give the view a name.")
        return redirect("tickets:queue", tenant_slug=tenant_slug)
    try:
        view = saved_view_create(
            tenant=request.tenant,
            actor=request.user,
            name=form.cleaned_data["name"],
            filters=filters,
            shared=form.cleaned_data["shared"],
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("tickets:queue", tenant_slug=tenant_slug)
    messages.success(request, f"Saved the view “{view.name}”.")
    return redirect(
        reverse("tickets:queue", kwargs={"tenant_slug": tenant_slug}) + f"?saved={view.public_id}"
    )
