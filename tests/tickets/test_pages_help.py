"""The public help page (no login) and the staff pages of the help centre: article visibility,
search and suggestions, votes and deflections, the contact form with its spam protection, and
tenant isolation of all of it."""

from __future__ import annotations

import re

import pytest
from django.core import signing
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from helpdesk.tenancy.context import tenant_context
from helpdesk.tenancy.policy import Role
from tickets.models import Article, Attachment, Channel, Customer, Message, Ticket
from tickets.services import helpcenter

pytestmark = pytest.mark.django_db

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture
def articles(tenant, other_tenant, admin_user, other_admin):
    def make(t, actor, title, body, publish=True, category="Account"):
        return helpcenter.article_create(
            tenant=t, actor=actor, title=title, body=body, category=category, publish=publish
        )

    return {
        "password": make(tenant, admin_user, "Reset your password", "Click **Forgot password**."),
        "invoice": make(
            tenant, admin_user, "Download an invoice", "Go to Billing.", category="Billing"
        ),
        "draft": make(tenant, admin_user, "Secret roadmap DRAFTONLY", "DRAFTONLY", publish=False),
        "foreign": make(other_tenant, other_admin, "Globex passwords FOREIGNONLY", "FOREIGNONLY"),
        "xss": make(
            tenant,
            admin_user,
            "Formatting",
            '<script>alert("x")</script><img src=x onerror=alert(1)> [a](javascript:alert(1))',
            category="Misc",
        ),
    }


def url(name, slug="acme", **kwargs):
    from django.urls import reverse

    return reverse(f"tickets:{name}", kwargs={"tenant_slug": slug, **kwargs})


def contact_data(**overrides):
    data = {
        "name": "Grace Hopper",
        "email": "Grace@Navy.test",
        "subject": "Cannot log in",
        "message": "The login page says my password is wrong.",
        "website": "",
    }
    data.update(overrides)
    return data


# --- Visibility ------------------------------------------------------------------------------


def test_help_page_is_public_and_lists_published_articles_only(client, tenant, articles):
    response = client.get(url("help"))
    assert response.status_code == 200
    body = response.content.decode()
    assert "Reset your password" in body and "Download an invoice" in body
    assert "DRAFTONLY" not in body and "FOREIGNONLY" not in body
    assert 'data-tenant="acme"' in body  # the chat widget is embedded


def test_drafts_and_other_tenants_articles_have_no_public_page(client, tenant, articles):
    assert client.get(url("help-article", article_slug=articles["draft"].slug)).status_code == 404
    foreign = client.get(url("help-article", article_slug=articles["foreign"].slug))
    assert foreign.status_code == 404 and b"FOREIGNONLY" not in foreign.content
    page = client.get(url("help-article", article_slug=articles["password"].slug))
    assert page.status_code == 200 and b"<strong>Forgot password</strong>" in page.content


def test_search_finds_published_articles_of_this_tenant_only(client, tenant, articles):
    body = client.get(url("help"), {"q": "password"}).content.decode()
    assert "Reset your password" in body
    assert "FOREIGNONLY" not in body and "DRAFTONLY" not in body
    drafts = client.get(url("help"), {"q": "DRAFTONLY roadmap"}).content.decode()
    assert "Secret roadmap" not in drafts and "0 articles" in drafts


def test_unknown_tenant_help_page_is_404(client, tenant):
    assert client.get("/t/nope/help/").status_code == 404


def test_markdown_xss_stays_inert_on_the_article_page(client, tenant, articles):
    body = client.get(url("help-article", article_slug=articles["xss"].slug)).content.decode()
    prose = body.split('class="prose help-prose">', 1)[1].split("</div>", 1)[0]
    assert "<script" not in prose and "onerror" not in prose and "javascript:" not in prose


# --- Suggestions, votes, deflections -----------------------------------------------------------


def test_suggestions_while_typing_the_subject(client, tenant, articles):
    response = client.get(url("help-suggest"), {"subject": "I forgot my password"})
    body = response.content.decode()
    assert response.status_code == 200
    assert "Reset your password" in body and "FOREIGNONLY" not in body
    assert "This answered my question" in body
    assert client.get(url("help-suggest"), {"subject": "hello"}).content.strip() == b""


def test_deflection_counts_and_creates_no_ticket(client, tenant, articles):
    article = articles["password"]
    response = client.post(
        url("help-deflect", article_slug=article.slug), {"answered": "yes"}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200 and b"Glad that helped" in response.content
    plain = Client(HTTP_USER_AGENT="other browser")
    assert (
        plain.post(url("help-deflect", article_slug=article.slug), {"answered": "yes"}).status_code
        == 200
    )
    # The same visitor again is not counted twice; an empty post is refused.
    client.post(url("help-deflect", article_slug=article.slug), {"answered": "yes"})
    assert client.post(url("help-deflect", article_slug=article.slug)).status_code == 400
    with tenant_context(tenant):
        article.refresh_from_db()
        assert article.deflections == 2
        assert Ticket.objects.count() == 0


def test_deflecting_a_draft_or_foreign_article_is_404(client, tenant, articles):
    for key in ("draft", "foreign"):
        response = client.post(
            url("help-deflect", article_slug=articles[key].slug), {"answered": "yes"}
        )
        assert response.status_code == 404


def test_did_this_help_vote(client, tenant, articles):
    article = articles["password"]
    response = client.post(
        url("help-article-vote", article_slug=article.slug),
        {"helpful": "yes"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200 and b"Thanks for your feedback" in response.content
    client.post(url("help-article-vote", article_slug=article.slug), {"helpful": "yes"})  # repeat
    assert (
        client.post(
            url("help-article-vote", article_slug=article.slug), {"helpful": "maybe"}
        ).status_code
        == 400
    )
    response = Client(HTTP_USER_AGENT="b").post(
        url("help-article-vote", article_slug=article.slug), {"helpful": "no"}
    )
    assert response.status_code == 302
    with tenant_context(tenant):
        article.refresh_from_db()
    assert (article.helpful_yes, article.helpful_no) == (1, 1)


# --- Contact form ------------------------------------------------------------------------------


def test_contact_form_creates_a_web_ticket_and_confirms_with_reference_and_status_link(
    client, tenant, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    upload = SimpleUploadedFile("screen shot.png", PNG, content_type="application/x-evil")
    response = client.post(url("help-contact"), contact_data(attachments=[upload]))
    assert response.status_code == 302
    with tenant_context(tenant):
        ticket = Ticket.objects.get()
        assert (ticket.channel, ticket.subject) == (Channel.WEB, "Cannot log in")
        assert ticket.customer.email == "grace@navy.test" and ticket.customer.name == "Grace Hopper"
        message = Message.objects.get(ticket=ticket)
        attachment = Attachment.objects.get(message=message)
        assert (attachment.filename, attachment.content_type, attachment.size) == (
            "screen shot.png",
            "image/png",
            len(PNG),
        )
        assert attachment.file.read() == PNG
    page = client.get(response["Location"])
    body = page.content.decode()
    assert page.status_code == 200
    assert "ACME-1" in body
    assert re.search(r'href="http[^"]+/status/[A-Za-z0-9_-]{20,}/"', body), body


def test_contact_form_matches_a_known_customer_by_email(client, tenant):
    with tenant_context(tenant):
        Customer.objects.create(tenant=tenant, email="grace@navy.test", name="")
    client.post(url("help-contact"), contact_data())
    with tenant_context(tenant):
        assert Customer.objects.count() == 1
        assert Customer.objects.get().name == "Grace Hopper"


def test_honeypot_pretends_success_and_stores_nothing(client, tenant):
    response = client.post(url("help-contact"), contact_data(website="http://spam.example"))
    assert response.status_code == 302
    page = client.get(response["Location"])
    assert page.status_code == 200 and b"Thanks, we have your message" in page.content
    assert b"ACME-" not in page.content
    with tenant_context(tenant):
        assert Ticket.objects.count() == 0 and Customer.objects.count() == 0


def test_per_ip_rate_limit(client, tenant, other_tenant, settings):
    settings.HELPDESK_WEBFORM_MAX_PER_IP = 3
    for i in range(3):
        assert client.post(url("help-contact"), contact_data(subject=f"Try {i}")).status_code == 302
    blocked = client.post(url("help-contact"), contact_data(subject="One too many"))
    assert blocked.status_code == 429
    assert b"several messages in a short time" in blocked.content
    # Another address, and the same address at another tenant, are not blocked.
    other_ip = Client(REMOTE_ADDR="10.9.8.7")
    assert other_ip.post(url("help-contact"), contact_data()).status_code == 302
    assert client.post(url("help-contact", slug="globex"), contact_data()).status_code == 302
    with tenant_context(tenant):
        assert Ticket.objects.count() == 4


def test_rate_limit_uses_the_forwarded_address_behind_trusted_proxies(client, tenant, settings):
    settings.HELPDESK_WEBFORM_MAX_PER_IP = 1
    settings.HELPDESK_TRUSTED_PROXY_HOPS = 1
    first = Client(HTTP_X_FORWARDED_FOR="1.1.1.1, 203.0.113.5")
    second = Client(HTTP_X_FORWARDED_FOR="203.0.113.6")
    assert first.post(url("help-contact"), contact_data()).status_code == 302
    assert second.post(url("help-contact"), contact_data()).status_code == 302
    # Forging the leftmost entry does not help: the proxy's entry is what counts.
    forged = Client(HTTP_X_FORWARDED_FOR="9.9.9.9, 203.0.113.5")
    assert forged.post(url("help-contact"), contact_data()).status_code == 429


@pytest.mark.parametrize(
    ("name", "content", "error"),
    [
        ("evil.exe", b"MZ\x90\x00", "cannot be attached"),
        ("fake.png", b"not a png at all", "does not look like a png"),
        ("empty.pdf", b"", "empty"),
    ],
)
def test_bad_attachments_are_a_form_error_and_store_nothing(
    client, tenant, settings, tmp_path, name, content, error
):
    settings.MEDIA_ROOT = tmp_path
    upload = SimpleUploadedFile(name, content)
    response = client.post(url("help-contact"), contact_data(attachments=[upload]))
    assert response.status_code == 400
    assert error in response.content.decode()
    with tenant_context(tenant):
        assert Ticket.objects.count() == 0


def test_too_large_and_too_many_attachments(client, tenant, settings, tmp_path, monkeypatch):
    settings.MEDIA_ROOT = tmp_path
    monkeypatch.setattr("tickets.services.webform.MAX_FILE_BYTES", 100)
    big = SimpleUploadedFile("big.txt", b"x" * 101)
    response = client.post(url("help-contact"), contact_data(attachments=[big]))
    assert response.status_code == 400 and b"larger than" in response.content
    many = [SimpleUploadedFile(f"n{i}.txt", b"hi") for i in range(6)]
    response = client.post(url("help-contact"), contact_data(attachments=many))
    assert response.status_code == 400 and b"at most 5 files" in response.content


def test_invalid_contact_form_is_a_400_with_errors(client, tenant):
    response = client.post(url("help-contact"), contact_data(email="not-an-email", message=""))
    assert response.status_code == 400
    assert b"Enter a valid email address" in response.content


def test_confirmation_of_another_tenant_shows_no_reference(client, tenant, other_tenant):
    token = signing.dumps({"t": other_tenant.pk, "r": "GLOBEX-9", "u": ""}, salt="webform-sent")
    body = client.get(url("help-contact-sent"), {"c": token}).content.decode()
    assert "GLOBEX-9" not in body
    assert "GLOBEX-9" not in client.get(url("help-contact-sent"), {"c": "forged"}).content.decode()


# --- Staff pages -------------------------------------------------------------------------------


def test_admin_creates_edits_and_publishes_an_article(client, tenant, admin_user):
    client.force_login(admin_user)
    response = client.post(
        url("article-admin-new"),
        {
            "title": "Change plan",
            "body": "Go to **Billing**",
            "category": "Billing",
            "then": "draft",
        },
    )
    assert response.status_code == 302
    with tenant_context(tenant):
        article = Article.objects.get(title="Change plan")
    assert article.state == Article.State.DRAFT
    assert client.get(url("help-article", article_slug="change-plan")).status_code == 404
    preview = client.post(
        url("article-admin-edit", article_id=article.public_id),
        {"title": "Change plan", "body": "# Preview me", "preview": "1"},
    )
    assert b"<h1>Preview me</h1>" in preview.content
    client.post(url("article-admin-publish", article_id=article.public_id), {"publish": "1"})
    assert client.get(url("help-article", article_slug="change-plan")).status_code == 200
    listing = client.get(url("article-admin")).content.decode()
    assert "Change plan" in listing and "Published" in listing


def test_admin_form_errors_are_400(client, tenant, admin_user, articles):
    client.force_login(admin_user)
    response = client.post(
        url("article-admin-new"),
        {"title": "Dup", "body": "x", "slug": articles["password"].slug},
    )
    assert response.status_code == 400 and b"already uses this address" in response.content
    assert client.post(url("article-admin-new"), {"title": "", "body": ""}).status_code == 400


@pytest.mark.parametrize(
    ("role", "status"), [(Role.MANAGER, 200), (Role.AGENT, 403), (Role.OBSERVER, 403)]
)
def test_article_admin_needs_workspace_manage(client, tenant, member_factory, role, status):
    client.force_login(member_factory(tenant, role, f"{role}@acme.test"))
    assert client.get(url("article-admin")).status_code == status


def test_staff_cannot_edit_another_tenants_article(client, tenant, admin_user, articles):
    client.force_login(admin_user)
    foreign = articles["foreign"]
    assert client.get(url("article-admin-edit", article_id=foreign.public_id)).status_code == 404
    response = client.post(
        url("article-admin-publish", article_id=foreign.public_id), {"publish": "0"}
    )
    assert response.status_code == 404
    assert client.get(url("article-admin", slug="globex")).status_code == 404


def test_article_links_json_for_the_reply_box(client, tenant, agent, articles):
    assert client.get(url("article-links")).status_code == 302  # sign in first
    client.force_login(agent)
    data = client.get(url("article-links"), {"q": "password"}).json()
    assert [a["title"] for a in data["articles"]] == ["Reset your password"]
    assert data["articles"][0]["url"].endswith("/t/acme/help/articles/reset-your-password/")
    everything = client.get(url("article-links")).json()["articles"]
    titles = {a["title"] for a in everything}
    assert "Secret roadmap DRAFTONLY" not in titles and "Globex passwords FOREIGNONLY" not in titles
    assert client.get(url("article-links", slug="globex")).status_code == 404


def test_the_article_picker_include_targets_the_ticket_reply_box(rf, tenant, agent):
    from django.conf import settings
    from django.template.loader import render_to_string

    request = rf.get("/t/acme/")
    request.user, request.tenant, request.membership = agent, tenant, None
    with tenant_context(tenant):
        html = render_to_string("tickets/includes/article_picker.html", request=request)
        other = render_to_string(
            "tickets/includes/article_picker.html", {"target": "#chat-body"}, request=request
        )
    assert f'data-url="{url("article-links")}"' in html
    assert 'data-target="#reply-body"' in html and 'data-target="#chat-body"' in other
    assert re.search(r'<script src="[^"]*/js/article_links\.js" defer></script>', html)
    assert "<script>" not in html  # no inline script (CSP)
    # The default target is the textarea of the ticket page's reply box.
    reply_box = settings.BASE_DIR / "templates/tickets/includes/reply_box.html"
    assert 'id="reply-body"' in reply_box.read_text(encoding="utf-8")
