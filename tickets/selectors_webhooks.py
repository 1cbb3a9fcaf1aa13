"""Reads of outbound webhooks: endpoints and their delivery log."""

from __future__ import annotations

import uuid

from django.db.models import Count, Max, Q, QuerySet

from helpdesk.tenancy.models import Tenant
from tickets.models import WebhookDelivery, WebhookEndpoint


def _as_uuid(value) -> uuid.UUID | None:
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except (TypeError, ValueError):
        return None


def webhook_endpoint_list(*, tenant: Tenant) -> QuerySet[WebhookEndpoint]:
    """The tenant's endpoints, newest first, with delivery counters for the admin page."""
    return (
        WebhookEndpoint.objects.for_tenant(tenant)
        .select_related("created_by")
        .annotate(
            delivery_total=Count("deliveries"),
            failed_total=Count(
                "deliveries", filter=Q(deliveries__state=WebhookDelivery.State.FAILED)
            ),
            last_delivery_at=Max("deliveries__created_at"),
        )
        .order_by("-created_at", "-id")
    )


def webhook_endpoint_get(*, tenant: Tenant, public_id) -> WebhookEndpoint | None:
    """An endpoint of ``tenant`` by public id; None when missing, malformed or another tenant's."""
    public_id = _as_uuid(public_id)
    if public_id is None:
        return None
    return (
        WebhookEndpoint.objects.for_tenant(tenant)
        .select_related("created_by")
        .filter(public_id=public_id)
        .first()
    )


def webhook_delivery_list(
    *, tenant: Tenant, endpoint: WebhookEndpoint | None = None
) -> QuerySet[WebhookDelivery]:
    """Deliveries of ``tenant`` (of one endpoint if given), newest first."""
    queryset = WebhookDelivery.objects.for_tenant(tenant).select_related("endpoint")
    if endpoint is not None:
        queryset = queryset.filter(endpoint_id=endpoint.pk)
    return queryset.order_by("-created_at", "-id")


def webhook_delivery_get(*, tenant: Tenant, public_id) -> WebhookDelivery | None:
    public_id = _as_uuid(public_id)
    if public_id is None:
        return None
    return webhook_delivery_list(tenant=tenant).filter(public_id=public_id).first()


def webhook_delivery_get_by_id(*, tenant: Tenant, delivery_id: int) -> WebhookDelivery | None:
    """For the delivery task, which carries database ids (never sent outside)."""
    return WebhookDelivery.objects.for_tenant(tenant).filter(pk=delivery_id).first()
