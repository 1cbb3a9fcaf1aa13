"""Parse raw RFC 5322 messages with the standard library (``policy=default``), defensively.

Real-world mail is messy: unknown charsets, broken encoded words, missing or duplicated headers,
bad base64. Nothing in this module raises on bad input; a header that cannot be read is treated
as absent, a body part that cannot be decoded is decoded with replacement characters.
"""

from __future__ import annotations

import hashlib
import mimetypes
import os
import re
import unicodedata
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.parser import BytesHeaderParser
from email.utils import getaddresses, parseaddr, parsedate_to_datetime
from html.parser import HTMLParser

MESSAGE_ID_MAX = 255
_MSGID = re.compile(r"<([^<>\s]+)>")
_BARE_MSGID = re.compile(r"^[^<>\s@]+@[^<>\s@]+$")
_HEADER_END = re.compile(rb"\r?\n\r?\n")


@dataclass
class ParsedAttachment:
    filename: str
    content_type: str
    payload: bytes
    content_id: str = ""
    is_inline: bool = False

    @property
    def size(self) -> int:
        return len(self.payload)


@dataclass
class ParsedHeaders:
    """What is needed before the message is stored: who, what, and its identity."""

    message_id: str  # normalised "<id>", or "" when absent/unreadable
    sender: str  # lower-case address, or ""
    sender_name: str
    subject: str


@dataclass
class ParsedEmail:
    message_id: str
    sender: str
    sender_name: str
    subject: str
    to: list[str] = field(default_factory=list)
    cc: list[str] = field(default_factory=list)
    in_reply_to: list[str] = field(default_factory=list)
    references: list[str] = field(default_factory=list)
    date: datetime | None = None
    text: str = ""  # the text/plain body, or the HTML body converted to text
    html: str = ""
    attachments: list[ParsedAttachment] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)  # lower-case name -> first value
    content_type: str = "text/plain"
    report_type: str = ""  # multipart/report; report-type=...
    reported_message_ids: list[str] = field(default_factory=list)  # Message-IDs inside a report
    return_path: str | None = None  # None: no Return-Path header; "" : the null sender <>

    @property
    def thread_ids(self) -> list[str]:
        """In-Reply-To and References, oldest first, the direct parent last, no duplicates."""
        seen: dict[str, None] = {}
        for mid in [*self.references, *self.in_reply_to]:
            seen.pop(mid, None)
            seen[mid] = None
        return list(seen)[-50:]


# --- Headers ------------------------------------------------------------------------------


def _header(msg: EmailMessage, name: str) -> str:
    """The first value of ``name`` as text, or "" when absent or unreadable."""
    try:
        value = msg.get(name)
    except Exception:  # the header parser has known crashes on garbage
        return _raw_header(msg, name)
    if value is None:
        return ""
    try:
        return " ".join(str(value).split())
    except Exception:
        return _raw_header(msg, name)


def _raw_header(msg: EmailMessage, name: str) -> str:
    for key, value in msg.raw_items():
        if key.lower() == name.lower():
            return " ".join(str(value).split())
    return ""


def normalize_message_id(value: str) -> str:
    """``<id@host>`` from a Message-ID header value, or "" when there is none.

    Over-long ids are replaced by a stable digest so that they still fit and still match.
    """
    value = (value or "").strip()
    match = _MSGID.search(value)
    if match:
        mid = f"<{match.group(1)}>"
    elif _BARE_MSGID.match(value):
        mid = f"<{value}>"
    else:
        return ""
    if len(mid) > MESSAGE_ID_MAX:
        digest = hashlib.sha256(mid.encode("utf-8", "surrogateescape")).hexdigest()
        mid = f"<{digest}@long-message-id.invalid>"
    return mid


def message_ids_in(value: str) -> list[str]:
    """Every ``<id>`` of an In-Reply-To or References header, in order."""
    ids = []
    for match in _MSGID.finditer(value or ""):
        mid = normalize_message_id(f"<{match.group(1)}>")
        if mid and mid not in ids:
            ids.append(mid)
    return ids


def synthetic_message_id(raw: bytes) -> str:
    """A stable stand-in for a message without a Message-ID: the same bytes, the same id."""
    return f"<{hashlib.sha256(raw).hexdigest()[:40]}@no-message-id.invalid>"


def _address(msg: EmailMessage, name: str) -> tuple[str, str]:
    """(display name, lower-case address) of a single-address header such as From."""
    with suppress(Exception):  # the header parser has known crashes on garbage
        header = msg.get(name)
        addresses = getattr(header, "addresses", ()) if header is not None else ()
        for address in addresses:
            email = (address.addr_spec or "").strip()
            if _valid_address(email):
                return _clean_text(address.display_name or "")[:200], email.lower()
    display, email = parseaddr(_raw_header(msg, name))
    email = email.strip()
    if _valid_address(email):
        return _clean_text(display)[:200], email.lower()
    return "", ""


def _addresses(msg: EmailMessage, name: str) -> list[str]:
    values = []
    try:
        for header in msg.get_all(name) or []:
            values += [a.addr_spec.lower() for a in getattr(header, "addresses", ())]
    except Exception:
        values = [email.lower() for _, email in getaddresses([_raw_header(msg, name)])]
    return [v for v in values if _valid_address(v)]


_ADDRESS = re.compile(r"^[^@\s<>()\[\],;:\"]+@[^@\s<>()\[\],;:\"]+\.[^@\s<>()\[\],;:\"]+$")


def _valid_address(email: str) -> bool:
    return bool(email) and len(email) <= 254 and bool(_ADDRESS.match(email))


def _clean_text(value: str) -> str:
    """Drop control characters (a header can carry anything) and collapse whitespace."""
    value = "".join(ch for ch in value if unicodedata.category(ch)[0] != "C" or ch in "\t ")
    return " ".join(value.split())


def _date(msg: EmailMessage) -> datetime | None:
    try:
        header = msg.get("Date")
        value = getattr(header, "datetime", None)
        if value is None and header is not None:
            value = parsedate_to_datetime(str(header))
    except Exception:
        return None
    if value is None or value.tzinfo is None:
        return None
    return value


def _header_map(msg: EmailMessage) -> dict[str, str]:
    headers: dict[str, str] = {}
    for key, value in msg.raw_items():
        name = key.lower()
        if name not in headers:
            headers[name] = " ".join(str(value).split())[:1000]
    return headers


def parse_headers(raw: bytes) -> ParsedHeaders:
    """Read only the header block: cheap enough for the webhook's request path.

    The usual shapes of plain ASCII headers are read directly (``_quick_headers``); anything
    else goes through the ``email`` package's header registry, so both ways give the same result.
    """
    match = _HEADER_END.search(raw)
    head = raw[: match.end()] if match else raw[:65536]
    return _quick_headers(head) or _full_headers(head)


def _full_headers(head: bytes) -> ParsedHeaders:
    msg = BytesHeaderParser(policy=policy.default).parsebytes(head)
    name, sender = _address(msg, "From")
    return ParsedHeaders(
        message_id=normalize_message_id(_raw_header(msg, "Message-ID")),
        sender=sender,
        sender_name=name,
        subject=_clean_text(_header(msg, "Subject"))[:500],
    )


# The quick read of a header block: lines split like the email package splits them, a field
# name of printable characters other than ":" (as its parser requires), folded lines joined.
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_FIELD = re.compile(r"^([!-9;-~]+):(.*)$", re.DOTALL)
_QUICK_FIELDS = ("message-id", "from", "subject")
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_ADDR_SPEC = rf"{_ATOM}(?:\.{_ATOM})*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+"
# "Display Name" <addr>, Display Name <addr>, <addr> or addr: the shapes whose reading is not in
# doubt (no comments, groups, escapes or encoded words).
_SIMPLE_FROM = re.compile(
    rf'^(?:"(?P<quoted>[^"\\]*)" ?|(?P<plain>[A-Za-z0-9][A-Za-z0-9 ._\'-]*?) ?)?'
    rf"<(?P<addr>{_ADDR_SPEC})>$|^(?P<bare>{_ADDR_SPEC})$"
)


def _quick_headers(head: bytes) -> ParsedHeaders | None:
    """Message-ID, From and Subject of a plain ASCII header block in their usual shapes, or None
    when anything needs the full parser (8-bit bytes, encoded words, an odd line or address)."""
    if not head.isascii():
        return None
    values: dict[str, list[str]] = {}
    collecting: list[str] | None = None
    seen_field = False
    for line in _LINE_BREAK.split(head.decode("ascii")):
        if not line:
            break  # the blank line after the header block
        if line[0] in " \t":
            if not seen_field:
                return None  # a continuation before any field
            if collecting is not None:
                collecting.append(line)
            continue
        field = _FIELD.match(line)
        if field is None:
            return None  # not a field: the email package has rules for this
        seen_field = True
        name = field[1].lower()
        collecting = None
        if name in _QUICK_FIELDS and name not in values:
            collecting = values[name] = [field[2]]
    found = {name: " ".join(" ".join(parts).split()) for name, parts in values.items()}
    subject, sender = found.get("subject", ""), found.get("from", "")
    if "=?" in subject or "=?" in sender:
        return None  # encoded words
    display, address = "", ""
    if sender:
        simple = _SIMPLE_FROM.match(sender)
        if simple is None:
            return None
        address = simple["addr"] or simple["bare"]
        if not _valid_address(address):
            return None
        display = simple["quoted"] or simple["plain"] or ""
    return ParsedHeaders(
        message_id=normalize_message_id(found.get("message-id", "")),
        sender=address.lower(),
        sender_name=_clean_text(display)[:200],
        subject=_clean_text(subject)[:500],
    )


# --- Bodies -------------------------------------------------------------------------------


def _decode_text(part: EmailMessage) -> str:
    try:
        content = part.get_content()
        if isinstance(content, str):
            return content
    except (LookupError, UnicodeError, ValueError, AssertionError, KeyError, TypeError):
        pass
    payload = part.get_payload(decode=True) or b""
    charset = part.get_content_charset() or "utf-8"
    for candidate in (charset, "utf-8", "cp1252"):
        try:
            return payload.decode(candidate)
        except (LookupError, UnicodeDecodeError):
            continue
    return payload.decode("latin-1")


def _payload(part: EmailMessage) -> bytes:
    if part.get_content_type() in {"message/rfc822", "message/global"}:
        try:
            inner = part.get_payload()
            inner = inner[0] if isinstance(inner, list) else inner
            return inner.as_bytes(policy=policy.SMTP)
        except Exception:
            return str(part.get_payload()).encode("utf-8", "replace")
    try:
        payload = part.get_payload(decode=True)
    except Exception:
        payload = None
    if payload is None:
        raw = part.get_payload()
        if isinstance(raw, str):
            payload = raw.encode("utf-8", "replace")
        elif isinstance(raw, list):  # message/delivery-status: blocks of header fields
            payload = b"\n".join(block.as_bytes(policy=policy.SMTP) for block in raw)
        else:
            payload = b""
    return payload


def _filename(part: EmailMessage, index: int) -> str:
    try:
        name = part.get_filename() or ""
    except Exception:
        name = ""
    if not name:
        try:
            name = part.get_param("name", header="content-type") or ""
            if isinstance(name, tuple):  # RFC 2231 (charset, language, value)
                name = name[2]
        except Exception:
            name = ""
    name = safe_filename(str(name))
    if not name:
        content_type = part.get_content_type()
        if content_type in {"message/rfc822", "message/global"}:
            extension = ".eml"
        else:
            extension = mimetypes.guess_extension(content_type) or ".bin"
        name = f"attachment-{index}{extension}"
    return name


def safe_filename(name: str) -> str:
    """A file name without paths, control or shell-unfriendly characters, at most 200 long."""
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C")
    name = re.sub(r'[<>:"|?*]', "_", name).strip().strip(".")
    if len(name) > 200:
        stem, extension = os.path.splitext(name)
        name = stem[: 200 - len(extension[:20])] + extension[:20]
    return name


def _iter_leaves(part: EmailMessage, inside_related: bool = False):
    """Leaf parts with whether they sit in multipart/related; attached messages stay whole."""
    if part.get_content_maintype() == "multipart" and part.is_multipart():
        related = part.get_content_subtype() == "related"
        for child in part.iter_parts():
            yield from _iter_leaves(child, inside_related or related)
    else:
        yield part, inside_related


class _HtmlToText(HTMLParser):
    """HTML to readable text: blocks become lines, blockquotes become "> " quotes (so that quoted
    history can be recognised and stripped), links keep their address."""

    SKIP = frozenset({"script", "style", "head", "title", "noscript", "template", "svg"})
    BLOCK = frozenset(
        {
            "p",
            "div",
            "br",
            "li",
            "tr",
            "table",
            "ul",
            "ol",
            "h1",
            "h2",
            "h3",
            "h4",
            "h5",
            "h6",
            "blockquote",
            "pre",
            "hr",
            "section",
            "article",
            "header",
            "footer",
            "address",
        }
    )

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = []
        self.current: list[str] = []
        self.skip = 0
        self.quote = 0
        self.pre = 0
        self.href: list[str | None] = []

    # Blocks separated from their neighbours by a blank line (a <div> is just a line).
    PARAGRAPH = frozenset(
        {"p", "ul", "ol", "table", "blockquote", "pre", "hr", "h1", "h2", "h3", "h4", "h5", "h6"}
    )

    def _flush(self, tag: str = "") -> None:
        text = "".join(self.current)
        self.current = []
        prefix = "> " * self.quote
        if not self.pre:
            text = " ".join(text.split())
        if not text:
            last = self.lines[-1].strip("> ") if self.lines else None
            if tag == "br" or (tag in self.PARAGRAPH and last):
                self.lines.append(prefix.rstrip())
            return
        for line in text.split("\n") if self.pre else [text]:
            self.lines.append(prefix + line)

    def handle_starttag(self, tag, attrs):
        if tag in self.SKIP:
            self.skip += 1
            return
        if tag in self.BLOCK:
            self._flush(tag)
        if tag == "blockquote":
            self.quote += 1
        elif tag == "pre":
            self.pre += 1
        elif tag == "li":
            self.current.append("- ")
        elif tag in {"td", "th"} and self.current:
            self.current.append("  ")
        elif tag == "a":
            self.href.append(dict(attrs).get("href"))
        elif tag == "img":
            alt = dict(attrs).get("alt")
            if alt:
                self.current.append(f"[{alt}]")

    def handle_endtag(self, tag):
        if tag in self.SKIP:
            self.skip = max(0, self.skip - 1)
            return
        if tag == "a" and self.href:
            href = self.href.pop()
            text = "".join(self.current).rsplit(" ", 1)[-1] if self.current else ""
            if href and href.startswith(("http://", "https://")) and href not in text:
                self.current.append(f" ({href})")
        if tag in self.BLOCK:
            self._flush(tag)
        if tag == "blockquote":
            self.quote = max(0, self.quote - 1)
        elif tag == "pre":
            self.pre = max(0, self.pre - 1)

    def handle_data(self, data):
        if not self.skip:
            self.current.append(data)

    def text(self) -> str:
        self._flush()
        out: list[str] = []
        for line in self.lines:
            if not line.strip("> ").strip() and out and not out[-1].strip("> ").strip():
                continue  # at most one blank line in a row
            out.append(line.rstrip())
        return "\n".join(out).strip()


def html_to_text(html: str) -> str:
    parser = _HtmlToText()
    try:
        parser.feed(html)
        parser.close()
    except Exception:  # never fail on bad markup
        return re.sub(r"<[^>]+>", " ", html)
    return parser.text()


# --- The whole message --------------------------------------------------------------------


def parse_email(raw: bytes) -> ParsedEmail:
    """Everything the intake needs from a raw message. Never raises on malformed input."""
    msg: EmailMessage = message_from_bytes(raw, policy=policy.default)  # type: ignore[assignment]
    name, sender = _address(msg, "From")
    parsed = ParsedEmail(
        message_id=normalize_message_id(_raw_header(msg, "Message-ID")),
        sender=sender,
        sender_name=name,
        subject=_clean_text(_header(msg, "Subject"))[:500],
        to=_addresses(msg, "To"),
        cc=_addresses(msg, "Cc"),
        in_reply_to=message_ids_in(_header(msg, "In-Reply-To")),
        references=message_ids_in(_header(msg, "References")),
        date=_date(msg),
        headers=_header_map(msg),
        content_type=msg.get_content_type(),
    )
    if "return-path" in parsed.headers:
        parsed.return_path = parseaddr(parsed.headers["return-path"])[1].strip().lower()
    if parsed.content_type == "multipart/report":
        parsed.report_type = (msg.get_param("report-type") or "").lower()

    text_part = html_part = None
    with suppress(Exception):
        text_part = msg.get_body(preferencelist=("plain",))
        html_part = msg.get_body(preferencelist=("html",))
    if text_part is None and html_part is None and msg.get_content_maintype() == "text":
        if msg.get_content_subtype() == "html":
            html_part = msg
        else:
            text_part = msg
    if html_part is not None:
        parsed.html = _decode_text(html_part)
    if text_part is not None:
        parsed.text = _decode_text(text_part).replace("\r\n", "\n")
    elif parsed.html:
        parsed.text = html_to_text(parsed.html)
    body_parts = {id(p) for p in (text_part, html_part) if p is not None}

    index = 0
    for part, inside_related in _iter_leaves(msg):
        if id(part) in body_parts or (part is msg and msg.get_content_maintype() == "text"):
            continue
        content_type = part.get_content_type()
        disposition = part.get_content_disposition()
        if parsed.report_type and content_type in {
            "message/delivery-status",
            "message/rfc822",
            "text/rfc822-headers",
            "message/rfc822-headers",
        }:
            parsed.reported_message_ids += _reported_ids(part)
        if content_type == "text/plain" and disposition is None and not parsed.text:
            parsed.text = _decode_text(part)
            continue
        index += 1
        content_id = normalize_message_id(_header(part, "Content-ID"))
        parsed.attachments.append(
            ParsedAttachment(
                filename=_filename(part, index),
                content_type=content_type[:100],
                payload=_payload(part),
                content_id=content_id.strip("<>"),
                is_inline=disposition == "inline" or (inside_related and bool(content_id)),
            )
        )
    return parsed


def _reported_ids(part: EmailMessage) -> list[str]:
    """Message-IDs of the original message quoted in a delivery or disposition report."""
    if part.get_content_type() == "message/rfc822":
        try:
            inner = part.get_payload()
            inner = inner[0] if isinstance(inner, list) else inner
            return message_ids_in(_header(inner, "Message-ID"))
        except Exception:
            return []
    text = _payload(part).decode("utf-8", "replace")
    ids = []
    for line in text.splitlines():
        if line.lower().startswith(("message-id:", "original-message-id:")):
            ids += message_ids_in(line.split(":", 1)[1])
    return ids
