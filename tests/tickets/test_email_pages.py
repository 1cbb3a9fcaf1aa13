"""Email pages: the mailboxes admin page (Perm.SETTINGS_MANAGE) and attachment downloads."""

from __future__ import annotations

import socket

import pytest

from helpdesk.tenancy.context import tenant_context
from helpdesk.tenancy.policy import Role
from tests.fixtures.email.build_corpus import load
from tickets import services
from tickets.models import Attachment, InboundEmail, IntakeSettings, Mailbox

PAGE = "/t/acme/admin/mailboxes/"


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def deliver(tenant, name: str) -> InboundEmail:
    inbound, _ = services.inbound_email_receive(
        tenant=tenant, raw=load(name), source="webhook", enqueue=False
    )
    return services.inbound_email_process(tenant=tenant, inbound=inbound)


def mailboxes(tenant) -> list[Mailbox]:
    with tenant_context(tenant):
        return list(Mailbox.objects.for_tenant(tenant).order_by("pk"))


def attachments(tenant) -> dict[str, Attachment]:
    with tenant_context(tenant):
        return {a.filename: a for a in Attachment.objects.for_tenant(tenant)}


def add_mailbox(tenant, **fields) -> Mailbox:
    values = {"host": "imap.acme.test", "username": "support@acme.test", "password": "pw-1"}
    values.update(fields)
    return services.mailbox_create(tenant=tenant, actor=None, **values)


# --- Mailboxes page -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "status"), [(Role.ADMIN, 200), (Role.MANAGER, 403), (Role.AGENT, 403)]
)
def test_only_settings_managers_see_the_page(client, tenant, member_factory, role, status):
    client.force_login(member_factory(tenant, role, f"{role}@acme.test"))
    assert client.get(PAGE).status_code == status


def test_anonymous_visitors_are_sent_to_sign_in(client, tenant):
    response = client.get(PAGE)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_the_page_lists_mailboxes_webhook_and_recent_mail_without_passwords(
    client, tenant, admin_user
):
    add_mailbox(tenant, password="hunter2-secret")
    deliver(tenant, "no_sender")
    client.force_login(admin_user)
    html = client.get(PAGE).content.decode()
    assert "support@acme.test@imap.acme.test:993" in html
    assert "hunter2-secret" not in html
    assert "http://127.0.0.1:8000/api/v1/t/acme/email/inbound/" in html
    assert "Who sent this?" in html and "No sender" in html


def test_the_email_page_is_in_the_admin_navigation_of_admins_only(
    client, tenant, admin_user, agent
):
    client.force_login(admin_user)
    assert 'href="/t/acme/admin/mailboxes/"' in client.get("/t/acme/queue/").content.decode()
    client.force_login(agent)
    assert 'href="/t/acme/admin/mailboxes/"' not in client.get("/t/acme/queue/").content.decode()


def test_adding_a_mailbox(client, tenant, admin_user):
    client.force_login(admin_user)
    response = client.post(
        PAGE,
        {
            "host": "IMAP.Example.com",
            "port": "993",
            "use_tls": "on",
            "username": "help@example.com",
            "password": "app-password",
            "folder": "INBOX",
        },
    )
    assert response.status_code == 302
    (mailbox,) = mailboxes(tenant)
    assert (mailbox.host, mailbox.username, mailbox.password, mailbox.use_tls) == (
        "imap.example.com",
        "help@example.com",
        "app-password",
        True,
    )


@pytest.mark.parametrize(
    ("field", "value", "error"),
    [
        ("host", "not a host!", "Enter a host name"),
        ("port", "70000", "less than or equal to 65535"),
        ("password", "", "This field is required"),
    ],
)
def test_bad_mailbox_input_is_a_form_error(client, tenant, admin_user, field, value, error):
    client.force_login(admin_user)
    data = {
        "host": "imap.example.com",
        "port": "993",
        "username": "u@example.com",
        "password": "pw",
        "folder": "INBOX",
    }
    data[field] = value
    response = client.post(PAGE, data)
    assert response.status_code == 400
    assert error in response.content.decode()
    assert mailboxes(tenant) == []


def test_the_same_mailbox_twice_is_a_form_error(client, tenant, admin_user):
    add_mailbox(tenant)
    client.force_login(admin_user)
    response = client.post(
        PAGE,
        {
            "host": "imap.acme.test",
            "port": "993",
            "username": "support@acme.test",
            "password": "x",
            "folder": "INBOX",
        },
    )
    assert response.status_code == 400
    assert "already polled" in response.content.decode()


def test_pausing_resuming_and_removing_a_mailbox(client, tenant, admin_user):
    mailbox = add_mailbox(tenant)
    client.force_login(admin_user)
    assert client.post(f"{PAGE}{mailbox.pk}/toggle/").status_code == 302
    assert mailboxes(tenant)[0].is_active is False
    assert client.post(f"{PAGE}{mailbox.pk}/poll/").status_code == 302  # paused: not read
    client.post(f"{PAGE}{mailbox.pk}/toggle/")
    assert mailboxes(tenant)[0].is_active is True
    assert client.post(f"{PAGE}{mailbox.pk}/delete/").status_code == 302
    assert mailboxes(tenant) == []
    assert client.post(f"{PAGE}{mailbox.pk}/delete/").status_code == 404


def test_read_now_polls_and_records_the_error(
    client, tenant, admin_user, django_capture_on_commit_callbacks
):
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    mailbox = add_mailbox(tenant, host="127.0.0.1", port=port)
    client.force_login(admin_user)
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(f"{PAGE}{mailbox.pk}/poll/").status_code == 302
    assert mailboxes(tenant)[0].last_error == "Connection refused: check the host and port."
    assert "Connection refused" in client.get(PAGE).content.decode()


def test_email_settings_are_saved(client, tenant, admin_user):
    client.force_login(admin_user)
    response = client.post(f"{PAGE}settings/", {"support_address": "Help@Acme.test"})
    assert response.status_code == 302
    with tenant_context(tenant):
        intake = IntakeSettings.objects.for_tenant(tenant).get()
    assert (intake.support_address, intake.auto_reply) == ("help@acme.test", False)
    bad = client.post(f"{PAGE}settings/", {"support_address": "not an address"})
    assert bad.status_code == 400 and "valid email" in bad.content.decode()


def test_a_new_signing_secret_is_shown_once(client, tenant, admin_user):
    client.force_login(admin_user)
    response = client.post(f"{PAGE}secret/")
    assert response.status_code == 200
    with tenant_context(tenant):
        secret = IntakeSettings.objects.for_tenant(tenant).get().inbound_secret
    assert len(secret) == 64 and secret in response.content.decode()
    assert secret not in client.get(PAGE).content.decode()


def test_a_failed_message_can_be_processed_again(
    client, tenant, admin_user, django_capture_on_commit_callbacks
):
    inbound, _ = services.inbound_email_receive(
        tenant=tenant, raw=load("plain_new"), source="webhook", enqueue=False
    )
    with tenant_context(tenant):
        InboundEmail.objects.for_tenant(tenant).filter(pk=inbound.pk).update(
            state="failed", reason="RuntimeError: database was down"
        )
    client.force_login(admin_user)
    assert "Process again" in client.get(PAGE).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/t/acme/admin/inbound-email/{inbound.pk}/retry/")
    assert response.status_code == 302
    with tenant_context(tenant):
        assert InboundEmail.objects.for_tenant(tenant).get().state == "processed"
    again = client.post(f"/t/acme/admin/inbound-email/{inbound.pk}/retry/", follow=True)
    assert "already processed" in again.content.decode()


# --- Attachment downloads -----------------------------------------------------------------


def test_staff_download_attachments_as_files_with_a_safe_type(client, tenant, agent):
    deliver(tenant, "attachments_inline")
    stored = attachments(tenant)
    client.force_login(agent)
    pdf = client.get(f"/t/acme/attachments/{stored['Rechnung März.pdf'].public_id}/")
    assert pdf.status_code == 200
    assert pdf["Content-Type"] == "application/pdf"
    assert pdf["Content-Disposition"].startswith("attachment;")
    assert "Rechnung%20M%C3%A4rz.pdf" in pdf["Content-Disposition"]
    assert pdf["X-Content-Type-Options"] == "nosniff"
    assert b"".join(pdf.streaming_content).startswith(b"%PDF")
    html = client.get(f"/t/acme/attachments/{stored['evil.html'].public_id}/")
    assert html["Content-Type"] == "application/octet-stream"
    assert html["Content-Disposition"] == 'attachment; filename="evil.html"'
    assert "sandbox" in html["Content-Security-Policy"]


def test_attachments_are_for_staff_of_their_own_tenant_only(
    client, tenant, other_tenant, agent, other_agent
):
    deliver(tenant, "attachments_inline")
    url = f"/t/acme/attachments/{attachments(tenant)['screenshot.png'].public_id}/"
    assert client.get(url).status_code == 302  # anonymous: sign in first
    client.force_login(other_agent)
    assert client.get(url).status_code == 404
    other_url = url.replace("/t/acme/", "/t/globex/")
    assert client.get(other_url).status_code == 404
    client.force_login(agent)
    assert client.get(url).status_code == 200
    assert client.post(url).status_code == 405
