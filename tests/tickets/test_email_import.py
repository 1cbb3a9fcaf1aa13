"""``manage.py email_import``: mbox files and .eml folders from another helpdesk, imported once."""

from __future__ import annotations

import mailbox
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from helpdesk.tenancy.context import tenant_context
from tests.fixtures.email.build_corpus import CORPUS, corpus_file, load
from tickets.models import InboundEmail, Message, OutboundEmail, Ticket


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def run(*args) -> str:
    out = StringIO()
    call_command("email_import", *args, stdout=out)
    return out.getvalue()


def rows(tenant, model, **filters):
    with tenant_context(tenant):
        return list(model.objects.for_tenant(tenant).filter(**filters).order_by("pk"))


@pytest.fixture
def mbox_file(tmp_path):
    path = tmp_path / "export.mbox"
    box = mailbox.mbox(str(path))
    for name in ("plain_new", "gmail_reply", "subject_reference_reply", "auto_reply_ooo"):
        box.add(mailbox.mboxMessage(load(name)))
    box.flush()
    box.close()
    return path


def test_an_mbox_is_imported_in_order_with_original_dates_and_no_mail_to_customers(
    tenant, mbox_file, settings
):
    settings.HELPDESK_EMAIL_RATE_LIMIT = 1  # imports are never rate-limited
    output = run("--tenant", "acme", str(mbox_file))
    assert "Read 4 messages: 3 processed, 1 ignored." in output
    (ticket,) = rows(tenant, Ticket)
    assert ticket.subject == "Printer on fire"
    assert ticket.created_at.isoformat() == "2024-06-10T09:58:03+00:00"  # the Date header
    bodies = [m.body_text for m in rows(tenant, Message, ticket=ticket)]
    assert bodies[1].startswith("It's smoking less now")
    assert bodies[2] == "One more thing: the toner is empty too."
    assert {r.source for r in rows(tenant, InboundEmail)} == {"import"}
    assert rows(tenant, OutboundEmail) == []  # history is never acknowledged


def test_importing_the_same_mbox_twice_stores_nothing_twice(tenant, mbox_file):
    run("--tenant", "acme", str(mbox_file))
    output = run("--tenant", "acme", str(mbox_file))
    assert "Read 4 messages: 4 already imported." in output
    assert len(rows(tenant, InboundEmail)) == 4 and len(rows(tenant, Ticket)) == 1


def test_a_folder_of_eml_files_is_imported(tenant, tmp_path):
    folder = tmp_path / "export"
    (folder / "2024").mkdir(parents=True)
    for name in CORPUS:
        (folder / "2024" / f"{name}.eml").write_bytes(corpus_file(name).read_bytes())
    (folder / "notes.txt").write_text("not mail")
    output = run("--tenant", "acme", str(folder))
    assert output.startswith(f"Read {len(CORPUS)} messages:")
    assert len(rows(tenant, InboundEmail)) == len(CORPUS)
    assert not rows(tenant, InboundEmail, state="received")


def test_one_eml_file_and_the_queue_option(tenant, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        output = run("--tenant", "acme", "--queue", str(corpus_file("latin1_subject")))
    assert "Read 1 messages: 1 received." in output
    (row,) = rows(tenant, InboundEmail)
    assert row.state == "processed"  # by the queued task, after commit


def test_bad_arguments_are_clear_errors(tenant, tmp_path):
    with pytest.raises(CommandError, match="No tenant with the slug 'nope'"):
        run("--tenant", "nope", str(tmp_path))
    with pytest.raises(CommandError, match=r"No \.eml files"):
        run("--tenant", "acme", str(tmp_path))
    with pytest.raises(CommandError, match="does not exist"):
        run("--tenant", "acme", str(tmp_path / "missing.mbox"))
