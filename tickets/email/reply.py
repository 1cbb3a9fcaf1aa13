"""The visible part of a reply: quoted history and signatures stripped (mail-parser-reply).

The full original is never lost: the raw message stays on its ``InboundEmail``; this only decides
what the conversation shows.
"""

from __future__ import annotations

import re

from django.conf import settings
from mailparser_reply.parser import EmailMessage

# The reply parser's regular expressions are costly on huge bodies; the visible reply is at the top.
PARSE_LIMIT = 100_000
# A "signature" longer than this is more likely a false match ("Thanks, ..." in the middle of a
# message) than a signature: keep the text then.
SIGNATURE_MAX_LINES = 10
_QUOTED_TAIL = re.compile(r"(?:\n[ \t]*>[^\n]*|\n[ \t]*)+\Z")


def visible_body(text: str) -> str:
    """The new text of a reply: without the quoted thread below it and without the signature."""
    text = (text or "").replace("\r\n", "\n").strip()
    if not text:
        return ""
    head = text[:PARSE_LIMIT]
    languages = [lang.strip().lower() for lang in settings.HELPDESK_EMAIL_REPLY_LANGUAGES]
    try:
        # Hyphen lists ("- item") are content, not the start of a signature.
        replies = (
            EmailMessage(text=head, languages=languages, keep_hyphen_lists=True).read().replies
        )
    except Exception:  # a parser failure must never lose the message
        return text
    if not replies:
        return text
    reply = replies[0]
    signature_lines = reply.signatures.count("\n") + 1 if reply.signatures else 0
    body = reply.body if signature_lines <= SIGNATURE_MAX_LINES else reply.full_body
    body = _QUOTED_TAIL.sub("", "\n" + body).strip()
    if not body:  # everything looked quoted: show it all rather than nothing
        return reply.full_body.strip() or text
    if len(text) > PARSE_LIMIT and len(replies) == 1:
        return text  # no thread found in the head: the message is simply long
    return body
