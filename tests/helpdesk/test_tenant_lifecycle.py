"""Tenant export and deletion: everything of one tenant, nothing of another."""

from __future__ import annotations

import csv
import json
import zipfile

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command

from helpdesk.tenancy.context import system_context
from helpdesk.tenancy.lifecycle import tenant_export, tenant_owned_models
from helpdesk.tenancy.models import Membership, Tenant
from helpdesk.tenancy.services import api_key_create
from tests.factories.tickets import CustomerFactory
from tickets import services
from tickets.services.email_in import inbound_email_receive
from tickets.services.webform import CleanAttachment, attachment_store

RAW_EMAIL = (
    b"From: Pat <pat@customer.example>\r\nTo: help@{slug}.example\r\n"
    b"Subject: Printer\r\nMessage-ID: <m-{slug}@customer.example>\r\n\r\nIt jams. {slug}\r\n"
)


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def populate(tenant, admin) -> dict[str, str]:
    """Rows of every kind, plus two stored files: an attachment and a raw inbound email. Returns
    the stored names."""
    customer = CustomerFactory(tenant=tenant)
    ticket = services.ticket_create(tenant=tenant, customer=customer, subject="Hello", body="World")
    message = services.message_create(tenant=tenant, ticket=ticket, body="Reply", author_user=admin)
    api_key_create(tenant=tenant, actor=admin, name="k", scopes=["read"])
    content = f"attachment of {tenant.slug}".encode()
    upload = SimpleUploadedFile("notes.txt", content, content_type="text/plain")
    attachment = attachment_store(
        tenant=tenant,
        message=message,
        attachment=CleanAttachment(upload, "notes.txt", "text/plain", len(content)),
    )
    inbound, _created = inbound_email_receive(
        tenant=tenant,
        raw=RAW_EMAIL.replace(b"{slug}", tenant.slug.encode()),
        source="webhook",
        enqueue=False,
    )
    return {"attachment": attachment.file.name, "raw": inbound.raw.name}


def row_counts(tenant) -> dict[str, int]:
    with system_context(reason="test counts"):
        return {
            m._meta.label: m._base_manager.filter(tenant_id=tenant.pk).count()
            for m in tenant_owned_models()
        }


def test_export_writes_every_model_without_secrets(tmp_path, tenant, admin_user):
    populate(tenant, admin_user)
    out = tmp_path / "export"
    counts = tenant_export(tenant=tenant, directory=out, actor=admin_user)
    assert counts["tickets.Ticket"] == 1 and counts["tickets.Message"] == 2
    tickets = json.loads((out / "tickets.Ticket.json").read_text())
    assert tickets[0]["subject"] == "Hello"
    keys = json.loads((out / "tenancy.ApiKey.json").read_text())
    assert "secret_hash" not in keys[0]
    models = {label for label in counts if label != "files"}
    assert {p.name for p in out.iterdir()} >= {f"{label}.json" for label in models}


def test_export_in_csv_writes_a_header_and_one_line_per_row_without_secrets(
    tmp_path, tenant, other_tenant, admin_user, other_admin
):
    populate(tenant, admin_user)
    populate(other_tenant, other_admin)
    out = tmp_path / "export"
    counts = tenant_export(tenant=tenant, directory=out, fmt="csv", actor=admin_user)
    for label in tenant_owned_models():
        path = out / f"{label._meta.label}.csv"
        with path.open(newline="") as handle:
            rows = list(csv.DictReader(handle))
        assert len(rows) == counts[label._meta.label], label
        assert all(row["tenant_id"] == str(tenant.pk) for row in rows), label
    with (out / "tickets.Ticket.csv").open(newline="") as handle:
        (ticket,) = csv.DictReader(handle)
    assert ticket["subject"] == "Hello"
    with (out / "tenancy.ApiKey.csv").open(newline="") as handle:
        header = next(csv.reader(handle))
    assert "secret_hash" not in header
    with (out / "tickets.Attachment.csv").open(newline="") as handle:
        (attachment,) = csv.DictReader(handle)
    # the file column names the exported copy under files/
    assert (out / "files" / attachment["file"]).read_bytes() == b"attachment of acme"


def test_export_copies_the_content_of_the_tenants_files_and_only_those(
    tmp_path, tenant, other_tenant, admin_user, other_admin
):
    mine = populate(tenant, admin_user)
    theirs = populate(other_tenant, other_admin)
    out = tmp_path / "export"
    call_command("tenant_export", "acme", str(out), "--zip")
    assert (out / "files" / mine["attachment"]).read_bytes() == b"attachment of acme"
    assert b"It jams. acme" in (out / "files" / mine["raw"]).read_bytes()
    assert not (out / "files" / theirs["attachment"]).exists()
    assert not (out / "files" / theirs["raw"]).exists()
    manifest = json.loads((out / "files.json").read_text())
    assert {(e["model"], e["name"]) for e in manifest} == {
        ("tickets.Attachment", mine["attachment"]),
        ("tickets.InboundEmail", mine["raw"]),
    }
    attachments = json.loads((out / "tickets.Attachment.json").read_text())
    assert attachments[0]["file"] == mine["attachment"]
    with zipfile.ZipFile(tmp_path / "export.zip") as archive:
        names = set(archive.namelist())
        assert f"files/{mine['attachment']}" in names and "tickets.Ticket.json" in names
        assert archive.read(f"files/{mine['raw']}") == (out / "files" / mine["raw"]).read_bytes()


def test_delete_removes_everything_of_the_tenant_and_nothing_else(
    tenant, other_tenant, admin_user, other_admin, django_capture_on_commit_callbacks
):
    mine = populate(tenant, admin_user)
    theirs = populate(other_tenant, other_admin)
    before_other = row_counts(other_tenant)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        call_command("tenant_delete", "acme", "--yes-delete-everything")
    # the files outlive the rows until the deletion is committed
    assert all(default_storage.exists(name) for name in mine.values())
    for callback in callbacks:
        callback()
    assert not any(default_storage.exists(name) for name in mine.values())
    assert all(default_storage.exists(name) for name in theirs.values())
    assert default_storage.open(theirs["attachment"]).read() == b"attachment of globex"
    assert not Tenant.objects.filter(slug="acme").exists()
    assert not Membership.objects.filter(tenant_id=tenant.pk).exists()
    assert all(count == 0 for count in row_counts(tenant).values())
    assert row_counts(other_tenant) == before_other
    assert Membership.objects.filter(tenant=other_tenant).exists()
