"""Outbound webhooks: endpoints, deliveries, the delivery attempt, and request signing.

Events
    ``ticket.created``; ``ticket.updated`` (status, priority, assignee, group/tier, tags,
    escalations, merges); ``message.created`` (public messages only: internal notes never leave
    the system); ``survey.answered`` (reserved: nothing emits it yet). Timeline kinds are mapped to
    these events in one place, ``webhook_event_for``.

Payload (JSON, UTF-8)::

    {"id": "<delivery id>", "event": "ticket.updated", "created_at": "<ISO 8601>",
     "tenant": "<tenant slug>",
     "data": {"ticket": {"id", "reference", "subject", "status", "priority", "channel",
                         "assignee", "group", "tier", "created_at", "updated_at"},
              "message": {"id", "author_type", "body_text", "created_at"},   # message.created
              "change": {"kind": "<timeline kind>", ...}}}                   # ticket.updated

    Every id is a public id (UUID); database ids never leave the system. A replay is a new
    delivery: same payload, new ``id``.

Request
    ``POST <endpoint url>`` with ``Content-Type: application/json``,
    ``User-Agent: Helpdesk-Webhooks/1.0``, ``X-Helpdesk-Event: <event>``,
    ``X-Helpdesk-Delivery: <delivery id>`` and

        ``X-Helpdesk-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256>``

    where the HMAC key is the endpoint's secret (shown once, when the endpoint is created) and the
    signed message is ``"<t>.<raw request body>"`` (the timestamp, a dot, then the body bytes
    exactly as received). Receivers should:

    1. recompute the HMAC over the raw body (never over re-serialised JSON) and compare it in
       constant time with each ``v1`` value of the header;
    2. refuse a ``t`` more than five minutes away from their clock (replay protection);
    3. answer 2xx quickly and de-duplicate by ``X-Helpdesk-Delivery``: delivery is *at least
       once*, and a timed-out attempt may have been processed.

    ``webhook_signature_verify(secret, header, body)`` does steps 1 and 2.

Delivery
    A ``WebhookDelivery`` row is written in the transaction of the change that caused it; the
    Celery task ``tickets.webhook_deliver`` sends it after commit (timeouts: 5 s to connect, 10 s
    to read; redirects are not followed). A 2xx answer marks it delivered; anything else is
    recorded and retried after 30 s, 2 min, 10 min, 1 h and 6 h; after the sixth failed attempt
    the delivery is marked failed. Admins can replay any delivery. When tasks run in-process
    (the embedded demo has no worker), a delivery gets one attempt with short timeouts and is
    marked failed if it does not succeed, so a page never waits on a slow receiver for long.

    In production (``settings.IS_PRODUCTION``) endpoints must use https and must not point at
    loopback, private, link-local or otherwise non-public addresses; the host is resolved again
    at every attempt and the connection is pinned to the checked address.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import ipaddress
import json
import logging
import secrets
import socket
import ssl
import time
from dataclasses import asdict, dataclass
from datetime import datetime
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.utils import timezone

from helpdesk.accounts.models import User
from helpdesk.tenancy.audit import audit_record
from helpdesk.tenancy.context import tenant_context
from helpdesk.tenancy.models import Tenant, new_public_id
from tickets.directory import directory_list
from tickets.models import Message, Ticket, TicketEvent, WebhookDelivery, WebhookEndpoint
from tickets.models.integrations import WEBHOOK_EVENTS

logger = logging.getLogger(__name__)

USER_AGENT = "Helpdesk-Webhooks/1.0"
SIGNATURE_HEADER = "X-Helpdesk-Signature"
EVENT_HEADER = "X-Helpdesk-Event"
DELIVERY_HEADER = "X-Helpdesk-Delivery"
SIGNATURE_TOLERANCE_SECONDS = 300

MAX_ATTEMPTS = 6
# Wait after failed attempt 1, 2, ... before the next one; attempt MAX_ATTEMPTS is the last.
RETRY_COUNTDOWNS = (30, 120, 600, 3600, 6 * 3600)
TIMEOUTS = (5.0, 10.0)  # connect, read
IN_PROCESS_TIMEOUTS = (2.0, 3.0)  # tasks run inside the web process (embedded mode)
MAX_ENDPOINTS_PER_TENANT = 20
_ERROR_MAX = 500

# --- Which timeline events leave the system, and as what ---------------------------------

TICKET_UPDATED_KINDS = frozenset(
    {
        "ticket.status_changed",
        "ticket.reopened",
        "ticket.assigned",
        "ticket.escalated",
        "ticket.deescalated",
        "ticket.priority_changed",
        "ticket.group_changed",
        "ticket.tags_changed",
        "ticket.merged",  # the merged ticket is closed and points to the survivor
    }
)


def webhook_event_for(*, kind: str, is_public: bool) -> str | None:
    """The webhook event of a timeline event (``TicketEvent.kind``), or None if it stays inside.

    ``message.created`` leaves only for public messages: internal notes never do.
    """
    if kind == "ticket.created":
        return "ticket.created"
    if kind == "message.created":
        return "message.created" if is_public else None
    if kind in TICKET_UPDATED_KINDS:
        return "ticket.updated"
    return None


# --- Signing ------------------------------------------------------------------------------


def _hmac_hex(secret: str, timestamp: int, body: bytes) -> str:
    message = str(timestamp).encode() + b"." + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def webhook_signature_header(*, secret: str, body: bytes, timestamp: int | None = None) -> str:
    """The ``X-Helpdesk-Signature`` value for ``body``: ``t=<unix ts>,v1=<hex hmac>``."""
    timestamp = int(time.time()) if timestamp is None else int(timestamp)
    return f"t={timestamp},v1={_hmac_hex(secret, timestamp, body)}"


def webhook_signature_verify(
    secret: str, header: str, body: bytes | str, tolerance: int = SIGNATURE_TOLERANCE_SECONDS
) -> bool:
    """For receivers: is ``header`` a valid signature of the raw ``body``, made recently?

    ``tolerance`` is the allowed clock distance in seconds (0 disables the check).
    """
    if isinstance(body, str):
        body = body.encode()
    timestamp: int | None = None
    candidates: list[str] = []
    for item in (header or "").split(","):
        key, _, value = item.strip().partition("=")
        if key == "t" and value.isdigit():
            timestamp = int(value)
        elif key == "v1" and value:
            candidates.append(value)
    if timestamp is None or not candidates:
        return False
    if tolerance and abs(time.time() - timestamp) > tolerance:
        return False
    expected = _hmac_hex(secret, timestamp, body)
    return any(hmac.compare_digest(expected, candidate) for candidate in candidates)


def webhook_request_body(payload: dict) -> bytes:
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()


def webhook_request_headers(
    *, delivery: WebhookDelivery, secret: str, body: bytes, timestamp: int | None = None
) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        EVENT_HEADER: delivery.event,
        DELIVERY_HEADER: str(delivery.public_id),
        SIGNATURE_HEADER: webhook_signature_header(secret=secret, body=body, timestamp=timestamp),
    }


# --- Validation ---------------------------------------------------------------------------

_PRIVATE_SUFFIXES = (".localhost", ".local", ".internal", ".localdomain", ".home.arpa")


def _literal_ip(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    try:  # legacy IPv4 spellings that resolvers accept: 2130706433, 0x7f.1, 127.1
        return ipaddress.IPv4Address(socket.inet_aton(host))
    except (OSError, ValueError):
        return None


def _is_public_ip(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def _clean_url(url: str) -> str:
    url = (url or "").strip()
    try:
        URLValidator(schemes=["http", "https"])(url)
    except ValidationError as exc:
        raise ValidationError({"url": "Enter a full http:// or https:// URL."}) from exc
    if len(url) > WebhookEndpoint._meta.get_field("url").max_length:
        raise ValidationError({"url": "The URL is too long (at most 500 characters)."})
    parts = urlsplit(url)
    if parts.username or parts.password:
        raise ValidationError({"url": "Do not put credentials in the URL; verify the signature."})
    if settings.IS_PRODUCTION:
        host = (parts.hostname or "").rstrip(".").lower()
        if parts.scheme != "https":
            raise ValidationError({"url": "Use an https:// URL."})
        ip = _literal_ip(host)
        if (
            host == "localhost"
            or host.endswith(_PRIVATE_SUFFIXES)
            or (ip is not None and not _is_public_ip(ip))
        ):
            raise ValidationError({"url": "The URL must point to a public internet address."})
    return url


def _clean_events(events) -> list[str]:
    if isinstance(events, str) or not events:
        raise ValidationError({"events": "Choose at least one event."})
    wanted = {str(e) for e in events}
    unknown = sorted(wanted - set(WEBHOOK_EVENTS))
    if unknown:
        choices = ", ".join(WEBHOOK_EVENTS)
        raise ValidationError(
            {"events": f"Unknown event {', '.join(unknown)}; choose from {choices}."}
        )
    return [e for e in WEBHOOK_EVENTS if e in wanted]


def _clean_description(description: str) -> str:
    description = (description or "").strip()
    if len(description) > WebhookEndpoint._meta.get_field("description").max_length:
        raise ValidationError({"description": "At most 200 characters."})
    return description


def _assert_same_tenant(tenant: Tenant, *objects) -> None:
    for obj in objects:
        if obj is not None and obj.tenant_id != tenant.pk:
            raise ValidationError(f"{type(obj).__name__} belongs to another tenant.")


# --- Endpoints ----------------------------------------------------------------------------


def _audit(tenant: Tenant, actor, endpoint: WebhookEndpoint, change: str, data: dict) -> None:
    audit_record(
        tenant=tenant,
        action="webhook_changed",
        actor=actor if isinstance(actor, User) else None,
        target=endpoint.url,
        data={"change": change, "endpoint": str(endpoint.public_id), **data},
    )


def webhook_endpoint_create(
    *,
    tenant: Tenant,
    actor: User | None,
    url: str,
    events: list[str],
    description: str = "",
    is_active: bool = True,
) -> WebhookEndpoint:
    """Register an endpoint with a fresh signing secret (``endpoint.secret``: show it once)."""
    url = _clean_url(url)
    events = _clean_events(events)
    description = _clean_description(description)
    with tenant_context(tenant):
        if WebhookEndpoint.objects.for_tenant(tenant).count() >= MAX_ENDPOINTS_PER_TENANT:
            raise ValidationError(
                f"A helpdesk can have at most {MAX_ENDPOINTS_PER_TENANT} endpoints."
            )
        endpoint = WebhookEndpoint.objects.create(
            tenant=tenant,
            url=url,
            secret=secrets.token_hex(32),
            events=events,
            description=description,
            is_active=is_active,
            created_by=actor if isinstance(actor, User) else None,
        )
        _audit(tenant, actor, endpoint, "created", {"url": url, "events": events})
    logger.info("webhook endpoint %s created in tenant %s", endpoint.public_id, tenant.pk)
    return endpoint


def webhook_endpoint_update(
    *,
    tenant: Tenant,
    actor: User | None,
    endpoint: WebhookEndpoint,
    url: str | None = None,
    events: list[str] | None = None,
    description: str | None = None,
    is_active: bool | None = None,
) -> WebhookEndpoint:
    """Change what is given (None leaves a field as it is)."""
    changes: dict = {}
    if url is not None:
        changes["url"] = _clean_url(url)
    if events is not None:
        changes["events"] = _clean_events(events)
    if description is not None:
        changes["description"] = _clean_description(description)
    if is_active is not None:
        changes["is_active"] = bool(is_active)
    with tenant_context(tenant):
        _assert_same_tenant(tenant, endpoint)
        endpoint = (
            WebhookEndpoint.objects.for_tenant(tenant).select_for_update().get(pk=endpoint.pk)
        )
        for field, value in changes.items():
            setattr(endpoint, field, value)
        if changes:
            endpoint.save(update_fields=sorted(changes))
            _audit(tenant, actor, endpoint, "updated", changes)
        return endpoint


def webhook_endpoint_delete(
    *, tenant: Tenant, actor: User | None, endpoint: WebhookEndpoint
) -> None:
    """Delete an endpoint and its delivery log. Queued attempts find nothing and stop."""
    with tenant_context(tenant):
        _assert_same_tenant(tenant, endpoint)
        WebhookEndpoint.objects.for_tenant(tenant).filter(pk=endpoint.pk).delete()
        _audit(tenant, actor, endpoint, "deleted", {})
    logger.info("webhook endpoint %s deleted in tenant %s", endpoint.public_id, tenant.pk)


# --- Dispatch: one delivery per subscribed endpoint, sent after commit --------------------


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _ticket_data(*, tenant: Tenant, ticket: Ticket) -> dict:
    assignee = ticket.assignee if ticket.assignee_id else None
    group = ticket.group if ticket.group_id else None
    return {
        "id": str(ticket.public_id),
        "reference": ticket.reference_with(tenant.reference_prefix),
        "subject": ticket.subject,
        "status": ticket.status,
        "priority": ticket.priority,
        "channel": ticket.channel,
        "assignee": assignee.email if assignee else None,
        "group": group.name if group else None,
        "tier": ticket.tier,
        "created_at": _iso(ticket.created_at),
        "updated_at": _iso(ticket.updated_at),
    }


def _message_data(message: Message) -> dict:
    return {
        "id": str(message.public_id),
        "author_type": message.author_type,
        "body_text": message.body_text,
        "created_at": _iso(message.created_at),
    }


def _change_data(*, tenant: Tenant, event: TicketEvent) -> dict:
    """What changed, in public terms only (the timeline stores user ids for assignments and
    free-text reasons for escalations: neither leaves)."""
    kind = event.kind
    change: dict = {"kind": kind}
    if kind in {"ticket.status_changed", "ticket.reopened", "ticket.priority_changed"}:
        change.update({"from": event.from_value or None, "to": event.to_value or None})
    elif kind in {"ticket.escalated", "ticket.deescalated"}:
        change.update(
            {
                "from_tier": int(event.from_value) if event.from_value.isdigit() else None,
                "to_tier": int(event.to_value) if event.to_value.isdigit() else None,
            }
        )
    elif kind == "ticket.tags_changed":
        change.update(
            {
                "added": list(event.data.get("added", [])),
                "removed": list(event.data.get("removed", [])),
            }
        )
    elif kind == "ticket.merged" and event.to_value.isdigit():
        change["into"] = f"{tenant.reference_prefix}-{event.to_value}"
    return change


def _active_endpoints(*, tenant: Tenant) -> list[WebhookEndpoint]:
    """The tenant's active endpoints (from the directory: every event asks, they rarely change;
    saving or deleting one reaches every process at its commit)."""
    return directory_list(tenant=tenant, name="webhook_endpoints")


def _subscribed_endpoints(*, tenant: Tenant, event: str) -> list[WebhookEndpoint]:
    return [endpoint for endpoint in _active_endpoints(tenant=tenant) if event in endpoint.events]


def _deliveries_create(
    *,
    tenant: Tenant,
    endpoints: list[WebhookEndpoint],
    event: str,
    data: dict,
    occurred_at: datetime,
) -> list[WebhookDelivery]:
    body = {
        "event": event,
        "created_at": occurred_at.isoformat(),
        "tenant": tenant.slug,
        "data": data,
    }
    return [
        _delivery_create(tenant=tenant, endpoint=endpoint, event=event, payload_without_id=body)
        for endpoint in endpoints
    ]


def _delivery_create(
    *, tenant: Tenant, endpoint: WebhookEndpoint, event: str, payload_without_id: dict
) -> WebhookDelivery:
    from tickets.tasks.webhooks import webhook_deliver_task  # the tasks module imports services

    public_id = new_public_id()
    delivery = WebhookDelivery.objects.create(
        tenant=tenant,
        endpoint=endpoint,
        public_id=public_id,
        event=event,
        payload={"id": str(public_id), **payload_without_id},
    )
    webhook_deliver_task.delay_on_commit(tenant.pk, delivery.pk)
    return delivery


def webhook_dispatch(
    *, tenant: Tenant, event: str, data: dict, occurred_at: datetime | None = None
) -> list[WebhookDelivery]:
    """Queue ``event`` for every active endpoint of ``tenant`` subscribed to it.

    Writes one delivery per endpoint in the caller's transaction and enqueues its task on commit.
    ``data`` must hold public fields only (public ids, no internal notes). Apps to the right of
    ``tickets`` (surveys: ``survey.answered``) call this for their own events.
    """
    if event not in WEBHOOK_EVENTS:
        raise ValueError(f"unknown webhook event {event!r}")
    with tenant_context(tenant):
        endpoints = _subscribed_endpoints(tenant=tenant, event=event)
        return _deliveries_create(
            tenant=tenant,
            endpoints=endpoints,
            event=event,
            data=data,
            occurred_at=occurred_at or timezone.now(),
        )


def webhook_dispatch_for_event(
    *, tenant: Tenant, ticket: Ticket, event: TicketEvent
) -> list[WebhookDelivery]:
    """The hook of ``tickets.events.event_record``: turn a timeline event into deliveries.

    Runs in the caller's transaction and scope (the service that recorded the event), so the
    deliveries commit or roll back with the change. Costs one query when no endpoint listens,
    and none for events that never leave.
    """
    webhook_event = webhook_event_for(kind=event.kind, is_public=event.is_public)
    if webhook_event is None:
        return []
    _assert_same_tenant(tenant, ticket, event)
    endpoints = _subscribed_endpoints(tenant=tenant, event=webhook_event)
    if not endpoints:
        return []
    data: dict = {"ticket": _ticket_data(tenant=tenant, ticket=ticket)}
    if webhook_event == "message.created":
        message = (
            Message.objects.for_tenant(tenant)
            .filter(ticket=ticket, public_id=event.data.get("message"))
            .first()
        )
        if message is None or message.is_internal:
            return []
        data["message"] = _message_data(message)
    elif webhook_event == "ticket.updated":
        data["change"] = _change_data(tenant=tenant, event=event)
    return _deliveries_create(
        tenant=tenant,
        endpoints=endpoints,
        event=webhook_event,
        data=data,
        occurred_at=event.created_at,
    )


def webhook_delivery_replay(
    *, tenant: Tenant, actor: User | None, delivery: WebhookDelivery
) -> WebhookDelivery:
    """Send a delivery again as a new delivery: same payload, new id, its own attempts."""
    with tenant_context(tenant):
        _assert_same_tenant(tenant, delivery)
        original = (
            WebhookDelivery.objects.for_tenant(tenant)
            .select_related("endpoint")
            .get(pk=delivery.pk)
        )
        if not original.endpoint.is_active:
            raise ValidationError("This endpoint is disabled. Enable it before replaying.")
        payload = {key: value for key, value in original.payload.items() if key != "id"}
        replay = _delivery_create(
            tenant=tenant,
            endpoint=original.endpoint,
            event=original.event,
            payload_without_id=payload,
        )
    logger.info(
        "webhook delivery %s replayed as %s in tenant %s by %s",
        original.public_id,
        replay.public_id,
        tenant.pk,
        getattr(actor, "pk", None),
    )
    return replay


# --- The attempt (called by the task only: never inside a web request) ---------------------


@dataclass(frozen=True)
class DeliveryOutcome:
    delivery: str
    state: str
    attempts: int
    status_code: int | None = None
    error: str = ""
    sent: bool = False
    retry_in: int | None = None

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class _Response:
    status: int | None
    error: str = ""

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


def _public_address(host: str, port: int) -> str:
    """Resolve ``host`` and refuse it unless every address is public; return one to pin."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    addresses = [info[4][0] for info in infos]
    if not addresses:
        raise OSError(f"{host} does not resolve")
    for address in addresses:
        if not _is_public_ip(ipaddress.ip_address(address.split("%", 1)[0])):
            raise ValueError(f"{host} resolves to a non-public address; not sent")
    return addresses[0]


def _post(
    url: str, *, body: bytes, headers: dict[str, str], timeouts: tuple[float, float]
) -> _Response:
    connect_timeout, read_timeout = timeouts
    try:
        parts = urlsplit(url)
        scheme, host = parts.scheme.lower(), parts.hostname or ""
        if scheme not in {"http", "https"} or not host:
            raise ValueError("not an http(s) URL")
        if settings.IS_PRODUCTION and scheme != "https":
            raise ValueError("plain http is not allowed in production; not sent")
        port = parts.port or (443 if scheme == "https" else 80)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        if scheme == "https":
            connection = http.client.HTTPSConnection(
                host, port, timeout=connect_timeout, context=ssl.create_default_context()
            )
        else:
            connection = http.client.HTTPConnection(host, port, timeout=connect_timeout)
        if settings.IS_PRODUCTION:
            address = _public_address(host, port)
            # Connect to the address just checked (no second lookup that could be rebound);
            # TLS still verifies the certificate against the host name.
            connection._create_connection = lambda _addr, timeout, source: socket.create_connection(
                (address, port), timeout, source
            )
        try:
            connection.connect()
            connection.sock.settimeout(read_timeout)
            connection.request("POST", path, body=body, headers=headers)
            response = connection.getresponse()
            snippet = response.read(300)
        finally:
            connection.close()
    except (OSError, ValueError, http.client.HTTPException) as exc:
        reason = str(exc) or type(exc).__name__
        if isinstance(exc, TimeoutError):
            reason = "timed out"
        return _Response(None, f"{type(exc).__name__}: {reason}"[:_ERROR_MAX])
    if 200 <= response.status < 300:
        return _Response(response.status)
    text = " ".join(snippet.decode("utf-8", errors="replace").split())[:200]
    if 300 <= response.status < 400:
        text = "redirects are not followed"
    return _Response(response.status, f"HTTP {response.status}{': ' + text if text else ''}")


def webhook_delivery_attempt(
    *, tenant: Tenant, delivery: WebhookDelivery, may_retry: bool = True
) -> DeliveryOutcome:
    """Send one pending delivery now and record the outcome. Delivered or failed rows are left
    alone (running twice never posts twice). The row stays locked while the request is in flight.

    ``may_retry=False`` (tasks running in-process) gives a single attempt with short timeouts.
    The caller schedules the retry when ``retry_in`` is set.
    """
    with tenant_context(tenant):
        _assert_same_tenant(tenant, delivery)
        delivery = (
            WebhookDelivery.objects.for_tenant(tenant)
            .select_for_update(of=("self",))
            .select_related("endpoint")
            .filter(pk=delivery.pk)
            .first()
        )
        if delivery is None:
            return DeliveryOutcome(delivery="", state="missing", attempts=0)
        if delivery.state != WebhookDelivery.State.PENDING:
            return DeliveryOutcome(
                delivery=str(delivery.public_id),
                state=delivery.state,
                attempts=delivery.attempts,
                status_code=delivery.last_status_code,
            )
        endpoint = delivery.endpoint
        fields = ["state", "attempts", "last_status_code", "last_error", "last_attempt_at"]
        if not endpoint.is_active:
            delivery.state = WebhookDelivery.State.FAILED
            delivery.last_error = "Not sent: the endpoint is disabled."
            delivery.save(update_fields=["state", "last_error"])
            return DeliveryOutcome(
                delivery=str(delivery.public_id),
                state=delivery.state,
                attempts=delivery.attempts,
                error=delivery.last_error,
            )
        body = webhook_request_body(delivery.payload)
        headers = webhook_request_headers(delivery=delivery, secret=endpoint.secret, body=body)
        response = _post(
            endpoint.url,
            body=body,
            headers=headers,
            timeouts=TIMEOUTS if may_retry else IN_PROCESS_TIMEOUTS,
        )
        now = timezone.now()
        delivery.attempts += 1
        delivery.last_attempt_at = now
        delivery.last_status_code = response.status
        retry_in = None
        if response.ok:
            delivery.state = WebhookDelivery.State.DELIVERED
            delivery.delivered_at = now
            delivery.last_error = ""
            fields.append("delivered_at")
        elif delivery.attempts >= MAX_ATTEMPTS:
            delivery.state = WebhookDelivery.State.FAILED
            delivery.last_error = f"{response.error} (gave up after {delivery.attempts} attempts)"
        elif not may_retry:
            delivery.state = WebhookDelivery.State.FAILED
            delivery.last_error = f"{response.error} (not retried: no task worker; use Replay)"
        else:
            delivery.last_error = response.error
            retry_in = RETRY_COUNTDOWNS[delivery.attempts - 1]
        delivery.last_error = delivery.last_error[:_ERROR_MAX]
        delivery.save(update_fields=fields)
    if not response.ok:
        logger.info(
            "webhook delivery %s attempt %s failed: %s",
            delivery.public_id,
            delivery.attempts,
            response.error,
        )
    return DeliveryOutcome(
        delivery=str(delivery.public_id),
        state=delivery.state,
        attempts=delivery.attempts,
        status_code=response.status,
        error=delivery.last_error,
        sent=True,
        retry_in=retry_in,
    )
