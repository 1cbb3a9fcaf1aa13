"""Email parsing, reply stripping, noise detection and references: plain Python, no database."""

from __future__ import annotations

import pytest

from tests.fixtures.email.build_corpus import JANE_FIRST_ID, OUR_REPLY_ID, load
from tickets.email.attachments import attachment_refusal, served_content_type, storage_name
from tickets.email.compose import references_header
from tickets.email.noise import classify_noise, is_unanswerable_address
from tickets.email.parse import (
    ParsedAttachment,
    _full_headers,
    _quick_headers,
    html_to_text,
    message_ids_in,
    normalize_message_id,
    parse_email,
    parse_headers,
    safe_filename,
    synthetic_message_id,
)
from tickets.email.references import strip_reply_prefixes, subject_reference, with_reference
from tickets.email.reply import visible_body

OWN = {"support@acme.test"}


def test_plain_text_mail_gives_sender_subject_ids_and_date():
    parsed = parse_email(load("plain_new"))
    assert parsed.message_id == JANE_FIRST_ID
    assert (parsed.sender, parsed.sender_name) == ("jane.doe@example.com", "Jane Doe")
    assert parsed.subject == "Printer on fire"
    assert parsed.to == ["support@acme.test"]
    assert parsed.date.isoformat() == "2024-06-10T11:58:03+02:00"
    assert "on fire again" in parsed.text
    assert parsed.attachments == []


def test_the_header_scan_agrees_with_the_full_parse_on_every_corpus_message():
    from tests.fixtures.email.build_corpus import CORPUS

    for name in CORPUS:
        raw = load(name)
        quick, full = parse_headers(raw), parse_email(raw)
        assert (quick.message_id, quick.sender, quick.subject) == (
            full.message_id,
            full.sender,
            full.subject,
        ), name


# Header blocks and whether the webhook's quick read may take them (else the email package does).
HEADER_SHAPES = [
    ("From: Load Customer 12 <c12@load.example>\r\nSubject: Order 1\r\nMessage-ID: <a@b.c>", True),
    ('From: "Doe, Jane (Sales)" <Jane.Doe@Example.com>\r\nSubject: Hi', True),
    ("From: Jane Q. Doe <j@x.org>", True),
    ("From: O'Brien-Smith_2 <o@x.org>", True),
    ("From: <j@x.org>", True),
    ('From: "" <j@x.org>', True),
    ("From: j@x.org", True),
    ("From: Jane   Doe   <j@x.org>", True),
    (
        "From: Jane\r\n Doe <j@x.org>\r\nSubject: folded\r\n\tsubject  here\r\nMessage-ID:\r\n <f@x.org>",
        True,
    ),
    (
        "Received: from a\r\n\tby b\r\nFrom: A <a@b.co>\r\nFrom: B <b@b.co>\r\nSubject: 1\r\nSubject: 2",
        True,
    ),
    ("From: Jane <j@x.org>\r\nSubject: tab\there \x01 control", True),
    ("From: Jane <j@x.org>\nSubject: LF only\nMessage-ID: <lf@x.org>", True),
    ("Message-ID: bare@x.org\r\nFrom: Jane<J@X.ORG>\r\nSubject:", True),
    ("Subject: no sender", True),
    ("From: j@x.org (Jane Doe)", False),
    ("From: a..b@x.org", False),
    ("From: Jane <j@localhost>", False),
    ("From: Undisclosed recipients:;", False),
    ("From: Jane <j@x.org>, Bob <b@x.org>", False),
    ("From: =?utf-8?q?J=C3=A9r=C3=B4me?= <j@x.org>", False),
    ("From: j@x.org\r\nSubject: =?utf-8?b?SGVsbG8=?=", False),
    ("From: Ren\u00e9e <r@x.org>", False),
    ("From sender@x.org Mon Jan  1 00:00:00 2024\r\nFrom: j@x.org", False),
    (" continuation first\r\nFrom: j@x.org", False),
    ("Subject : spaced\r\nFrom: j@x.org", False),
    ("From: j@x.org\r\nnot a field\r\nSubject: x", False),
]


@pytest.mark.parametrize(("head", "quick"), HEADER_SHAPES)
def test_the_quick_header_read_agrees_with_the_email_package_or_steps_aside(head, quick):
    raw = head.encode("utf-8") + b"\r\n\r\nBody\r\n"
    assert (_quick_headers(raw) is not None) is quick
    assert parse_headers(raw) == _full_headers(raw)


def test_usual_mail_takes_the_quick_header_read():
    for name in ("plain_new", "gmail_reply", "outlook_reply", "bounce_dsn", "attachments_inline"):
        raw = load(name)
        assert _quick_headers(raw[: raw.index(b"\r\n\r\n") + 4]) is not None, name


def test_multipart_alternative_prefers_the_plain_part_decoded_from_quoted_printable():
    parsed = parse_email(load("multipart_alternative_qp"))
    assert parsed.sender_name == "Renée François"
    assert parsed.subject == "Commande arrivée cassée"
    assert "arrivée cassée 😢" in parsed.text
    assert "<p>" not in parsed.text
    assert "<p>Bonjour,</p>" in parsed.html


def test_html_only_mail_is_converted_to_readable_text():
    parsed = parse_email(load("html_only_base64"))
    text = parsed.text
    assert "alert(" not in text and "color:red" not in text and "Web shop" not in text
    assert "Order #9911 was charged twice." in text
    assert "- First charge: 49.00 EUR\n- Second charge: 49.00 EUR" in text
    assert "view receipt (https://shop.example/receipts/9911)" in text


@pytest.mark.parametrize(
    ("name", "subject", "words"),
    [
        ("latin1_subject", "Rechnung für März doppelt", "Grüßen\nJürgen Müller"),
        ("utf8_subject_b64", "订单 #77 还没到 📦", "请帮忙查一下"),
    ],
)
def test_encoded_subjects_and_bodies_in_any_charset(name, subject, words):
    parsed = parse_email(load(name))
    assert parsed.subject == subject
    assert words in parsed.text


def test_broken_headers_and_an_unknown_charset_do_not_stop_parsing():
    parsed = parse_email(load("broken_headers"))
    assert parsed.sender == "broken@example.com"
    assert parsed.subject == ""
    assert parsed.date is None  # "yesterday at noon"
    assert parsed.to == ["support@acme.test"]
    assert "Café au lait please." in parsed.text  # decoded despite the unknown charset


def test_a_message_without_from_has_no_sender():
    assert parse_email(load("no_sender")).sender == ""


def test_garbage_is_parsed_without_raising():
    for raw in [
        b"\x00\xff\xfe garbage",
        b"no headers at all",
        b"From:\r\n\r\n",
        b"Subject: \xff\r\n",
    ]:
        parsed = parse_email(raw)
        assert parsed.sender == ""


def test_attachments_inline_images_and_rfc2231_names():
    parsed = parse_email(load("attachments_inline"))
    by_name = {a.filename: a for a in parsed.attachments}
    assert set(by_name) == {
        "screenshot.png",
        "Rechnung März.pdf",
        "invoice-viewer.exe",
        "evil.html",
    }
    shot = by_name["screenshot.png"]
    assert (shot.is_inline, shot.content_id, shot.content_type) == (
        True,
        "error-shot@example.net",
        "image/png",
    )
    assert shot.payload.startswith(b"\x89PNG")
    assert by_name["Rechnung März.pdf"].payload.startswith(b"%PDF")
    assert not by_name["Rechnung März.pdf"].is_inline
    assert "Here is a photo of the error" in parsed.text


def test_a_forwarded_message_stays_one_attachment():
    parsed = parse_email(load("forwarded_message"))
    (attached,) = parsed.attachments
    assert attached.content_type == "message/rfc822"
    assert attached.filename.endswith(".eml")
    assert b"When does my contract renew?" in attached.payload
    assert "see the attached mail" in parsed.text


def test_a_delivery_report_names_the_message_that_bounced():
    parsed = parse_email(load("bounce_dsn"))
    assert parsed.report_type == "delivery-status"
    assert parsed.reported_message_ids == [OUR_REPLY_ID]
    assert parsed.return_path == ""


def test_thread_ids_put_the_direct_parent_last():
    parsed = parse_email(load("outlook_reply"))
    assert parsed.thread_ids == [JANE_FIRST_ID, OUR_REPLY_ID]


# --- Message-IDs --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("<abc@example.com>", "<abc@example.com>"),
        ("  <abc@example.com> (comment)", "<abc@example.com>"),
        ("abc@example.com", "<abc@example.com>"),
        ("", ""),
        ("not an id", ""),
    ],
)
def test_normalize_message_id(value, expected):
    assert normalize_message_id(value) == expected


def test_overlong_message_ids_become_a_stable_digest():
    long_id = "<" + "x" * 400 + "@example.com>"
    assert normalize_message_id(long_id) == normalize_message_id(long_id)
    assert len(normalize_message_id(long_id)) <= 255


def test_references_are_read_in_order_without_duplicates_and_capped_when_written():
    assert message_ids_in("<a@x> garbage <b@y>\r\n <a@x>") == ["<a@x>", "<b@y>"]
    ids = [f"<{i}@x>" for i in range(30)]
    written = references_header(ids).split()
    assert len(written) == 20 and written[0] == "<0@x>" and written[-1] == "<29@x>"


def test_synthetic_ids_are_stable_for_the_same_bytes():
    raw = load("no_message_id")
    assert synthetic_message_id(raw) == synthetic_message_id(raw)
    assert synthetic_message_id(raw) != synthetic_message_id(raw + b"x")


# --- Visible body -------------------------------------------------------------------------


def test_gmail_quote_is_stripped():
    text = parse_email(load("gmail_reply")).text
    assert visible_body(text) == (
        "It's smoking less now, but the paper tray is stuck \u2013 can you send a technician?"
    )


def test_outlook_quote_and_signature_are_stripped():
    text = parse_email(load("outlook_reply")).text
    assert visible_body(text) == "The technician was here, all fixed. You can close the ticket."


def test_signature_markers_and_mobile_footers_are_stripped():
    assert visible_body("Hi\n\nsee below\n\n-- \nJane Doe\nCEO\n") == "Hi\n\nsee below"
    assert visible_body("It works.\n\nSent from my iPhone") == "It works."
    assert visible_body("Answer.\n\n> old quoted\n> more\n") == "Answer."


def test_lists_are_content_not_signatures():
    assert visible_body("Steps:\n- one\n- two") == "Steps:\n- one\n- two"


def test_a_long_false_signature_match_keeps_the_text():
    text = "Hello,\n\nThanks, that helped.\n" + "\n".join(f"Detail {i}" for i in range(15))
    assert visible_body(text).endswith("Detail 14")


def test_a_message_that_is_only_a_quote_is_kept_whole():
    assert visible_body("> only quoted\n> text") == "> only quoted\n> text"


def test_html_blockquotes_become_quotes_that_are_stripped():
    text = html_to_text(
        "<div>New text</div><div>On Mon, 1 Jan 2024, A &lt;a@x.com&gt; wrote:</div>"
        "<blockquote><div>old</div></blockquote>"
    )
    assert "> old" in text
    assert visible_body(text) == "New text"


# --- Noise --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("auto_reply_ooo", "auto_reply"),
        ("auto_reply_xautoreply", "auto_reply"),
        ("bulk_newsletter", "auto_reply"),
        ("bounce_dsn", "bounce"),
        ("own_mail", "own"),
        ("plain_new", None),
        ("gmail_reply", None),
        ("outlook_reply", None),
        ("no_message_id", None),
    ],
)
def test_noise_classification(name, kind):
    noise = classify_noise(parse_email(load(name)), own_addresses=OWN)
    assert (noise.kind if noise else None) == kind


def test_auto_submitted_no_is_a_person():
    raw = b"From: a@example.com\r\nAuto-Submitted: no\r\nSubject: hi\r\n\r\nhello\r\n"
    assert classify_noise(parse_email(raw), own_addresses=OWN) is None


@pytest.mark.parametrize(
    ("address", "unanswerable"),
    [
        ("noreply@shop.example", True),
        ("no-reply@shop.example", True),
        ("do-not-reply@x.example", True),
        ("MAILER-DAEMON@x.example", True),
        ("bounces+123@x.example", True),
        ("jane@example.com", False),
        ("norene@example.com", False),
    ],
)
def test_unanswerable_addresses(address, unanswerable):
    assert is_unanswerable_address(address) is unanswerable


# --- Subjects -----------------------------------------------------------------------------


def test_subject_references():
    assert subject_reference("RE: Printer on fire [ACME-1]", "ACME") == 1
    assert subject_reference("[acme-1042] hello", "ACME") == 1042
    assert subject_reference("[GLOBEX-7] hello", "ACME") is None
    assert subject_reference("ACME-7 without brackets", "ACME") is None
    assert with_reference("Re: Hello", "ACME-1") == "Re: Hello [ACME-1]"
    assert with_reference("Re: Hello [ACME-1]", "ACME-1") == "Re: Hello [ACME-1]"
    assert strip_reply_prefixes("RE: Fwd: AW: Hello") == "Hello"


# --- Attachments --------------------------------------------------------------------------


def _attachment(name, content_type="application/pdf", size=10):
    return ParsedAttachment(filename=name, content_type=content_type, payload=b"x" * size)


def test_attachment_policy(settings):
    settings.HELPDESK_EMAIL_ATTACHMENT_MAX_BYTES = 100
    settings.HELPDESK_EMAIL_MAX_ATTACHMENTS = 2
    assert attachment_refusal(_attachment("a.pdf"), kept_so_far=0) is None
    assert "blocked" in attachment_refusal(_attachment("setup.EXE"), kept_so_far=0)
    assert "blocked" in attachment_refusal(
        _attachment("x.bin", "application/x-msdownload"), kept_so_far=0
    )
    assert "over the" in attachment_refusal(_attachment("big.pdf", size=101), kept_so_far=0)
    assert "more than 2" in attachment_refusal(_attachment("c.pdf"), kept_so_far=2)


def test_served_content_types_and_stored_names():
    assert served_content_type("application/pdf", "a.pdf") == "application/pdf"
    assert served_content_type("text/html", "evil.html") == "application/octet-stream"
    assert served_content_type("image/svg+xml", "x.svg") == "application/octet-stream"
    assert served_content_type("", "photo.png") == "image/png"
    assert storage_name("Rechnung März.PDF").endswith(".pdf")
    assert storage_name("weird.ext$").endswith(".bin")
    assert safe_filename("../../etc/passwd") == "passwd"
    assert safe_filename('a<b>:"c|?.txt') == "a_b___c__.txt"
