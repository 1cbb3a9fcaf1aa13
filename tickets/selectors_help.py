"""Reads of the help centre: published articles, search, suggestions and safe Markdown.

Customers only ever see published articles of the tenant in the URL; drafts are for staff pages.
Search is portable (the SQLite demo and PostgreSQL alike): the significant words of the query
narrow the candidates in the database, then a small score ranks them (title over category over
body). A tenant's help centre holds tens to a few hundred articles, so this stays cheap.
"""

from __future__ import annotations

import re

import markdown
import nh3
from django.conf import settings
from django.db.models import Q, QuerySet
from django.urls import reverse
from django.utils.safestring import SafeString, mark_safe

from helpdesk.tenancy.models import Tenant
from tickets.models import Article
from tickets.sanitize import ALLOWED_ATTRIBUTES, ALLOWED_TAGS

ARTICLE_TAGS = ALLOWED_TAGS | {"img", "h5", "h6", "dl", "dt", "dd", "sup", "sub", "del", "kbd"}
ARTICLE_ATTRIBUTES = {**ALLOWED_ATTRIBUTES, "img": {"src", "alt", "title"}}

STOPWORDS = frozenset(
    """a about after again all also am an and any are as at be been before but by can cannot
    could did do does doing dont for from get gets got had has have having how i im if in into is
    isnt it its just me more my need no not of on or our out please so some still than that the
    their them then there these they this to too up us was we what when where which while who why
    will with wont would you your yours hello hi help thanks thank""".split()  # noqa: SIM905
)
SEARCH_WORDS = 8
CANDIDATES = 200


def article_render(body: str) -> SafeString:
    """Markdown to HTML, then nh3: raw HTML, scripts, event handlers and javascript: URLs never
    survive; links get ``rel="noopener noreferrer nofollow"``."""
    html = markdown.markdown(body or "", extensions=["extra", "sane_lists"], output_format="html")
    clean = nh3.clean(
        html,
        tags=ARTICLE_TAGS,
        attributes=ARTICLE_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
    )
    return mark_safe(clean)  # noqa: S308 - sanitised by nh3 just above


def article_excerpt(body: str, length: int = 160) -> str:
    """Plain text of the start of an article, for result lists."""
    text = nh3.clean(markdown.markdown(body or ""), tags=set())
    text = re.sub(r"\s+", " ", text).strip()
    return text if len(text) <= length else text[: length - 1].rsplit(" ", 1)[0] + "…"


def article_list(*, tenant: Tenant) -> QuerySet[Article]:
    """Every article of the tenant (staff pages)."""
    return Article.objects.for_tenant(tenant).select_related("created_by")


def article_get(*, tenant: Tenant, public_id) -> Article | None:
    return article_list(tenant=tenant).filter(public_id=public_id).first()


def article_list_published(*, tenant: Tenant) -> QuerySet[Article]:
    return (
        Article.objects.for_tenant(tenant)
        .filter(state=Article.State.PUBLISHED)
        .order_by("category", "title")
    )


def article_get_published(*, tenant: Tenant, slug: str) -> Article | None:
    return article_list_published(tenant=tenant).filter(slug=slug).first()


def article_categories(*, tenant: Tenant) -> list[dict]:
    """Published articles grouped by category, for the help page: [{name, articles}]."""
    groups: dict[str, list[Article]] = {}
    for article in article_list_published(tenant=tenant):
        groups.setdefault(article.category or "General", []).append(article)
    return [{"name": name, "articles": articles} for name, articles in groups.items()]


def search_words(query: str) -> list[str]:
    """The significant words of a query or a subject line (no stop words, at least 3 letters)."""
    words = re.findall(r"[^\W_]+", (query or "").lower())
    unique = list(dict.fromkeys(w for w in words if len(w) >= 3 and w not in STOPWORDS))
    return unique[:SEARCH_WORDS]


def article_search(*, tenant: Tenant, query: str, limit: int = 10) -> list[Article]:
    """Published articles matching any significant word of ``query``, best first."""
    words = search_words(query[:300])
    if not words:
        return []
    matches = Q()
    for word in words:
        matches |= Q(title__icontains=word) | Q(category__icontains=word) | Q(body__icontains=word)
    candidates = list(article_list_published(tenant=tenant).filter(matches)[:CANDIDATES])

    def score(article: Article) -> tuple:
        title, category, body = (
            article.title.lower(),
            article.category.lower(),
            article.body.lower(),
        )
        points = sum(
            (3 if word in title else 0)
            + (2 if word in category else 0)
            + (1 if word in body else 0)
            for word in words
        )
        return (-points, article.title.lower())

    return sorted(candidates, key=score)[:limit]


def article_public_url(*, tenant: Tenant, article: Article) -> str:
    """The absolute public URL of an article, for links in replies and emails."""
    path = reverse(
        "tickets:help-article", kwargs={"tenant_slug": tenant.slug, "article_slug": article.slug}
    )
    return settings.HELPDESK_BASE_URL.rstrip("/") + path


def article_links(*, tenant: Tenant, query: str = "", limit: int = 20) -> list[dict]:
    """Published articles as ``{title, category, url}``, for agents inserting a link in a reply."""
    if query.strip():
        articles = article_search(tenant=tenant, query=query, limit=limit)
    else:
        articles = list(article_list_published(tenant=tenant)[:limit])
    return [
        {
            "id": str(a.public_id),
            "title": a.title,
            "category": a.category,
            "url": article_public_url(tenant=tenant, article=a),
        }
        for a in articles
    ]
