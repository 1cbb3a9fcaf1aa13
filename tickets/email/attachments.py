"""Which attachments are kept, and how they are served back (type and size limits)."""

from __future__ import annotations

import mimetypes
import os
import uuid

from django.conf import settings

from tickets.email.parse import ParsedAttachment

# Executables and scripts: never stored, whatever the sender claims the type is.
BLOCKED_EXTENSIONS = frozenset(
    {
        ".exe",
        ".com",
        ".bat",
        ".cmd",
        ".scr",
        ".pif",
        ".cpl",
        ".msi",
        ".msp",
        ".dll",
        ".vbs",
        ".vbe",
        ".js",
        ".jse",
        ".wsf",
        ".wsh",
        ".ps1",
        ".hta",
        ".jar",
        ".lnk",
        ".reg",
        ".scf",
        ".sh",
        ".app",
        ".dmg",
        ".iso",
    }
)
BLOCKED_TYPES = frozenset(
    {
        "application/x-msdownload",
        "application/x-msdos-program",
        "application/x-dosexec",
        "application/x-executable",
        "application/x-sh",
        "application/x-ms-installer",
        "application/hta",
        "application/javascript",
        "text/javascript",
    }
)
# Served with their own type (download only, never rendered by us); anything else is served as
# application/octet-stream.
SAFE_TYPES = frozenset(
    {
        "application/pdf",
        "application/zip",
        "application/json",
        "application/msword",
        "application/vnd.ms-excel",
        "application/vnd.ms-powerpoint",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        "application/vnd.oasis.opendocument.text",
        "application/vnd.oasis.opendocument.spreadsheet",
        "image/png",
        "image/jpeg",
        "image/gif",
        "image/webp",
        "image/heic",
        "text/plain",
        "text/csv",
        "text/calendar",
        "audio/mpeg",
        "video/mp4",
        "message/rfc822",
    }
)


def attachment_refusal(attachment: ParsedAttachment, *, kept_so_far: int) -> str | None:
    """Why ``attachment`` is not stored, or None to store it."""
    extension = os.path.splitext(attachment.filename)[1].lower()
    if extension in BLOCKED_EXTENSIONS or attachment.content_type.lower() in BLOCKED_TYPES:
        return f"{attachment.filename}: blocked file type"
    if attachment.size > settings.HELPDESK_EMAIL_ATTACHMENT_MAX_BYTES:
        limit = megabytes(settings.HELPDESK_EMAIL_ATTACHMENT_MAX_BYTES)
        return f"{attachment.filename}: {megabytes(attachment.size)}, over the {limit} limit"
    if kept_so_far >= settings.HELPDESK_EMAIL_MAX_ATTACHMENTS:
        return f"{attachment.filename}: more than {settings.HELPDESK_EMAIL_MAX_ATTACHMENTS} files"
    return None


def storage_name(filename: str) -> str:
    """A random name for the stored file (the original name is kept on the row)."""
    extension = os.path.splitext(filename)[1].lower()
    if not extension.isascii() or len(extension) > 10 or not extension[1:].isalnum():
        extension = ".bin"
    return f"{uuid.uuid4().hex}{extension}"


def served_content_type(content_type: str, filename: str) -> str:
    """The Content-Type a download is served with: known harmless types only."""
    content_type = (content_type or "").lower().split(";", 1)[0].strip()
    if content_type in SAFE_TYPES:
        return content_type
    guessed = mimetypes.guess_type(filename)[0] or ""
    return guessed if guessed in SAFE_TYPES and not content_type else "application/octet-stream"


def megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MB"
