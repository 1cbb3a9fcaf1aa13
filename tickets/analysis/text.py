"""Text preparation: keep what the customer wrote in this message, nothing else.

Quoted email history ("On ... wrote:", "-----Original Message-----", "> " lines), signatures
("-- ", "Sent from my iPhone", sign-off blocks such as "Best regards,\\nPaul") and legal footers are
cut before any analysis, so "thanks for your patience" quoted from the agent's last reply is not
read as the customer's gratitude.
"""

from __future__ import annotations

import re

_QUOTE_HEADERS = re.compile(
    r"^\s*(?:"
    r"on\b.{0,200}\bwrote:\s*$"  # On Mon, 3 Mar 2026 at 10:12, Support <...> wrote:
    r"|-{2,}\s*original message\s*-{2,}"
    r"|-{2,}\s*forwarded message\s*-{2,}"
    r"|_{5,}\s*$"
    r"|from:\s.+"  # Outlook reply header block
    r"|am .{0,80} schrieb .{0,200}:\s*$"
    r"|le .{0,80} a écrit\s*:\s*$"
    r")",
    re.IGNORECASE,
)
_SIGNATURE_START = re.compile(
    r"^\s*(?:--\s*|sent from my \w+.*|sent from (?:outlook|mail|yahoo|gmail).*"
    r"|this (?:e-?mail|message) (?:and any attachments )?(?:is|was|may).*"
    r"|get outlook for .*)$",
    re.IGNORECASE,
)
_SIGN_OFF = re.compile(
    r"^\s*(?:(?:kind|best|warm|warmest|many)\s+(?:regards|wishes|thanks)|regards|best|cheers"
    r"|thanks|thank you|thanks again|thx|many thanks|sincerely|yours (?:sincerely|faithfully|truly)"
    r"|all the best|br|kr|talk soon)\s*[,.!]*\s*$",
    re.IGNORECASE,
)
_MENTION = re.compile(r"(?<![\w@])@\w{1,30}")
_URL = re.compile(r"https?://\S+|www\.\S+", re.IGNORECASE)
_EMAIL = re.compile(r"\b[\w.+-]+@[\w-]+\.[\w.-]+\b")
_SPACES = re.compile(r"[ \t]+")


def strip_quoted(text: str) -> str:
    """The new part of a message: no quoted history, no signature, no sign-off block."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    kept: list[str] = []
    for line in text.split("\n"):
        if _QUOTE_HEADERS.match(line) and kept:
            break
        if _SIGNATURE_START.match(line):
            break
        if line.lstrip().startswith(">"):
            continue
        kept.append(line)
    # A sign-off line ("Best,", "Thanks!") followed only by a few short lines (name, title,
    # phone) ends the message; it is not the first line of content.
    content = [i for i, line in enumerate(kept) if line.strip()]
    for position, index in enumerate(content):
        if position == 0:
            continue
        if _SIGN_OFF.match(kept[index]):
            rest = [kept[i] for i in content[position + 1 :]]
            if len(rest) <= 4 and all(len(line.strip()) <= 60 for line in rest):
                kept = kept[:index]
                break
    return "\n".join(kept).strip()


def normalise(text: str) -> str:
    """One line of plain text for the models: no handles, links or email addresses."""
    text = _URL.sub(" ", text)
    text = _EMAIL.sub(" ", text)
    text = _MENTION.sub(" ", text)
    text = text.replace("\n", " ")
    return _SPACES.sub(" ", text).strip()


def prepare(text: str) -> str:
    return normalise(strip_quoted(text or ""))
