"""Loop and noise protection: which inbound mail must never open a ticket or get an answer.

- auto-replies: ``Auto-Submitted`` other than ``no`` (RFC 3834), ``X-Autoreply``/``X-Autorespond``,
  ``Precedence: bulk|junk|list|auto_reply``, the out-of-office subjects of common clients;
- bounces and other reports: ``multipart/report`` (delivery and disposition notifications),
  ``X-Failed-Recipients``, mail from MAILER-DAEMON/postmaster, the null sender ``Return-Path: <>``;
- our own mail: sent from one of our own addresses, or carrying a Message-ID we generated.

We also never answer role addresses (no-reply and friends): see ``is_unanswerable_address``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from tickets.email.parse import ParsedEmail

AUTO_REPLY_HEADERS = ("x-autoreply", "x-autorespond", "x-autorespond-id", "x-auto-reply")
NOISY_PRECEDENCE = frozenset({"bulk", "junk", "list", "auto_reply", "auto-reply"})
_AUTO_SUBJECT = re.compile(
    r"^\s*(automatic reply|auto(?:matic)?[- ]?reply|autoreply|out of (?:the )?office|"
    r"abwesenheitsnotiz|r[ée]ponse automatique|respuesta autom[áa]tica)\b",
    re.IGNORECASE,
)
_BOUNCE_LOCALPARTS = frozenset({"mailer-daemon", "postmaster"})
_UNANSWERABLE_LOCALPART = re.compile(
    r"^(no[-_.]?reply|do[-_.]?not[-_.]?reply|mailer-daemon|postmaster|bounces?|"
    r"notifications?|auto[-_.]?reply)([+-].*)?$",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Noise:
    kind: str  # "auto_reply", "bounce" or "own"
    reason: str


def classify_noise(parsed: ParsedEmail, *, own_addresses: set[str]) -> Noise | None:
    """Why ``parsed`` is noise, or None for mail written by a person to us."""
    headers = parsed.headers
    if parsed.sender and parsed.sender in own_addresses:
        return Noise("own", f"sent from our own address {parsed.sender}")
    localpart = parsed.sender.split("@", 1)[0]
    if parsed.content_type == "multipart/report" or parsed.report_type:
        kind = parsed.report_type or "report"
        return Noise("bounce", f"a {kind} report (bounce or receipt)")
    if headers.get("x-failed-recipients"):
        return Noise("bounce", "a bounce (X-Failed-Recipients)")
    if localpart in _BOUNCE_LOCALPARTS:
        return Noise("bounce", f"from {parsed.sender} (a mail system, not a person)")
    auto_submitted = headers.get("auto-submitted", "").split(";", 1)[0].strip().lower()
    if auto_submitted and auto_submitted != "no":
        return Noise("auto_reply", f"an automatic message (Auto-Submitted: {auto_submitted})")
    for name in AUTO_REPLY_HEADERS:
        if name in headers:
            return Noise("auto_reply", f"an automatic reply ({name})")
    precedence = headers.get("precedence", "").strip().lower()
    if precedence in NOISY_PRECEDENCE:
        return Noise("auto_reply", f"bulk or automatic mail (Precedence: {precedence})")
    if _AUTO_SUBJECT.match(parsed.subject or ""):
        return Noise("auto_reply", "an out-of-office reply (subject)")
    if parsed.return_path == "" and "return-path" in headers:
        return Noise("bounce", "sent with the null sender (Return-Path: <>)")
    return None


def is_unanswerable_address(email: str) -> bool:
    """Role addresses that must never get an automatic answer (no-reply, mail systems)."""
    return bool(_UNANSWERABLE_LOCALPART.match(email.split("@", 1)[0]))
