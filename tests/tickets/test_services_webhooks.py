"""Outbound webhooks, services: endpoints, event mapping, payloads, signing, replay."""

from __future__ import annotations

import re
import time

import pytest
from django.core.exceptions import ValidationError
from django.test import override_settings

from helpdesk.tenancy.context import tenant_context
from tests.factories.tickets import CustomerFactory, GroupFactory
from tickets import services
from tickets.events import event_record
from tickets.models import Message, Ticket, WebhookDelivery, WebhookEndpoint
from tickets.services.webhooks import (
    webhook_request_body,
    webhook_signature_header,
    webhook_signature_verify,
)

ALL_EVENTS = ["ticket.created", "ticket.updated", "message.created", "survey.answered"]


def endpoint_for(tenant, admin=None, events=None, url="https://hooks.example.com/in", **kw):
    return services.webhook_endpoint_create(
        tenant=tenant, actor=admin, url=url, events=events or ALL_EVENTS, **kw
    )


def deliveries_of(tenant, endpoint=None) -> list[WebhookDelivery]:
    with tenant_context(tenant):
        queryset = WebhookDelivery.objects.for_tenant(tenant).order_by("id")
        if endpoint is not None:
            queryset = queryset.filter(endpoint=endpoint)
        return list(queryset)


def new_ticket(tenant, body="My order never arrived", **kw) -> Ticket:
    customer = CustomerFactory(tenant=tenant)
    return services.ticket_create(
        tenant=tenant, customer=customer, subject="Where is my order?", body=body, **kw
    )


def ints_in(value, path=""):
    """Every integer in a JSON document, with its path: database ids must never be among them."""
    if isinstance(value, bool):
        return []
    if isinstance(value, int):
        return [path]
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in ints_in(v, f"{path}.{k}")]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in ints_in(v, f"{path}[{i}]")]
    return []


# --- Signing ------------------------------------------------------------------------------


def test_a_valid_signature_is_accepted():
    body = webhook_request_body({"event": "ticket.created", "data": {"a": "ü"}})
    header = webhook_signature_header(secret="s3cret", body=body)
    assert re.fullmatch(r"t=\d+,v1=[0-9a-f]{64}", header)
    assert webhook_signature_verify("s3cret", header, body)
    assert webhook_signature_verify("s3cret", header, body.decode())


def test_a_tampered_body_or_wrong_secret_is_refused():
    body = b'{"event":"ticket.created"}'
    header = webhook_signature_header(secret="s3cret", body=body)
    assert not webhook_signature_verify("s3cret", header, body + b" ")
    assert not webhook_signature_verify("s3cret", header, b'{"event":"ticket.updated"}')
    assert not webhook_signature_verify("other", header, body)


def test_an_old_or_future_timestamp_is_refused_unless_tolerance_is_off():
    body = b"{}"
    old = webhook_signature_header(secret="k", body=body, timestamp=int(time.time()) - 301)
    future = webhook_signature_header(secret="k", body=body, timestamp=int(time.time()) + 301)
    assert not webhook_signature_verify("k", old, body)
    assert not webhook_signature_verify("k", future, body)
    assert webhook_signature_verify("k", old, body, tolerance=600)
    assert webhook_signature_verify("k", old, body, tolerance=0)


def test_the_timestamp_is_part_of_what_is_signed():
    body = b"{}"
    header = webhook_signature_header(secret="k", body=body, timestamp=1_700_000_000)
    moved = header.replace("t=1700000000", "t=1700000001")
    assert not webhook_signature_verify("k", moved, body, tolerance=0)


@pytest.mark.parametrize("header", ["", "garbage", "t=abc,v1=00", "v1=00", "t=123"])
def test_malformed_signature_headers_are_refused(header):
    assert not webhook_signature_verify("k", header, b"{}")


def test_any_of_several_v1_values_may_match():
    body = b"{}"
    header = webhook_signature_header(secret="new", body=body)
    t, v1 = header.split(",")
    assert webhook_signature_verify("new", f"{t},v1={'0' * 64},{v1}", body)


# --- Event mapping ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "is_public", "expected"),
    [
        ("ticket.created", True, "ticket.created"),
        ("ticket.status_changed", True, "ticket.updated"),
        ("ticket.reopened", True, "ticket.updated"),
        ("ticket.assigned", False, "ticket.updated"),
        ("ticket.escalated", False, "ticket.updated"),
        ("ticket.deescalated", False, "ticket.updated"),
        ("ticket.priority_changed", False, "ticket.updated"),
        ("ticket.group_changed", False, "ticket.updated"),
        ("ticket.tags_changed", False, "ticket.updated"),
        ("ticket.merged", True, "ticket.updated"),
        ("message.created", True, "message.created"),
        ("message.created", False, None),  # an internal note
        ("ticket.fields_changed", False, None),
        ("ticket.repeat_detected", False, None),
        ("ticket.merged_in", False, None),
        ("sla.breached", False, None),
    ],
)
def test_timeline_events_map_to_webhook_events_in_one_place(kind, is_public, expected):
    assert services.webhook_event_for(kind=kind, is_public=is_public) == expected


# --- Endpoints ----------------------------------------------------------------------------


def test_endpoint_create_generates_a_secret_and_keeps_events_in_canonical_order(tenant, admin_user):
    endpoint = endpoint_for(
        tenant,
        admin_user,
        events=["message.created", "ticket.created", "message.created"],
        description="  CRM sync ",
    )
    assert re.fullmatch(r"[0-9a-f]{64}", endpoint.secret)
    assert endpoint.events == ["ticket.created", "message.created"]
    assert endpoint.description == "CRM sync"
    assert endpoint.created_by == admin_user
    assert endpoint.is_active
    assert endpoint_for(tenant).secret != endpoint.secret


@pytest.mark.parametrize(
    ("url", "field"),
    [
        ("ftp://hooks.example.com/", "url"),
        ("hooks.example.com/in", "url"),
        ("javascript:alert(1)", "url"),
        ("https://user:pass@hooks.example.com/", "url"),
        ("https://" + "a" * 490 + ".com/", "url"),
    ],
)
def test_endpoint_create_refuses_bad_urls(tenant, url, field):
    with pytest.raises(ValidationError) as info:
        endpoint_for(tenant, url=url)
    assert field in info.value.message_dict


@pytest.mark.parametrize(
    "events", [[], ["ticket.deleted"], ["ticket.created", "nope"], "ticket.created"]
)
def test_endpoint_create_refuses_unknown_or_missing_events(tenant, events):
    with pytest.raises(ValidationError) as info:
        services.webhook_endpoint_create(
            tenant=tenant, actor=None, url="https://hooks.example.com/", events=events
        )
    assert "events" in info.value.message_dict


def test_outside_production_http_and_local_addresses_are_allowed(tenant):
    assert (
        endpoint_for(tenant, url="http://127.0.0.1:8001/hook").url == "http://127.0.0.1:8001/hook"
    )
    assert endpoint_for(tenant, url="http://localhost:8001/hook")


@override_settings(IS_PRODUCTION=True)
@pytest.mark.parametrize(
    "url",
    [
        "http://hooks.example.com/in",
        "https://localhost/in",
        "https://api.localhost/in",
        "https://127.0.0.1/in",
        "https://10.1.2.3/in",
        "https://192.168.0.10:8443/in",
        "https://172.16.5.4/in",
        "https://169.254.169.254/latest/meta-data",
        "https://[::1]/in",
        "https://[::ffff:127.0.0.1]/in",
        "https://[fd00::1]/in",
        "https://0.0.0.0/in",
        "https://printer.local/in",
    ],
)
def test_in_production_only_https_to_public_addresses_is_allowed(tenant, url):
    with pytest.raises(ValidationError) as info:
        endpoint_for(tenant, url=url)
    assert "url" in info.value.message_dict


@override_settings(IS_PRODUCTION=True)
def test_in_production_a_public_https_url_is_fine(tenant):
    assert endpoint_for(tenant, url="https://hooks.example.com/in")
    assert endpoint_for(tenant, url="https://93.184.216.34:8443/in")


def test_endpoint_update_changes_only_what_is_given(tenant, admin_user):
    endpoint = endpoint_for(tenant, admin_user, events=["ticket.created"], description="a")
    secret = endpoint.secret
    services.webhook_endpoint_update(
        tenant=tenant, actor=admin_user, endpoint=endpoint, is_active=False
    )
    updated = services.webhook_endpoint_update(
        tenant=tenant,
        actor=admin_user,
        endpoint=endpoint,
        url="https://other.example.com/x",
        events=["ticket.updated"],
    )
    assert (updated.url, updated.events, updated.description) == (
        "https://other.example.com/x",
        ["ticket.updated"],
        "a",
    )
    assert updated.is_active is False
    assert updated.secret == secret
    with pytest.raises(ValidationError):
        services.webhook_endpoint_update(
            tenant=tenant, actor=admin_user, endpoint=endpoint, url="ftp://x.example.com"
        )


def test_endpoint_delete_removes_its_delivery_log(tenant, admin_user):
    endpoint = endpoint_for(tenant, admin_user)
    keep = endpoint_for(tenant, admin_user)
    new_ticket(tenant)
    assert len(deliveries_of(tenant, endpoint)) == 2
    services.webhook_endpoint_delete(tenant=tenant, actor=admin_user, endpoint=endpoint)
    with tenant_context(tenant):
        assert list(WebhookEndpoint.objects.for_tenant(tenant)) == [keep]
    assert {d.endpoint_id for d in deliveries_of(tenant)} == {keep.pk}


def test_services_refuse_another_tenants_endpoint(tenant, other_tenant, admin_user):
    foreign = endpoint_for(other_tenant)
    with pytest.raises(ValidationError):
        services.webhook_endpoint_update(
            tenant=tenant, actor=admin_user, endpoint=foreign, is_active=False
        )
    with pytest.raises(ValidationError):
        services.webhook_endpoint_delete(tenant=tenant, actor=admin_user, endpoint=foreign)
    with tenant_context(other_tenant):
        assert WebhookEndpoint.objects.get(pk=foreign.pk).is_active


def test_a_tenant_has_a_limited_number_of_endpoints(tenant):
    for _ in range(20):
        endpoint_for(tenant)
    with pytest.raises(ValidationError):
        endpoint_for(tenant)


# --- Dispatch and payloads ----------------------------------------------------------------


def test_a_new_ticket_queues_ticket_created_and_its_first_message(tenant, admin_user):
    endpoint = endpoint_for(tenant, admin_user)
    ticket = new_ticket(tenant, priority="high")
    created, message = deliveries_of(tenant)
    assert (created.event, message.event) == ("ticket.created", "message.created")
    assert created.endpoint_id == message.endpoint_id == endpoint.pk
    assert created.state == WebhookDelivery.State.PENDING and created.attempts == 0

    payload = created.payload
    assert payload["id"] == str(created.public_id)
    assert payload["event"] == "ticket.created"
    assert payload["tenant"] == "acme"
    assert payload["created_at"] == ticket.created_at.isoformat()
    assert payload["data"]["ticket"] == {
        "id": str(ticket.public_id),
        "reference": f"ACME-{ticket.number}",
        "subject": "Where is my order?",
        "status": "new",
        "priority": "high",
        "channel": "web",
        "assignee": None,
        "group": None,
        "tier": 1,
        "created_at": ticket.created_at.isoformat(),
        "updated_at": ticket.updated_at.isoformat(),
    }
    assert "message" not in payload["data"]

    with tenant_context(tenant):
        first = Message.objects.get(ticket=ticket)
    assert message.payload["data"]["message"] == {
        "id": str(first.public_id),
        "author_type": "customer",
        "body_text": "My order never arrived",
        "created_at": first.created_at.isoformat(),
    }
    assert message.payload["data"]["ticket"]["id"] == str(ticket.public_id)


def test_payloads_carry_public_ids_only(tenant, admin_user, agent):
    endpoint_for(tenant, admin_user)
    ticket = new_ticket(tenant)
    services.ticket_assign(tenant=tenant, actor=agent, ticket=ticket, assignee=agent)
    services.message_create(tenant=tenant, ticket=ticket, body="On its way", author_user=agent)
    for delivery in deliveries_of(tenant):
        assert ints_in(delivery.payload) == [".data.ticket.tier"], delivery.event


def test_internal_notes_never_leave_the_system(tenant, admin_user, agent):
    endpoint_for(tenant, admin_user)
    ticket = new_ticket(tenant)
    before = len(deliveries_of(tenant))
    services.message_create(
        tenant=tenant,
        ticket=ticket,
        body="INTERNAL: customer is on the fraud list",
        author_user=agent,
        is_internal=True,
    )
    after = deliveries_of(tenant)
    assert len(after) == before
    assert all("fraud list" not in str(d.payload) for d in after)


def test_a_staff_reply_is_a_public_message_and_opens_the_ticket(tenant, admin_user, agent):
    endpoint_for(tenant, admin_user)
    ticket = new_ticket(tenant)
    services.message_create(tenant=tenant, ticket=ticket, body="Hello!", author_user=agent)
    reply, opened = deliveries_of(tenant)[2:]
    assert reply.event == "message.created"
    assert reply.payload["data"]["message"]["author_type"] == "staff"
    assert reply.payload["data"]["message"]["body_text"] == "Hello!"
    assert opened.event == "ticket.updated"
    assert opened.payload["data"]["change"] == {
        "kind": "ticket.status_changed",
        "from": "new",
        "to": "open",
    }
    assert opened.payload["data"]["ticket"]["status"] == "open"


def test_assignment_and_escalation_are_ticket_updates_without_internal_details(
    tenant, admin_user, agent
):
    endpoint_for(tenant, admin_user, events=["ticket.updated"])
    ticket = new_ticket(tenant)
    services.ticket_assign(tenant=tenant, actor=admin_user, ticket=ticket, assignee=agent)
    specialists = GroupFactory(tenant=tenant, name="Specialists", tier=2)
    services.ticket_escalate(
        tenant=tenant,
        actor=agent,
        ticket=ticket,
        group=specialists,
        reason="SECRET-REASON: VIP with legal threat",
    )
    assigned, escalated = deliveries_of(tenant)
    assert assigned.payload["data"]["change"] == {"kind": "ticket.assigned"}
    assert assigned.payload["data"]["ticket"]["assignee"] == "agent@acme.test"
    assert escalated.payload["data"]["change"] == {
        "kind": "ticket.escalated",
        "from_tier": 1,
        "to_tier": 2,
    }
    assert escalated.payload["data"]["ticket"]["group"] == "Specialists"
    assert escalated.payload["data"]["ticket"]["tier"] == 2
    assert escalated.payload["data"]["ticket"]["assignee"] is None
    assert "SECRET-REASON" not in str(escalated.payload)


def test_priority_and_tag_changes_are_ticket_updates(tenant, admin_user):
    endpoint_for(tenant, admin_user, events=["ticket.updated"])
    ticket = new_ticket(tenant)
    with tenant_context(tenant):
        event_record(
            tenant=tenant,
            ticket=ticket,
            kind="ticket.priority_changed",
            from_value="normal",
            to_value="urgent",
            is_public=False,
        )
        event_record(
            tenant=tenant,
            ticket=ticket,
            kind="ticket.tags_changed",
            data={"added": ["refund"], "removed": ["shipping"]},
            is_public=False,
        )
        event_record(
            tenant=tenant, ticket=ticket, kind="ticket.fields_changed", data={"changed": {}}
        )
    priority, tags = deliveries_of(tenant)
    assert priority.payload["data"]["change"] == {
        "kind": "ticket.priority_changed",
        "from": "normal",
        "to": "urgent",
    }
    assert tags.payload["data"]["change"] == {
        "kind": "ticket.tags_changed",
        "added": ["refund"],
        "removed": ["shipping"],
    }


def test_only_active_subscribed_endpoints_of_the_tenant_get_deliveries(
    tenant, other_tenant, admin_user
):
    everything = endpoint_for(tenant, admin_user)
    messages_only = endpoint_for(tenant, admin_user, events=["message.created"])
    disabled = endpoint_for(tenant, admin_user, is_active=False)
    foreign = endpoint_for(other_tenant)
    new_ticket(tenant)
    assert [d.event for d in deliveries_of(tenant, everything)] == [
        "ticket.created",
        "message.created",
    ]
    assert [d.event for d in deliveries_of(tenant, messages_only)] == ["message.created"]
    assert deliveries_of(tenant, disabled) == []
    assert deliveries_of(other_tenant, foreign) == []
    assert deliveries_of(other_tenant) == []


def test_no_endpoint_means_no_delivery_and_no_lookup_once_known(tenant, django_assert_num_queries):
    ticket = new_ticket(tenant)  # its events read the tenant's endpoints (the directory): none
    with tenant_context(tenant), django_assert_num_queries(1):  # the event row only
        event_record(tenant=tenant, ticket=ticket, kind="ticket.priority_changed")
    with tenant_context(tenant), django_assert_num_queries(1):  # never leaves: no lookup
        event_record(tenant=tenant, ticket=ticket, kind="ticket.repeat_detected")
    assert deliveries_of(tenant) == []


def test_survey_answered_can_be_dispatched_by_other_apps(tenant, admin_user):
    endpoint_for(tenant, admin_user, events=["survey.answered"])
    (delivery,) = services.webhook_dispatch(
        tenant=tenant, event="survey.answered", data={"survey": {"score": "5"}}
    )
    assert delivery.payload["event"] == "survey.answered"
    assert delivery.payload["data"] == {"survey": {"score": "5"}}
    with pytest.raises(ValueError):
        services.webhook_dispatch(tenant=tenant, event="ticket.deleted", data={})


# --- Replay -------------------------------------------------------------------------------


def test_replay_creates_a_new_delivery_with_the_same_payload(tenant, admin_user):
    endpoint_for(tenant, admin_user, events=["ticket.created"])
    new_ticket(tenant)
    (original,) = deliveries_of(tenant)
    with tenant_context(tenant):
        WebhookDelivery.objects.filter(pk=original.pk).update(
            state=WebhookDelivery.State.FAILED, attempts=6, last_status_code=500
        )
    replay = services.webhook_delivery_replay(tenant=tenant, actor=admin_user, delivery=original)
    assert replay.pk != original.pk and replay.public_id != original.public_id
    assert (replay.state, replay.attempts, replay.last_status_code) == ("pending", 0, None)
    assert replay.event == original.event and replay.endpoint_id == original.endpoint_id
    assert replay.payload["id"] == str(replay.public_id)
    assert {k: v for k, v in replay.payload.items() if k != "id"} == {
        k: v for k, v in original.payload.items() if k != "id"
    }


def test_replay_refuses_a_disabled_endpoint_and_another_tenants_delivery(
    tenant, other_tenant, admin_user
):
    endpoint = endpoint_for(tenant, admin_user, events=["ticket.created"])
    new_ticket(tenant)
    (delivery,) = deliveries_of(tenant)
    services.webhook_endpoint_update(
        tenant=tenant, actor=admin_user, endpoint=endpoint, is_active=False
    )
    with pytest.raises(ValidationError):
        services.webhook_delivery_replay(tenant=tenant, actor=admin_user, delivery=delivery)
    with pytest.raises(ValidationError):
        services.webhook_delivery_replay(tenant=other_tenant, actor=None, delivery=delivery)
    assert len(deliveries_of(tenant)) == 1
    assert deliveries_of(other_tenant) == []
