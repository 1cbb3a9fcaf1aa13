"""Ticket references in subjects: ``Checkout fails [ACME-1042]``."""

from __future__ import annotations

import re

_REPLY_PREFIX = re.compile(
    r"^\s*((re|aw|sv|vs|antw|fw|fwd|wg|tr|rv|enc)\s*(\[\d+\])?\s*:\s*)+", re.IGNORECASE
)


def subject_reference(subject: str, prefix: str) -> int | None:
    """The ticket number of ``[<prefix>-<number>]`` in ``subject``, or None."""
    if not subject or not prefix:
        return None
    match = re.search(rf"\[\s*{re.escape(prefix)}-(\d{{1,9}})\s*\]", subject, re.IGNORECASE)
    return int(match.group(1)) if match else None


def with_reference(subject: str, reference: str) -> str:
    """``subject`` with ``[reference]`` at its end (once)."""
    subject = " ".join((subject or "").split())
    tag = f"[{reference}]"
    if tag.lower() in subject.lower():
        return subject
    return f"{subject} {tag}".strip()


def strip_reply_prefixes(subject: str) -> str:
    """``Re: Fwd: AW: Hello`` -> ``Hello``."""
    return _REPLY_PREFIX.sub("", subject or "").strip()
