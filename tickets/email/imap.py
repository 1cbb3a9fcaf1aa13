"""A small IMAP client (imaplib) for polling a mailbox over TLS, by UID.

Always encrypted: implicit TLS (``IMAP4_SSL``, port 993) when ``use_tls`` is set, otherwise
STARTTLS on the plain port, refused if the server does not offer it. Certificates are verified
(``HELPDESK_IMAP_CA_FILE`` adds a private CA). The folder is opened read-only: messages are
remembered by UID (and UIDVALIDITY), never flagged, moved or deleted.
"""

from __future__ import annotations

import imaplib
import re
import ssl
from collections.abc import Iterator
from dataclasses import dataclass

from django.conf import settings

_UIDVALIDITY = re.compile(rb"UIDVALIDITY (\d+)")
_SIZE = re.compile(rb"RFC822\.SIZE (\d+)")
_UID = re.compile(rb"UID (\d+)")


class ImapError(Exception):
    """Anything that went wrong talking to the server, with a message fit for the admin page."""


@dataclass(frozen=True)
class FetchedMessage:
    uid: int
    size: int
    raw: bytes  # the whole message, or only its header when it is over the size limit
    complete: bool


def _ssl_context() -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=settings.HELPDESK_IMAP_CA_FILE or None)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


def _quote(folder: str) -> str:
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'


class ImapSession:
    """``with ImapSession(...) as imap: imap.fetch_new(...)``."""

    def __init__(
        self, *, host: str, port: int, username: str, password: str, use_tls: bool = True
    ) -> None:
        self.host, self.port, self.use_tls = host, port, use_tls
        self.username, self.password = username, password
        self.client: imaplib.IMAP4 | None = None

    def __enter__(self) -> ImapSession:
        timeout = settings.HELPDESK_IMAP_TIMEOUT
        try:
            if self.use_tls:
                self.client = imaplib.IMAP4_SSL(
                    self.host, self.port, ssl_context=_ssl_context(), timeout=timeout
                )
            else:
                self.client = imaplib.IMAP4(self.host, self.port, timeout=timeout)
                if "STARTTLS" not in self.client.capabilities:
                    raise ImapError("The server does not offer STARTTLS; refusing to log in.")
                self.client.starttls(ssl_context=_ssl_context())
            self.client.login(self.username, self.password)
        except ImapError:
            self._close()
            raise
        except (OSError, imaplib.IMAP4.error, ssl.SSLError) as exc:
            self._close()
            raise ImapError(_describe(exc)) from exc
        return self

    def __exit__(self, *exc_info) -> None:
        self._close()

    def _close(self) -> None:
        if self.client is None:
            return
        try:
            if self.client.state == "SELECTED":
                self.client.close()
            self.client.logout()
        except (OSError, imaplib.IMAP4.error):
            pass
        self.client = None

    def _check(self, typ: str, data, what: str):
        if typ != "OK":
            detail = b" ".join(d for d in data if isinstance(d, bytes)).decode(errors="replace")
            raise ImapError(f"{what} failed: {detail or typ}")
        return data

    def select(self, folder: str) -> int:
        """Open ``folder`` read-only; returns its UIDVALIDITY."""
        assert self.client is not None
        try:
            typ, data = self.client.select(_quote(folder), readonly=True)
            self._check(typ, data, f"Opening folder {folder}")
            _, validity = self.client.response("UIDVALIDITY")
        except imaplib.IMAP4.error as exc:
            raise ImapError(_describe(exc)) from exc
        values = [v for v in validity or [] if v]
        if not values:
            raise ImapError("The server did not report UIDVALIDITY.")
        return int(values[-1])

    def uids_after(self, last_uid: int) -> list[int]:
        assert self.client is not None
        try:
            typ, data = self.client.uid("SEARCH", None, f"UID {last_uid + 1}:*")
            self._check(typ, data, "Searching for new mail")
        except imaplib.IMAP4.error as exc:
            raise ImapError(_describe(exc)) from exc
        uids = sorted({int(u) for u in b" ".join(d or b"" for d in data).split()})
        return [uid for uid in uids if uid > last_uid]  # "n:*" always matches the last message

    def fetch(self, uid: int, *, max_bytes: int) -> FetchedMessage | None:
        """The message ``uid`` (only its header when it is larger than ``max_bytes``)."""
        assert self.client is not None
        try:
            typ, data = self.client.uid("FETCH", str(uid), "(RFC822.SIZE)")
            self._check(typ, data, f"Reading the size of message {uid}")
            size_match = _SIZE.search(b" ".join(_flatten(data)))
            if size_match is None:
                return None  # expunged meanwhile
            size = int(size_match.group(1))
            complete = size <= max_bytes
            section = "BODY.PEEK[]" if complete else "BODY.PEEK[HEADER]"
            typ, data = self.client.uid("FETCH", str(uid), f"({section})")
            self._check(typ, data, f"Fetching message {uid}")
        except imaplib.IMAP4.error as exc:
            raise ImapError(_describe(exc)) from exc
        for item in data:
            if isinstance(item, tuple) and len(item) >= 2 and _UID.search(item[0] or b""):
                return FetchedMessage(uid=uid, size=size, raw=item[1], complete=complete)
        return None

    def fetch_new(self, *, last_uid: int, limit: int, max_bytes: int) -> Iterator[FetchedMessage]:
        for uid in self.uids_after(last_uid)[:limit]:
            message = self.fetch(uid, max_bytes=max_bytes)
            if message is not None:
                yield message


def _flatten(data) -> list[bytes]:
    out: list[bytes] = []
    for item in data:
        if isinstance(item, tuple):
            out.extend(x for x in item if isinstance(x, bytes))
        elif isinstance(item, bytes):
            out.append(item)
    return out


def _describe(exc: BaseException) -> str:
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"TLS certificate not trusted: {exc.verify_message or exc}"
    if isinstance(exc, ssl.SSLError):
        return f"TLS error: {exc.reason or exc}"
    if isinstance(exc, TimeoutError):
        return "The server did not answer in time."
    if isinstance(exc, ConnectionRefusedError):
        return "Connection refused: check the host and port."
    if isinstance(exc, imaplib.IMAP4.error):
        text = str(exc)
        if text.startswith(("b'", 'b"')):
            text = text[2:-1]
        return f"The server said: {text}"
    return f"{type(exc).__name__}: {exc}"
