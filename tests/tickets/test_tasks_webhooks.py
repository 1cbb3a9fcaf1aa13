"""Outbound webhooks, the delivery task: real HTTP to a real receiver on 127.0.0.1.

The task is called directly with a tenant id (a failed attempt then raises the error that a
worker would turn into a retry, with its countdown); in-process runs go through ``apply()`` or
through a real request with on-commit callbacks executed; one test runs a real worker on Redis.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from celery.signals import task_prerun
from django.test import override_settings

from helpdesk.tenancy.context import tenant_context
from tests.factories.tickets import CustomerFactory
from tickets import services
from tickets.models import WebhookDelivery
from tickets.services.webhooks import RETRY_COUNTDOWNS, USER_AGENT, webhook_signature_verify
from tickets.tasks import webhook_deliver_task
from tickets.tasks.webhooks import WebhookDeliveryFailed


class Receiver:
    """A tiny webhook receiver: records every request; answers 200 unless told otherwise."""

    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.statuses: list[int] = []
        self._changed = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with receiver._changed:
                    receiver.requests.append(
                        {"path": self.path, "headers": dict(self.headers), "body": body}
                    )
                    status = receiver.statuses.pop(0) if receiver.statuses else 200
                    receiver._changed.notify_all()
                self.send_response(status)
                if 300 <= status < 400:
                    self.send_header("Location", "http://127.0.0.1:9/elsewhere")
                payload = b"ok" if status < 400 else b"receiver exploded"
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}/hooks/helpdesk"

    def answer(self, *statuses: int) -> None:
        self.statuses.extend(statuses)

    def wait_for(self, count: int, timeout: float = 30) -> list[dict]:
        with self._changed:
            self._changed.wait_for(lambda: len(self.requests) >= count, timeout=timeout)
            return list(self.requests)


@pytest.fixture
def receiver():
    server = Receiver()
    server.thread.start()
    yield server
    server.server.shutdown()
    server.server.server_close()


@pytest.fixture
def other_receiver():
    server = Receiver()
    server.thread.start()
    yield server
    server.server.shutdown()
    server.server.server_close()


@pytest.fixture
def closed_port_url():
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return f"http://127.0.0.1:{port}/nobody-listens"


def endpoint_at(tenant, url, events=("ticket.created",), actor=None):
    return services.webhook_endpoint_create(
        tenant=tenant, actor=actor, url=url, events=list(events)
    )


def queued_delivery(tenant, endpoint) -> WebhookDelivery:
    """A pending delivery made the real way; in these tests on-commit callbacks never run."""
    customer = CustomerFactory(tenant=tenant)
    services.ticket_create(tenant=tenant, customer=customer, subject="Broken", body="It broke")
    return reload(tenant, delivery_of(tenant, endpoint))


def delivery_of(tenant, endpoint) -> WebhookDelivery:
    with tenant_context(tenant):
        return WebhookDelivery.objects.filter(endpoint=endpoint).order_by("id").first()


def reload(tenant, delivery) -> WebhookDelivery:
    with tenant_context(tenant):
        return WebhookDelivery.objects.get(pk=delivery.pk)


def all_deliveries(tenant) -> list[WebhookDelivery]:
    with tenant_context(tenant):
        return list(WebhookDelivery.objects.order_by("id"))


def test_a_delivery_is_a_signed_json_post_and_marks_the_row_delivered(receiver, tenant):
    endpoint = endpoint_at(tenant, receiver.url)
    delivery = queued_delivery(tenant, endpoint)

    result = webhook_deliver_task(tenant.pk, delivery.pk)

    assert result["state"] == "delivered" and result["sent"] is True
    (request,) = receiver.requests
    headers = request["headers"]
    assert request["path"] == "/hooks/helpdesk"
    assert headers["Content-Type"] == "application/json"
    assert headers["User-Agent"] == USER_AGENT == "Helpdesk-Webhooks/1.0"
    assert headers["X-Helpdesk-Event"] == "ticket.created"
    assert headers["X-Helpdesk-Delivery"] == str(delivery.public_id)
    assert webhook_signature_verify(
        endpoint.secret, headers["X-Helpdesk-Signature"], request["body"]
    )
    assert not webhook_signature_verify("wrong", headers["X-Helpdesk-Signature"], request["body"])
    assert json.loads(request["body"]) == delivery.payload
    row = reload(tenant, delivery)
    assert (row.state, row.attempts, row.last_status_code, row.last_error) == (
        "delivered",
        1,
        200,
        "",
    )
    assert row.delivered_at is not None and row.last_attempt_at is not None


def test_running_the_task_twice_for_a_delivered_row_posts_once(receiver, tenant):
    delivery = queued_delivery(tenant, endpoint_at(tenant, receiver.url))
    webhook_deliver_task(tenant.pk, delivery.pk)
    again = webhook_deliver_task(tenant.pk, delivery.pk)
    assert again["state"] == "delivered" and again["sent"] is False
    assert len(receiver.requests) == 1
    assert reload(tenant, delivery).attempts == 1


def test_a_500_is_recorded_and_retried_then_the_next_attempt_delivers(receiver, tenant):
    receiver.answer(500)
    delivery = queued_delivery(tenant, endpoint_at(tenant, receiver.url))

    with pytest.raises(WebhookDeliveryFailed) as failure:
        webhook_deliver_task(tenant.pk, delivery.pk)

    assert failure.value.retry_in == 30
    row = reload(tenant, delivery)
    assert (row.state, row.attempts, row.last_status_code) == ("pending", 1, 500)
    assert row.last_error == "HTTP 500: receiver exploded"

    assert webhook_deliver_task(tenant.pk, delivery.pk)["state"] == "delivered"
    row = reload(tenant, delivery)
    assert (row.state, row.attempts, row.last_status_code, row.last_error) == (
        "delivered",
        2,
        200,
        "",
    )
    first, second = receiver.requests
    assert first["headers"]["X-Helpdesk-Delivery"] == second["headers"]["X-Helpdesk-Delivery"]
    assert first["body"] == second["body"]


def test_retries_back_off_then_the_delivery_fails_after_six_attempts(receiver, tenant):
    receiver.answer(*[500] * 10)
    delivery = queued_delivery(tenant, endpoint_at(tenant, receiver.url))

    countdowns = []
    for attempt in range(1, 6):
        with pytest.raises(WebhookDeliveryFailed) as failure:
            webhook_deliver_task(tenant.pk, delivery.pk)
        countdowns.append(failure.value.retry_in)
        assert reload(tenant, delivery).attempts == attempt
    assert countdowns == [30, 120, 600, 3600, 21600] == list(RETRY_COUNTDOWNS)

    result = webhook_deliver_task(tenant.pk, delivery.pk)  # the sixth and last attempt
    assert result["state"] == "failed" and result["retry_in"] is None
    row = reload(tenant, delivery)
    assert (row.state, row.attempts, row.last_status_code) == ("failed", 6, 500)
    assert "gave up after 6 attempts" in row.last_error

    assert webhook_deliver_task(tenant.pk, delivery.pk)["sent"] is False
    assert len(receiver.requests) == 6


def test_a_worker_turns_a_failed_attempt_into_a_celery_retry_with_the_countdown(receiver, tenant):
    """What a worker sees: ``Retry`` carrying the countdown, raised after the attempt is saved."""
    from celery.exceptions import Retry

    receiver.answer(500)
    delivery = queued_delivery(tenant, endpoint_at(tenant, receiver.url))
    # the request a worker would have pushed for this message
    webhook_deliver_task.push_request(
        called_directly=False, retries=0, id="t-1", args=[tenant.pk, delivery.pk], kwargs={}
    )
    sent = []
    original = webhook_deliver_task.signature_from_request

    def capture_signature(*args, **kwargs):
        signature = original(*args, **kwargs)
        signature.apply_async = lambda *a, **kw: sent.append(signature)  # the broker: not here
        return signature

    webhook_deliver_task.signature_from_request = capture_signature
    try:
        with pytest.raises(Retry) as retry:
            webhook_deliver_task(tenant.pk, delivery.pk)
    finally:
        del webhook_deliver_task.signature_from_request
        webhook_deliver_task.pop_request()
    assert retry.value.when == 30
    (signature,) = sent
    assert list(signature.args) == [tenant.pk, delivery.pk]
    assert signature.options["countdown"] == 30
    assert signature.options["retries"] == 1
    assert reload(tenant, delivery).attempts == 1  # committed before the retry was raised


def test_an_unreachable_receiver_is_recorded_as_an_error(closed_port_url, tenant):
    delivery = queued_delivery(tenant, endpoint_at(tenant, closed_port_url))
    with pytest.raises(WebhookDeliveryFailed):
        webhook_deliver_task(tenant.pk, delivery.pk)
    row = reload(tenant, delivery)
    assert (row.state, row.attempts, row.last_status_code) == ("pending", 1, None)
    assert "ConnectionRefused" in row.last_error


def test_redirects_are_not_followed(receiver, tenant):
    receiver.answer(302)
    delivery = queued_delivery(tenant, endpoint_at(tenant, receiver.url))
    with pytest.raises(WebhookDeliveryFailed):
        webhook_deliver_task(tenant.pk, delivery.pk)
    row = reload(tenant, delivery)
    assert (row.last_status_code, row.last_error) == (302, "HTTP 302: redirects are not followed")
    assert len(receiver.requests) == 1


def test_a_disabled_endpoint_is_not_called(receiver, tenant):
    endpoint = endpoint_at(tenant, receiver.url)
    delivery = queued_delivery(tenant, endpoint)
    services.webhook_endpoint_update(tenant=tenant, actor=None, endpoint=endpoint, is_active=False)
    assert webhook_deliver_task(tenant.pk, delivery.pk)["state"] == "failed"
    assert receiver.requests == []
    assert "disabled" in reload(tenant, delivery).last_error


def test_a_deleted_endpoint_leaves_nothing_to_do(receiver, tenant):
    endpoint = endpoint_at(tenant, receiver.url)
    delivery = queued_delivery(tenant, endpoint)
    services.webhook_endpoint_delete(tenant=tenant, actor=None, endpoint=endpoint)
    assert webhook_deliver_task(tenant.pk, delivery.pk)["state"] == "missing"
    assert receiver.requests == []


def test_the_task_only_sees_its_own_tenants_deliveries(receiver, tenant, other_tenant):
    delivery = queued_delivery(tenant, endpoint_at(tenant, receiver.url))
    assert webhook_deliver_task(other_tenant.pk, delivery.pk)["state"] == "missing"
    assert receiver.requests == []
    assert reload(tenant, delivery).attempts == 0


@override_settings(IS_PRODUCTION=True)
def test_in_production_private_addresses_are_refused_at_delivery_time(receiver, tenant):
    """An endpoint saved before the rules (or a name that later resolves inside) is not called."""
    port = receiver.server.server_address[1]
    with override_settings(IS_PRODUCTION=False):
        plain = endpoint_at(tenant, receiver.url)
        named = endpoint_at(tenant, f"https://localhost:{port}/hooks")
    customer = CustomerFactory(tenant=tenant)
    services.ticket_create(tenant=tenant, customer=customer, subject="x", body="y")
    for endpoint, reason in ((plain, "plain http"), (named, "non-public address")):
        delivery = delivery_of(tenant, endpoint)
        with pytest.raises(WebhookDeliveryFailed):
            webhook_deliver_task(tenant.pk, delivery.pk)
        assert reason in reload(tenant, delivery).last_error
    assert receiver.requests == []


def fake_dns(monkeypatch, address: str) -> list[str]:
    """Resolve every name to ``address`` (DNS is what leaves the process here)."""
    lookups = []

    def getaddrinfo(host, port, *args, **kwargs):
        lookups.append(host)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return lookups


@override_settings(IS_PRODUCTION=True)
def test_in_production_a_public_name_that_resolves_inside_is_refused(tenant, monkeypatch):
    delivery = queued_delivery(tenant, endpoint_at(tenant, "https://hooks.example.com/in"))
    lookups = fake_dns(monkeypatch, "10.0.0.7")  # DNS rebinding towards the internal network
    connects = []
    monkeypatch.setattr(socket, "create_connection", lambda *a, **kw: connects.append(a))
    with pytest.raises(WebhookDeliveryFailed):
        webhook_deliver_task(tenant.pk, delivery.pk)
    assert lookups == ["hooks.example.com"] and connects == []
    assert "non-public address" in reload(tenant, delivery).last_error


@override_settings(IS_PRODUCTION=True)
def test_in_production_the_connection_goes_to_the_address_that_was_checked(tenant, monkeypatch):
    delivery = queued_delivery(tenant, endpoint_at(tenant, "https://hooks.example.com/in"))
    lookups = fake_dns(monkeypatch, "93.184.216.34")
    connects = []

    def create_connection(address, *args, **kwargs):
        connects.append(address)
        raise ConnectionRefusedError("the test stops here: nothing leaves the machine")

    monkeypatch.setattr(socket, "create_connection", create_connection)
    with pytest.raises(WebhookDeliveryFailed):
        webhook_deliver_task(tenant.pk, delivery.pk)
    assert lookups == ["hooks.example.com"]  # one lookup, no second one to rebind
    assert connects == [("93.184.216.34", 443)]


# --- In-process runs (the embedded mode: tasks run eagerly, no worker) ---------------------


def test_in_process_runs_make_one_attempt_and_never_retry_inline(receiver, tenant):
    receiver.answer(500, 500, 500)
    delivery = queued_delivery(tenant, endpoint_at(tenant, receiver.url))
    result = webhook_deliver_task.apply(args=(tenant.pk, delivery.pk)).get()
    assert result["state"] == "failed"
    assert len(receiver.requests) == 1
    row = reload(tenant, delivery)
    assert (row.state, row.attempts) == ("failed", 1)
    assert "no task worker; use Replay" in row.last_error


def test_an_api_request_sends_its_webhooks_after_commit(
    receiver,
    other_receiver,
    tenant,
    other_tenant,
    admin_user,
    api_client_for,
    django_capture_on_commit_callbacks,
):
    endpoint = endpoint_at(tenant, receiver.url, events=["ticket.created", "message.created"])
    endpoint_at(other_tenant, other_receiver.url, events=["ticket.created", "message.created"])
    seen = []

    def capture(sender=None, args=None, **kwargs):
        seen.append((sender.name, tuple(args or ())))

    task_prerun.connect(capture)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            response = api_client_for(admin_user).post(
                "/api/v1/t/acme/tickets/",
                {"subject": "Hello", "body": "Anyone there?", "customer_email": "c@example.com"},
                format="json",
            )
            assert response.status_code == 201
            assert receiver.requests == []  # nothing leaves before the commit
    finally:
        task_prerun.disconnect(capture)

    events = [r["headers"]["X-Helpdesk-Event"] for r in receiver.requests]
    assert events == ["ticket.created", "message.created"]
    for request in receiver.requests:
        assert webhook_signature_verify(
            endpoint.secret, request["headers"]["X-Helpdesk-Signature"], request["body"]
        )
        payload = json.loads(request["body"])
        assert payload["tenant"] == "acme"
        assert payload["data"]["ticket"]["id"] == response.json()["id"]
    assert other_receiver.requests == []
    assert {d.state for d in all_deliveries(tenant)} == {"delivered"}
    deliveries = [(name, args) for name, args in seen if name == "tickets.webhook_deliver"]
    assert deliveries == [
        ("tickets.webhook_deliver", (tenant.pk, d.pk)) for d in all_deliveries(tenant)
    ]


def test_a_failing_receiver_does_not_hold_up_or_fail_the_request(
    receiver, tenant, admin_user, api_client_for, django_capture_on_commit_callbacks
):
    receiver.answer(500, 500, 500, 500)
    endpoint_at(tenant, receiver.url, events=["ticket.created", "message.created"])
    started = time.monotonic()
    with django_capture_on_commit_callbacks(execute=True):
        response = api_client_for(admin_user).post(
            "/api/v1/t/acme/tickets/",
            {"subject": "Hello", "body": "Anyone there?", "customer_email": "c@example.com"},
            format="json",
        )
    assert response.status_code == 201
    assert time.monotonic() - started < 5
    assert len(receiver.requests) == 2  # one attempt each, no inline retries
    assert {(d.state, d.attempts) for d in all_deliveries(tenant)} == {("failed", 1)}


# --- A real worker ------------------------------------------------------------------------


@pytest.mark.redis_only
def test_a_real_worker_delivers_a_ticket_created_through_the_api(
    real_celery_worker, receiver, other_receiver, tenant, other_tenant, admin_user, api_client_for
):
    endpoint = endpoint_at(tenant, receiver.url, events=["ticket.created"])
    endpoint_at(other_tenant, other_receiver.url, events=["ticket.created"])

    response = api_client_for(admin_user).post(
        "/api/v1/t/acme/tickets/",
        {"subject": "Via the worker", "body": "Hello", "customer_email": "w@example.com"},
        format="json",
    )
    assert response.status_code == 201

    (request,) = receiver.wait_for(1, timeout=30)
    assert webhook_signature_verify(
        endpoint.secret, request["headers"]["X-Helpdesk-Signature"], request["body"]
    )
    payload = json.loads(request["body"])
    assert payload["event"] == "ticket.created"
    assert payload["data"]["ticket"]["id"] == response.json()["id"]
    assert payload["data"]["ticket"]["subject"] == "Via the worker"
    deadline = time.monotonic() + 15
    while reload(tenant, delivery_of(tenant, endpoint)).state != "delivered":
        assert time.monotonic() < deadline, "the worker did not record the delivery"
        time.sleep(0.1)
    time.sleep(0.5)
    assert other_receiver.requests == []
    assert len(receiver.requests) == 1
