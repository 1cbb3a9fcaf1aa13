"""Help-centre services and selectors: articles, safe Markdown, search, votes and deflections."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from helpdesk.tenancy.context import tenant_context
from tickets import selectors_help as selectors
from tickets.models import Article, Ticket
from tickets.services import helpcenter as services

pytestmark = pytest.mark.django_db


def make(tenant, actor, title="Reset your password", body="Use **Forgot password**.", **kw):
    return services.article_create(tenant=tenant, actor=actor, title=title, body=body, **kw)


def test_article_create_derives_a_unique_slug_and_starts_as_draft(tenant, admin_user):
    first = make(tenant, admin_user)
    second = make(tenant, admin_user)
    assert (first.slug, second.slug) == ("reset-your-password", "reset-your-password-2")
    assert first.state == Article.State.DRAFT
    assert first.created_by == admin_user


def test_article_create_refuses_a_taken_explicit_slug_and_empty_fields(tenant, admin_user):
    make(tenant, admin_user, slug="passwords")
    with pytest.raises(ValidationError) as exc:
        make(tenant, admin_user, title="Other", slug="passwords")
    assert "slug" in exc.value.message_dict
    with pytest.raises(ValidationError) as exc:
        services.article_create(tenant=tenant, actor=admin_user, title=" ", body="")
    assert set(exc.value.message_dict) == {"title", "body"}


def test_the_same_slug_is_fine_in_another_tenant(tenant, other_tenant, admin_user, other_admin):
    mine = make(tenant, admin_user, slug="billing")
    theirs = make(other_tenant, other_admin, slug="billing")
    assert mine.slug == theirs.slug == "billing"


def test_article_update_and_publish(tenant, admin_user):
    article = make(tenant, admin_user)
    article = services.article_update(
        tenant=tenant,
        actor=admin_user,
        article=article,
        title="Change your password",
        body="New text",
        category="Account",
    )
    assert (article.title, article.category, article.slug) == (
        "Change your password",
        "Account",
        "reset-your-password",
    )
    article = services.article_set_published(
        tenant=tenant, actor=admin_user, article=article, published=True
    )
    with tenant_context(tenant):
        assert Article.objects.get(pk=article.pk).state == Article.State.PUBLISHED


def test_votes_count_once_per_voter_and_only_on_published_articles(tenant, admin_user):
    article = make(tenant, admin_user)
    with pytest.raises(ValidationError):
        services.article_vote(tenant=tenant, article=article, helpful=True, voter="1.2.3.4")
    services.article_set_published(tenant=tenant, actor=admin_user, article=article, published=True)
    assert services.article_vote(tenant=tenant, article=article, helpful=True, voter="1.2.3.4")
    assert not services.article_vote(tenant=tenant, article=article, helpful=True, voter="1.2.3.4")
    assert services.article_vote(tenant=tenant, article=article, helpful=False, voter="5.6.7.8")
    with tenant_context(tenant):
        article.refresh_from_db()
    assert (article.helpful_yes, article.helpful_no) == (1, 1)


def test_deflection_counts_and_creates_no_ticket(tenant, admin_user):
    article = make(tenant, admin_user, publish=True)
    assert services.article_deflect(tenant=tenant, article=article, voter="a")
    assert not services.article_deflect(tenant=tenant, article=article, voter="a")
    assert services.article_deflect(tenant=tenant, article=article, voter="b")
    with tenant_context(tenant):
        article.refresh_from_db()
        assert article.deflections == 2
        assert Ticket.objects.count() == 0


def test_another_tenants_article_cannot_be_voted_or_deflected(tenant, other_tenant, other_admin):
    theirs = make(other_tenant, other_admin, publish=True)
    with pytest.raises(ValidationError):
        services.article_vote(tenant=tenant, article=theirs, helpful=True, voter="x")
    with pytest.raises(ValidationError):
        services.article_deflect(tenant=tenant, article=Article(pk=theirs.pk), voter="x")
    with tenant_context(other_tenant):
        theirs.refresh_from_db()
        assert (theirs.helpful_yes, theirs.deflections) == (0, 0)


@pytest.mark.parametrize(
    "markdown",
    [
        "<script>alert(1)</script>",
        '<img src="x" onerror="alert(1)">',
        "[click](javascript:alert(1))",
        '<a href="javascript:alert(1)">x</a>',
        '<iframe src="https://evil.example"></iframe>',
        "<svg onload=alert(1)>",
        '<p style="background:url(javascript:alert(1))" onclick="x()">hi</p>',
        "![x](data:text/html;base64,PHNjcmlwdD4=)",
    ],
)
def test_markdown_rendering_keeps_xss_inert(markdown):
    html = str(selectors.article_render(markdown)).lower()
    for bad in (
        "<script",
        "onerror",
        "onload",
        "onclick",
        "javascript:",
        "<iframe",
        "<svg",
        "data:",
    ):
        assert bad not in html, html


def test_markdown_renders_the_usual_formatting():
    html = str(
        selectors.article_render(
            "# Title\n\nSome **bold** and [a link](https://example.com).\n\n- one\n- two\n\n"
            "| a | b |\n|---|---|\n| 1 | 2 |\n\n```\ncode\n```"
        )
    )
    assert "<h1>Title</h1>" in html
    assert "<strong>bold</strong>" in html
    assert 'href="https://example.com"' in html and 'rel="noopener noreferrer nofollow"' in html
    assert "<li>one</li>" in html and "<table>" in html and "<code>" in html


def test_search_ranks_title_matches_first_and_never_returns_drafts(tenant, admin_user):
    body_match = make(
        tenant, admin_user, title="Billing basics", body="How to reset things", publish=True
    )
    title_match = make(tenant, admin_user, title="Reset your password", body="Steps", publish=True)
    make(tenant, admin_user, title="Reset secrets (draft)", body="reset", publish=False)
    with tenant_context(tenant):
        found = selectors.article_search(tenant=tenant, query="How do I reset my password?")
    assert found == [title_match, body_match]


def test_search_ignores_stop_words_and_other_tenants(tenant, other_tenant, admin_user, other_admin):
    make(other_tenant, other_admin, title="Invoices explained", body="invoice", publish=True)
    with tenant_context(tenant):
        assert selectors.article_search(tenant=tenant, query="how do I") == []
        assert selectors.article_search(tenant=tenant, query="invoices") == []


def test_article_links_are_absolute_public_urls_of_published_articles(tenant, admin_user, settings):
    settings.HELPDESK_BASE_URL = "https://help.example.com/"
    published = make(tenant, admin_user, title="Shipping times", publish=True)
    make(tenant, admin_user, title="Internal draft")
    with tenant_context(tenant):
        links = selectors.article_links(tenant=tenant)
        assert links == [
            {
                "id": str(published.public_id),
                "title": "Shipping times",
                "category": "",
                "url": "https://help.example.com/t/acme/help/articles/shipping-times/",
            }
        ]
        assert (
            selectors.article_links(tenant=tenant, query="shipping")[0]["title"] == "Shipping times"
        )
