"""Admin pages of outbound webhooks: endpoints, the delivery log, replays."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from helpdesk.tenancy.decorators import tenant_view
from helpdesk.tenancy.policy import Perm
from tickets import selectors_webhooks as selectors
from tickets import services
from tickets.models import WebhookDelivery, WebhookEndpoint

EVENT_CHOICES = [
    ("ticket.created", "Ticket created"),
    ("ticket.updated", "Ticket updated: status, priority, assignee, group, tags, escalation"),
    ("message.created", "Public message added (internal notes are never sent)"),
    ("survey.answered", "Survey answered"),
]


class WebhookEndpointForm(forms.Form):
    url = forms.URLField(
        label="Payload URL",
        max_length=500,
        assume_scheme="https",
        widget=forms.URLInput(attrs={"placeholder": "https://example.com/helpdesk-webhook"}),
    )
    events = forms.MultipleChoiceField(
        choices=EVENT_CHOICES,
        widget=forms.CheckboxSelectMultiple,
        initial=["ticket.created", "ticket.updated", "message.created"],
    )
    description = forms.CharField(max_length=200, required=False)


def _form_errors_from(exc: ValidationError, form: forms.Form) -> None:
    if hasattr(exc, "error_dict"):
        for field, errors in exc.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc)


def _endpoint_or_404(request: HttpRequest, public_id) -> WebhookEndpoint:
    endpoint = selectors.webhook_endpoint_get(tenant=request.tenant, public_id=public_id)
    if endpoint is None:
        raise Http404("Not found.")
    return endpoint


@tenant_view(Perm.WEBHOOKS_MANAGE)
@require_http_methods(["GET", "POST"])
def webhooks_page(request: HttpRequest, tenant_slug: str) -> HttpResponse:
    tenant = request.tenant
    form = WebhookEndpointForm(request.POST or None)
    created = None
    if request.method == "POST" and form.is_valid():
        try:
            created = services.webhook_endpoint_create(
                tenant=tenant,
                actor=request.user,
                url=form.cleaned_data["url"],
                events=form.cleaned_data["events"],
                description=form.cleaned_data["description"],
            )
        except ValidationError as exc:
            _form_errors_from(exc, form)
        else:
            form = WebhookEndpointForm()
    context = {
        "form": form,
        "endpoints": selectors.webhook_endpoint_list(tenant=tenant),
        "created": created,
    }
    return render(request, "tickets/webhooks.html", context, status=400 if form.errors else 200)


@tenant_view(Perm.WEBHOOKS_MANAGE)
@require_POST
def webhook_toggle(request: HttpRequest, tenant_slug: str, public_id) -> HttpResponse:
    endpoint = _endpoint_or_404(request, public_id)
    endpoint = services.webhook_endpoint_update(
        tenant=request.tenant,
        actor=request.user,
        endpoint=endpoint,
        is_active=not endpoint.is_active,
    )
    state = "enabled" if endpoint.is_active else "disabled"
    messages.success(request, f"Webhooks to {endpoint.url} are {state}.")
    return redirect("tickets:webhooks", tenant_slug=tenant_slug)


@tenant_view(Perm.WEBHOOKS_MANAGE)
@require_POST
def webhook_delete(request: HttpRequest, tenant_slug: str, public_id) -> HttpResponse:
    endpoint = _endpoint_or_404(request, public_id)
    services.webhook_endpoint_delete(tenant=request.tenant, actor=request.user, endpoint=endpoint)
    messages.success(request, f"The endpoint {endpoint.url} and its delivery log were deleted.")
    return redirect("tickets:webhooks", tenant_slug=tenant_slug)


@tenant_view(Perm.WEBHOOKS_MANAGE)
@require_http_methods(["GET"])
def webhook_deliveries_page(request: HttpRequest, tenant_slug: str) -> HttpResponse:
    """The delivery log: every endpoint's, or one endpoint's with ``?endpoint=<id>``."""
    tenant = request.tenant
    endpoint = None
    if request.GET.get("endpoint"):
        endpoint = _endpoint_or_404(request, request.GET["endpoint"])
    deliveries = selectors.webhook_delivery_list(tenant=tenant, endpoint=endpoint)
    page = Paginator(deliveries, 50).get_page(request.GET.get("page"))
    context = {
        "endpoint": endpoint,
        "endpoints": selectors.webhook_endpoint_list(tenant=tenant),
        "page": page,
        "states": WebhookDelivery.State,
    }
    return render(request, "tickets/webhook_deliveries.html", context)


@tenant_view(Perm.WEBHOOKS_MANAGE)
@require_POST
def webhook_delivery_replay(request: HttpRequest, tenant_slug: str, public_id) -> HttpResponse:
    delivery = selectors.webhook_delivery_get(tenant=request.tenant, public_id=public_id)
    if delivery is None:
        raise Http404("Not found.")
    try:
        services.webhook_delivery_replay(
            tenant=request.tenant, actor=request.user, delivery=delivery
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, f"The {delivery.event} delivery was queued again.")
    url = reverse("tickets:webhook-deliveries", kwargs={"tenant_slug": tenant_slug})
    return redirect(f"{url}?endpoint={delivery.endpoint.public_id}")
