"""Property tests (Hypothesis) for the email parser: it never raises on any input, its results
keep their invariants, and what a well-formed message says comes back out of it."""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import formataddr

from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from tests.fixtures.email.build_corpus import CORPUS, load
from tickets.email.parse import (
    MESSAGE_ID_MAX,
    html_to_text,
    message_ids_in,
    normalize_message_id,
    parse_email,
    parse_headers,
    safe_filename,
)
from tickets.email.references import strip_reply_prefixes, subject_reference, with_reference
from tickets.email.reply import visible_body

PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Lines that look like mail: header-ish, boundary-ish and encoded-word-ish fragments.
MAIL_TOKENS = st.sampled_from(
    [
        b"From: ",
        b"To: ",
        b"Subject: ",
        b"Message-ID: <",
        b"In-Reply-To: ",
        b"References: ",
        b'Content-Type: multipart/mixed; boundary="b"',
        b"Content-Type: text/html; charset=",
        b"Content-Transfer-Encoding: base64",
        b"Content-Transfer-Encoding: quoted-printable",
        b'Content-Disposition: attachment; filename="',
        b"--b",
        b"--b--",
        b"=?utf-8?b?",
        b"=?iso-8859-1?q?",
        b"?=",
        b"\r\n",
        b"\n",
        b"\r\n\r\n",
        b"<",
        b">",
        b"@",
        b'"',
        b"=",
        b"\x00",
        b"\xff\xfe",
    ]
)
MAILISH_BYTES = st.lists(st.one_of(MAIL_TOKENS, st.binary(max_size=20)), max_size=60).map(b"".join)


def assert_invariants(parsed) -> None:
    assert len(parsed.subject) <= 500
    assert "\n" not in parsed.subject and "\r" not in parsed.subject
    assert parsed.message_id == "" or (
        parsed.message_id.startswith("<")
        and parsed.message_id.endswith(">")
        and len(parsed.message_id) <= MESSAGE_ID_MAX
        and not any(ch.isspace() for ch in parsed.message_id)
    )
    assert parsed.sender == "" or ("@" in parsed.sender and parsed.sender == parsed.sender.lower())
    assert len(parsed.sender_name) <= 200
    assert len(parsed.thread_ids) <= 50
    assert all(mid.startswith("<") and mid.endswith(">") for mid in parsed.thread_ids)
    assert isinstance(parsed.text, str) and isinstance(parsed.html, str)
    for attachment in parsed.attachments:
        assert isinstance(attachment.payload, bytes)
        assert len(attachment.content_type) <= 100
        assert "/" not in attachment.filename and "\\" not in attachment.filename


@PROPERTY
@given(st.binary(max_size=2000))
@example(b"")
@example(b"From: \r\n\r\n")
@example(b"Subject: =?utf-8?b?/w==?=\r\n\r\n")
def test_any_bytes_parse_without_raising(raw):
    parsed = parse_email(raw)
    assert_invariants(parsed)
    head = parse_headers(raw)
    assert (head.message_id, head.sender, head.subject) == (
        parsed.message_id,
        parsed.sender,
        parsed.subject,
    )


@PROPERTY
@given(MAILISH_BYTES)
def test_mail_shaped_garbage_parses_without_raising(raw):
    assert_invariants(parse_email(raw))


@PROPERTY
@given(st.sampled_from(sorted(CORPUS)), st.data())
def test_damaged_real_messages_parse_without_raising(name, data):
    raw = bytearray(load(name))
    for _ in range(data.draw(st.integers(1, 8))):
        position = data.draw(st.integers(0, max(len(raw) - 1, 0)))
        action = data.draw(st.sampled_from(["flip", "cut", "insert"]))
        if action == "flip" and raw:
            raw[position] ^= data.draw(st.integers(1, 255))
        elif action == "cut":
            del raw[position:]
        else:
            raw[position:position] = data.draw(MAILISH_BYTES)
    assert_invariants(parse_email(bytes(raw)))


# Header text without control and format characters (the parser drops those by design).
HEADER_TEXT = st.text(st.characters(blacklist_categories=("C", "Zl", "Zp")), max_size=120)
LOCAL = st.from_regex(r"[a-z0-9][a-z0-9._+-]{0,20}", fullmatch=True)
DOMAIN = st.from_regex(r"[a-z0-9]{1,20}\.(com|org|test|example)", fullmatch=True)


@PROPERTY
@given(
    subject=HEADER_TEXT,
    name=HEADER_TEXT,
    local=LOCAL,
    domain=DOMAIN,
    body=st.text(max_size=500),
    message_id=st.from_regex(r"[a-z0-9.$-]{1,40}@[a-z0-9.-]{1,30}", fullmatch=True),
)
def test_what_a_well_formed_message_says_comes_back(subject, name, local, domain, body, message_id):
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = formataddr((name, f"{local}@{domain}"))
    message["To"] = "support@acme.test"
    message["Message-ID"] = f"<{message_id}>"
    message.set_content(body)
    parsed = parse_email(message.as_bytes())
    assert_invariants(parsed)
    assert parsed.subject == " ".join(subject.split())[:500]
    assert parsed.sender == f"{local}@{domain}"
    assert parsed.message_id == f"<{message_id}>"
    assert parsed.to == ["support@acme.test"]
    # The body comes back (line endings normalised; set_content adds a final newline).
    normalised = body.replace("\r\n", "\n").replace("\r", "\n")
    assert parsed.text.rstrip("\n") == normalised.rstrip("\n") or not normalised.strip()


@PROPERTY
@given(st.text(max_size=300))
def test_file_names_never_carry_paths_or_control_characters(name):
    safe = safe_filename(name)
    assert "/" not in safe and "\\" not in safe
    assert not any(ord(ch) < 32 or ord(ch) == 127 for ch in safe)
    assert len(safe) <= 200
    assert not safe.startswith(".")


@PROPERTY
@given(st.text(max_size=400))
def test_message_ids_are_normalised_and_bounded(value):
    for mid in [normalize_message_id(value), *message_ids_in(value)]:
        if mid:
            assert mid.startswith("<") and mid.endswith(">") and len(mid) <= MESSAGE_ID_MAX
            assert normalize_message_id(mid) == mid  # idempotent


@PROPERTY
@given(st.text(max_size=2000))
def test_html_to_text_and_reply_stripping_never_raise(text):
    assert isinstance(html_to_text(text), str)
    assert isinstance(visible_body(text), str)
    assert "<script" not in html_to_text(f"<p>x</p><script>{text}</script>").lower()


@PROPERTY
@given(HEADER_TEXT, st.integers(1, 999_999_999))  # ticket numbers have at most nine digits
def test_a_reference_added_to_a_subject_is_found_again(subject, number):
    assume("[" not in subject)  # another reference already in it would be found first
    tagged = with_reference(subject, f"ACME-{number}")
    assert subject_reference(tagged, "ACME") == number
    assert subject_reference(strip_reply_prefixes(f"Re: {tagged}"), "ACME") == number
