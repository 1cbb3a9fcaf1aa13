"""The inbound email webhook: authentication (API key scope or signature), store-once, size."""

from __future__ import annotations

import hashlib
import hmac
import time

import pytest

from helpdesk.tenancy.context import tenant_context
from helpdesk.tenancy.services import api_key_create
from tests.fixtures.email.build_corpus import JANE_FIRST_ID, big_attachment, load
from tickets import services
from tickets.models import InboundEmail, Ticket

URL = "/api/v1/t/acme/email/inbound/"
OTHER_URL = "/api/v1/t/globex/email/inbound/"


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def key_for(tenant, admin, scopes=("ingest:email",)) -> str:
    return api_key_create(tenant=tenant, actor=admin, name="mail relay", scopes=list(scopes))[1]


def sign(secret: str, body: bytes, timestamp: int | None = None) -> str:
    timestamp = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def post(client, body: bytes, url: str = URL, **headers):
    return client.generic("POST", url, body, content_type="message/rfc822", **headers)


def inbound_rows(tenant):
    with tenant_context(tenant):
        return list(InboundEmail.objects.for_tenant(tenant).order_by("pk"))


def test_an_api_key_with_the_ingest_scope_stores_and_queues_the_message(
    client, tenant, admin_user, django_capture_on_commit_callbacks
):
    key = key_for(tenant, admin_user)
    with django_capture_on_commit_callbacks(execute=True):
        response = post(client, load("plain_new"), HTTP_AUTHORIZATION=f"Api-Key {key}")
    assert response.status_code == 202, response.content
    (row,) = inbound_rows(tenant)
    assert response.json() == {
        "id": row.pk,
        "state": "received",
        "message_id": JANE_FIRST_ID,
        "duplicate": False,
        "reason": "",
    }
    assert row.source == "webhook" and row.sender == "jane.doe@example.com"
    assert row.state == "processed"  # the queued task ran after commit (in-process in tests)
    with tenant_context(tenant):
        assert Ticket.objects.for_tenant(tenant).get().subject == "Printer on fire"


def test_the_same_message_twice_is_stored_once(client, tenant, admin_user):
    key = key_for(tenant, admin_user)
    first = post(client, load("plain_new"), HTTP_AUTHORIZATION=f"Api-Key {key}")
    second = post(client, load("plain_new"), HTTP_AUTHORIZATION=f"Api-Key {key}")
    assert (first.status_code, second.status_code) == (202, 200)
    assert second.json()["duplicate"] is True
    assert second.json()["id"] == first.json()["id"]
    assert len(inbound_rows(tenant)) == 1


def test_a_message_without_message_id_posted_twice_is_stored_once(client, tenant, admin_user):
    key = key_for(tenant, admin_user)
    first = post(client, load("no_message_id"), HTTP_AUTHORIZATION=f"Api-Key {key}")
    second = post(client, load("no_message_id"), HTTP_AUTHORIZATION=f"Api-Key {key}")
    assert (first.status_code, second.status_code) == (202, 200)
    assert first.json()["message_id"].endswith("@no-message-id.invalid>")
    assert len(inbound_rows(tenant)) == 1


def test_a_valid_signature_authenticates(client, tenant, admin_user):
    secret = services.inbound_secret_rotate(tenant=tenant, actor=admin_user)
    body = load("gmail_reply")
    response = post(client, body, HTTP_X_HELPDESK_SIGNATURE=sign(secret, body))
    assert response.status_code == 202, response.content


@pytest.mark.parametrize(
    "case", ["wrong secret", "tampered body", "too old", "garbage", "no secret configured"]
)
def test_bad_signatures_are_refused_and_nothing_is_stored(client, tenant, admin_user, case):
    secret = "" if case == "no secret configured" else "s3cret"
    if secret:
        with tenant_context(tenant):
            from tickets.models import IntakeSettings

            IntakeSettings.objects.create(tenant=tenant, inbound_secret=secret)
    body = load("gmail_reply")
    header = {
        "wrong secret": sign("other", body),
        "tampered body": sign(secret, body + b"x"),
        "too old": sign(secret, body, timestamp=int(time.time()) - 600),
        "garbage": "v1=abc",
        "no secret configured": sign("", body),
    }[case]
    response = post(client, body, HTTP_X_HELPDESK_SIGNATURE=header)
    assert response.status_code == 401
    assert response.json()["message"]
    assert inbound_rows(tenant) == []


def test_anonymous_and_session_callers_are_refused(client, tenant, admin_user):
    assert post(client, load("plain_new")).status_code == 401
    client.force_login(admin_user)  # a person, even an admin, does not post raw mail
    assert post(client, load("plain_new")).status_code == 401
    assert inbound_rows(tenant) == []


def test_a_key_without_the_ingest_scope_is_forbidden(client, tenant, admin_user):
    key = key_for(tenant, admin_user, scopes=("read", "write"))
    response = post(client, load("plain_new"), HTTP_AUTHORIZATION=f"Api-Key {key}")
    assert response.status_code == 403
    assert "ingest:email" in response.json()["message"]
    assert inbound_rows(tenant) == []


def test_a_tenants_key_or_signature_never_posts_into_another_tenant(
    client, tenant, other_tenant, admin_user
):
    key = key_for(tenant, admin_user)
    secret = services.inbound_secret_rotate(tenant=tenant, actor=admin_user)
    body = load("plain_new")
    assert post(client, body, OTHER_URL, HTTP_AUTHORIZATION=f"Api-Key {key}").status_code == 401
    assert (
        post(client, body, OTHER_URL, HTTP_X_HELPDESK_SIGNATURE=sign(secret, body)).status_code
        == 401
    )
    assert inbound_rows(other_tenant) == []
    assert inbound_rows(tenant) == []


def test_an_empty_body_is_a_400(client, tenant, admin_user):
    key = key_for(tenant, admin_user)
    response = post(client, b"  \r\n", HTTP_AUTHORIZATION=f"Api-Key {key}")
    assert response.status_code == 400
    assert "raw RFC 5322 message" in response.json()["message"]


def test_an_oversized_message_is_refused_with_a_recorded_reason(
    client, tenant, admin_user, settings
):
    settings.HELPDESK_EMAIL_MAX_BYTES = 1024 * 1024
    key = key_for(tenant, admin_user)
    body = big_attachment(2)
    response = post(client, body, HTTP_AUTHORIZATION=f"Api-Key {key}")
    assert response.status_code == 413
    assert response.json()["message"] == ("Too large: the message is 2.7 MB; the limit is 1.0 MB.")
    (row,) = inbound_rows(tenant)
    assert (row.state, row.sender, row.size) == ("rejected", "big@example.com", len(body))
    assert not row.raw
    again = post(client, body, HTTP_AUTHORIZATION=f"Api-Key {key}")
    assert again.status_code == 200 and again.json()["duplicate"] is True
    assert len(inbound_rows(tenant)) == 1


def test_an_oversized_signed_message_is_verified_and_refused(client, tenant, admin_user, settings):
    settings.HELPDESK_EMAIL_MAX_BYTES = 1024 * 1024
    secret = services.inbound_secret_rotate(tenant=tenant, actor=admin_user)
    body = big_attachment(2)
    response = post(client, body, HTTP_X_HELPDESK_SIGNATURE=sign(secret, body))
    assert response.status_code == 413
    bad = post(client, body + b"x", HTTP_X_HELPDESK_SIGNATURE=sign(secret, body))
    assert bad.status_code == 401  # the signature covers every byte, not just the stored head
    assert len(inbound_rows(tenant)) == 1


def test_the_webhook_costs_three_queries_besides_transaction_control(client, tenant, admin_user):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    key = key_for(tenant, admin_user)
    post(client, load("plain_new"), HTTP_AUTHORIZATION=f"Api-Key {key}")  # warm up the key
    with CaptureQueriesContext(connection) as captured:
        response = post(client, load("gmail_reply"), HTTP_AUTHORIZATION=f"Api-Key {key}")
    assert response.status_code == 202
    statements = [
        q["sql"].split()[0]
        for q in captured.captured_queries
        if not q["sql"].startswith(("SAVEPOINT", "RELEASE SAVEPOINT", "SELECT set_config"))
    ]
    # the tenant, the API key, the row (the unique Message-ID is the duplicate check); processing
    # happens in the task
    assert statements == ["SELECT", "SELECT", "INSERT"]


def test_the_endpoint_is_in_the_api_schema(client, db):
    schema = client.get("/api/schema/?format=json").json()
    operation = schema["paths"]["/api/v1/t/{tenant_slug}/email/inbound/"]["post"]
    assert "message/rfc822" in operation["requestBody"]["content"]
