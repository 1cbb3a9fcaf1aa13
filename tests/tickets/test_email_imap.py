"""The IMAP poller against a real IMAP server: a private dovecot started for this module on
127.0.0.1 (implicit TLS and STARTTLS, a self-signed certificate made with openssl, passwd-file
users). Debian's ``dovecot-imapd`` provides it; ``.ci/run`` installs it."""

from __future__ import annotations

import getpass
import grp
import imaplib
import os
import pwd
import shutil
import socket
import ssl
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from helpdesk.tenancy.context import tenant_context
from tests.fixtures.email.build_corpus import big_attachment, load
from tickets import services
from tickets.models import InboundEmail, Mailbox, Ticket
from tickets.tasks import mailbox_poll_fanout_task, mailbox_poll_task

DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"
USERS = {"helpdesk@acme.test": "imap-pass-acme", "helpdesk@globex.test": "imap-pass-globex"}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Dovecot:
    """A throw-away dovecot: its own config, state, mail and certificate in a temporary folder."""

    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="helpdesk-dovecot-"))
        self.dir.chmod(0o755)  # the login processes run as another user when we are root
        self.tls_port, self.plain_port = _free_port(), _free_port()
        self.ca_file = str(self.dir / "cert.pem")
        self.config = self.dir / "dovecot.conf"

    def start(self) -> None:
        d = self.dir
        for sub in ("run", "state", "mail"):
            (d / sub).mkdir()
        subprocess.run(
            [
                "openssl", "req", "-x509", "-newkey", "ec",
                "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                "-keyout", str(d / "key.pem"), "-out", self.ca_file, "-days", "1",
                "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
            ],
            check=True,
            capture_output=True,
        )  # fmt: skip
        (d / "key.pem").chmod(0o644)
        (d / "passwd").write_text(
            "".join(f"{user}:{{PLAIN}}{password}\n" for user, password in USERS.items())
        )
        if os.getuid() == 0:  # as root: mail belongs to the package's unprivileged user
            mail_user, mail_group = "dovecot", "dovecot"
            shutil.chown(d / "mail", mail_user, mail_group)
            privileges = "first_valid_uid = 1\nfirst_valid_gid = 1\n"
        else:  # as a normal user: everything runs as that user
            mail_user, mail_group = getpass.getuser(), grp.getgrgid(os.getgid()).gr_name
            privileges = (
                f"default_login_user = {mail_user}\ndefault_internal_user = {mail_user}\n"
                f"default_internal_group = {mail_group}\n"
                f"first_valid_uid = {os.getuid()}\nfirst_valid_gid = {os.getgid()}\n"
                "service imap-login {\n  chroot =\n}\nservice anvil {\n  chroot =\n}\n"
            )
        uid, gid = pwd.getpwnam(mail_user).pw_uid, grp.getgrnam(mail_group).gr_gid
        self.config.write_text(
            f"""protocols = imap
listen = 127.0.0.1
base_dir = {d}/run
state_dir = {d}/state
log_path = {d}/dovecot.log
ssl = required
ssl_cert = <{d}/key.pem
ssl_key = <{d}/key.pem
auth_mechanisms = plain
disable_plaintext_auth = yes
mail_location = maildir:{d}/mail/%u
{privileges}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN {d}/passwd
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={d}/mail/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {self.plain_port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {self.tls_port}
    ssl = yes
  }}
}}
""".replace("ssl_cert = <" + str(d) + "/key.pem", f"ssl_cert = <{self.ca_file}")
        )
        # dovecot daemonises: its output must not be a pipe that we would wait on forever
        subprocess.run(
            [DOVECOT, "-c", str(self.config)],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=30,
        )
        deadline = time.monotonic() + 15
        while True:
            try:
                with self.client():
                    return
            except (OSError, imaplib.IMAP4.error):
                if time.monotonic() > deadline:
                    raise RuntimeError(self.log()) from None
                time.sleep(0.1)

    def log(self) -> str:
        path = self.dir / "dovecot.log"
        return path.read_text() if path.exists() else "(no dovecot log)"

    def stop(self) -> None:
        subprocess.run(
            [DOVECOT, "-c", str(self.config), "stop"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=30,
            check=False,
        )
        shutil.rmtree(self.dir, ignore_errors=True)

    def client(self, user: str = "helpdesk@acme.test") -> imaplib.IMAP4_SSL:
        context = ssl.create_default_context(cafile=self.ca_file)
        client = imaplib.IMAP4_SSL("127.0.0.1", self.tls_port, ssl_context=context, timeout=10)
        client.login(user, USERS[user])
        return client

    def append(self, raw: bytes, *, user: str = "helpdesk@acme.test", folder="INBOX") -> None:
        with self.client(user) as client:
            client.create(folder)  # NO if it exists: fine
            typ, data = client.append(folder, None, None, raw)
            assert typ == "OK", data

    def recreate(self, folder: str, *, user: str = "helpdesk@acme.test") -> None:
        with self.client(user) as client:
            client.delete(folder)
            assert client.create(folder)[0] == "OK"

    def flags(self, *, user: str = "helpdesk@acme.test", folder="INBOX") -> list[bytes]:
        with self.client(user) as client:
            client.select(folder, readonly=True)
            _, data = client.fetch("1:*", "(FLAGS)")
            return [d for d in data if d]


@pytest.fixture(scope="module")
def dovecot():
    if not Path(DOVECOT).exists() or not shutil.which("openssl"):
        pytest.skip("needs dovecot-imapd and openssl: apt-get install -y dovecot-imapd")
    server = Dovecot()
    try:
        server.start()
        yield server
    finally:
        server.stop()


@pytest.fixture(autouse=True)
def _settings(settings, tmp_path, dovecot):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.HELPDESK_IMAP_CA_FILE = dovecot.ca_file
    settings.HELPDESK_IMAP_TIMEOUT = 10


_folders = iter(range(1, 10_000))


@pytest.fixture
def folder(dovecot):
    """A fresh folder per test (the server lives for the whole module)."""
    name = f"Support{next(_folders)}"
    for user in USERS:
        dovecot.recreate(name, user=user)
    return name


def mailbox_for(tenant, dovecot, folder, *, user="helpdesk@acme.test", **overrides) -> Mailbox:
    fields = {
        "host": "127.0.0.1",
        "port": dovecot.tls_port,
        "username": user,
        "password": USERS[user],
        "folder": folder,
        "use_tls": True,
    }
    fields.update(overrides)
    return services.mailbox_create(tenant=tenant, actor=None, **fields)


def reload(tenant, mailbox) -> Mailbox:
    with tenant_context(tenant):
        return Mailbox.objects.for_tenant(tenant).get(pk=mailbox.pk)


def inbound_rows(tenant):
    with tenant_context(tenant):
        return list(InboundEmail.objects.for_tenant(tenant).order_by("pk"))


def test_new_mail_is_read_over_tls_processed_and_never_read_twice(
    tenant, dovecot, folder, django_capture_on_commit_callbacks
):
    for name in ("plain_new", "gmail_reply", "auto_reply_ooo"):
        dovecot.append(load(name), folder=folder)
    mailbox = mailbox_for(tenant, dovecot, folder)

    with django_capture_on_commit_callbacks(execute=True):
        outcome = services.mailbox_poll(tenant=tenant, mailbox=mailbox)
    assert (outcome.error, outcome.fetched, outcome.stored, outcome.duplicates) == ("", 3, 3, 0)
    assert [(r.source, r.state) for r in inbound_rows(tenant)] == [
        ("imap", "processed"),
        ("imap", "processed"),
        ("imap", "ignored"),
    ]
    with tenant_context(tenant):
        (ticket,) = Ticket.objects.for_tenant(tenant)
        assert ticket.subject == "Printer on fire" and ticket.message_count == 2
    row = reload(tenant, mailbox)
    assert (row.last_uid, row.last_error) == (3, "")
    assert row.uid_validity and row.last_polled_at

    again = services.mailbox_poll(tenant=tenant, mailbox=mailbox)
    assert (again.fetched, again.stored) == (0, 0)

    dovecot.append(load("subject_reference_reply"), folder=folder)
    later = services.mailbox_poll(tenant=tenant, mailbox=mailbox)
    assert (later.fetched, later.stored) == (1, 1)
    assert reload(tenant, mailbox).last_uid == 4
    assert len(inbound_rows(tenant)) == 4
    # read-only: nothing was flagged, moved or deleted
    flags = dovecot.flags(folder=folder)
    assert len(flags) == 4 and not any(b"\\Seen" in f for f in flags)


def test_starttls_on_the_plain_port_works_too(tenant, dovecot, folder):
    dovecot.append(load("plain_new"), folder=folder)
    mailbox = mailbox_for(tenant, dovecot, folder, port=dovecot.plain_port, use_tls=False)
    outcome = services.mailbox_poll(tenant=tenant, mailbox=mailbox)
    assert (outcome.error, outcome.stored) == ("", 1)


def test_an_untrusted_certificate_is_refused_and_recorded(tenant, dovecot, folder, settings):
    settings.HELPDESK_IMAP_CA_FILE = ""  # the system's trust store does not know our test CA
    dovecot.append(load("plain_new"), folder=folder)
    mailbox = mailbox_for(tenant, dovecot, folder)
    outcome = services.mailbox_poll(tenant=tenant, mailbox=mailbox)
    assert outcome.error.startswith("TLS certificate not trusted")
    assert reload(tenant, mailbox).last_error == outcome.error
    assert inbound_rows(tenant) == []


def test_a_wrong_password_is_recorded_on_the_mailbox(tenant, dovecot, folder):
    mailbox = mailbox_for(tenant, dovecot, folder, password="wrong")
    outcome = services.mailbox_poll(tenant=tenant, mailbox=mailbox)
    assert "AUTHENTICATIONFAILED" in outcome.error
    assert reload(tenant, mailbox).last_error == outcome.error
    # the error clears once the admin fixes the password and the next poll succeeds
    services.mailbox_update(
        tenant=tenant, actor=None, mailbox=mailbox, password=USERS["helpdesk@acme.test"]
    )
    assert services.mailbox_poll(tenant=tenant, mailbox=mailbox).error == ""
    assert reload(tenant, mailbox).last_error == ""


def test_a_missing_folder_and_a_closed_port_are_recorded(tenant, dovecot):
    mailbox = mailbox_for(tenant, dovecot, "NoSuchFolder")
    assert "Opening folder NoSuchFolder failed" in (
        services.mailbox_poll(tenant=tenant, mailbox=mailbox).error
    )
    closed = mailbox_for(tenant, dovecot, "INBOX", port=_free_port())
    assert services.mailbox_poll(tenant=tenant, mailbox=closed).error == (
        "Connection refused: check the host and port."
    )


def test_a_new_uidvalidity_starts_over_without_storing_anything_twice(tenant, dovecot, folder):
    dovecot.append(load("plain_new"), folder=folder)
    dovecot.append(load("gmail_reply"), folder=folder)
    mailbox = mailbox_for(tenant, dovecot, folder)
    assert services.mailbox_poll(tenant=tenant, mailbox=mailbox).stored == 2
    validity = reload(tenant, mailbox).uid_validity

    dovecot.recreate(folder)  # the server renumbers the folder: same mail, new UIDs
    for name in ("plain_new", "gmail_reply", "latin1_subject"):
        dovecot.append(load(name), folder=folder)
    outcome = services.mailbox_poll(tenant=tenant, mailbox=mailbox)
    assert (outcome.fetched, outcome.stored, outcome.duplicates) == (3, 1, 2)
    row = reload(tenant, mailbox)
    assert row.uid_validity != validity and row.last_uid == 3
    assert len(inbound_rows(tenant)) == 3


def test_an_oversized_message_is_refused_from_its_header_alone(tenant, dovecot, folder, settings):
    settings.HELPDESK_EMAIL_MAX_BYTES = 1024 * 1024
    dovecot.append(big_attachment(2), folder=folder)
    mailbox = mailbox_for(tenant, dovecot, folder)
    outcome = services.mailbox_poll(tenant=tenant, mailbox=mailbox)
    assert (outcome.fetched, outcome.refused, outcome.stored) == (1, 1, 0)
    (row,) = inbound_rows(tenant)
    assert (row.state, row.source, row.sender) == ("rejected", "imap", "big@example.com")
    assert row.reason.startswith("Too large: the message is 2.7 MB")
    assert not row.raw


def test_a_paused_mailbox_is_not_read(tenant, dovecot, folder):
    dovecot.append(load("plain_new"), folder=folder)
    mailbox = mailbox_for(tenant, dovecot, folder)
    services.mailbox_update(tenant=tenant, actor=None, mailbox=mailbox, is_active=False)
    assert services.mailbox_poll(tenant=tenant, mailbox=mailbox).skipped == "paused"
    assert inbound_rows(tenant) == []


def test_the_beat_fan_out_polls_every_tenants_mailboxes_into_their_own_tenant(
    tenant, other_tenant, dovecot, folder
):
    dovecot.append(load("plain_new"), folder=folder)
    dovecot.append(load("latin1_subject"), user="helpdesk@globex.test", folder=folder)
    acme = mailbox_for(tenant, dovecot, folder)
    globex = mailbox_for(other_tenant, dovecot, folder, user="helpdesk@globex.test")
    paused = mailbox_for(tenant, dovecot, "INBOX")
    services.mailbox_update(tenant=tenant, actor=None, mailbox=paused, is_active=False)

    assert mailbox_poll_fanout_task() == 2  # tasks run in-process in tests
    assert [r.subject for r in inbound_rows(tenant)] == ["Printer on fire"]
    assert [r.subject for r in inbound_rows(other_tenant)] == ["Rechnung für März doppelt"]
    assert reload(tenant, acme).last_uid == 1 and reload(other_tenant, globex).last_uid == 1
    # a task never reaches another tenant's mailbox, whatever id it is given
    assert mailbox_poll_task(tenant.pk, globex.pk) == {"mailbox": globex.pk, "skipped": "missing"}
