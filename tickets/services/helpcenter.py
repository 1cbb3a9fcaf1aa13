"""Writes of the help centre: articles (create, edit, publish), "did this help?" votes and
deflections (a customer said an article answered the question, so no ticket was opened).

Votes and deflections are anonymous; one per visitor and article is counted within a window,
remembered in the cache (``voter`` is an opaque key such as the client address), so reloading or
double-clicking does not inflate the figures.
"""

from __future__ import annotations

import hashlib

from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db.models import F
from django.utils.text import slugify

from helpdesk.accounts.models import User
from helpdesk.tenancy.context import tenant_context
from helpdesk.tenancy.models import Tenant
from tickets.models import Article

VOTE_WINDOW_SECONDS = 24 * 3600
DEFLECTION_WINDOW_SECONDS = 3600


def _clean_fields(*, title: str, body: str, category: str, slug: str) -> dict:
    errors = {}
    title = (title or "").strip()
    body = (body or "").strip()
    category = (category or "").strip()
    if not title:
        errors["title"] = "A title is required."
    elif len(title) > 200:
        errors["title"] = "Keep the title under 200 characters."
    if not body:
        errors["body"] = "Write the article's text."
    if len(category) > 100:
        errors["category"] = "Keep the category under 100 characters."
    slug = slugify(slug or "")[:200]
    if errors:
        raise ValidationError(errors)
    return {"title": title, "body": body, "category": category, "slug": slug}


def _unique_slug(*, tenant: Tenant, wanted: str, title: str, exclude_pk: int | None) -> str:
    taken = Article.objects.for_tenant(tenant)
    if exclude_pk is not None:
        taken = taken.exclude(pk=exclude_pk)
    if wanted:
        if taken.filter(slug=wanted).exists():
            raise ValidationError({"slug": "Another article already uses this address."})
        return wanted
    base = slugify(title)[:190] or "article"
    candidate, n = base, 1
    while taken.filter(slug=candidate).exists():
        n += 1
        candidate = f"{base}-{n}"
    return candidate


def article_create(
    *,
    tenant: Tenant,
    actor: User,
    title: str,
    body: str,
    category: str = "",
    slug: str = "",
    publish: bool = False,
) -> Article:
    fields = _clean_fields(title=title, body=body, category=category, slug=slug)
    with tenant_context(tenant):
        fields["slug"] = _unique_slug(
            tenant=tenant, wanted=fields["slug"], title=fields["title"], exclude_pk=None
        )
        return Article.objects.create(
            tenant=tenant,
            created_by=actor,
            state=Article.State.PUBLISHED if publish else Article.State.DRAFT,
            **fields,
        )


def article_update(
    *,
    tenant: Tenant,
    actor: User,
    article: Article,
    title: str,
    body: str,
    category: str = "",
    slug: str = "",
) -> Article:
    fields = _clean_fields(title=title, body=body, category=category, slug=slug)
    with tenant_context(tenant):
        article = Article.objects.for_tenant(tenant).select_for_update().get(pk=article.pk)
        fields["slug"] = _unique_slug(
            tenant=tenant,
            wanted=fields["slug"] or article.slug,
            title=fields["title"],
            exclude_pk=article.pk,
        )
        for key, value in fields.items():
            setattr(article, key, value)
        article.save(update_fields=[*fields, "updated_at"])
    return article


def article_set_published(
    *, tenant: Tenant, actor: User, article: Article, published: bool
) -> Article:
    """Publish (customers see it on the help page) or take back to draft."""
    state = Article.State.PUBLISHED if published else Article.State.DRAFT
    with tenant_context(tenant):
        article = Article.objects.for_tenant(tenant).select_for_update().get(pk=article.pk)
        if article.state != state:
            article.state = state
            article.save(update_fields=["state", "updated_at"])
    return article


def _first_time(kind: str, tenant: Tenant, article: Article, voter: str, window: int) -> bool:
    digest = hashlib.sha256(voter.encode()).hexdigest()[:32]
    return cache.add(f"help:{kind}:{tenant.pk}:{article.pk}:{digest}", 1, window)


def _published(tenant: Tenant, article: Article) -> Article:
    found = (
        Article.objects.for_tenant(tenant)
        .filter(pk=article.pk, state=Article.State.PUBLISHED)
        .first()
    )
    if found is None:
        raise ValidationError("This article is not available.")
    return found


def article_vote(*, tenant: Tenant, article: Article, helpful: bool, voter: str) -> bool:
    """Count a "did this help?" answer. Returns False when this voter already answered."""
    with tenant_context(tenant):
        article = _published(tenant, article)
        if not _first_time("vote", tenant, article, voter, VOTE_WINDOW_SECONDS):
            return False
        field = "helpful_yes" if helpful else "helpful_no"
        Article.objects.for_tenant(tenant).filter(pk=article.pk).update(**{field: F(field) + 1})
    return True


def article_deflect(*, tenant: Tenant, article: Article, voter: str) -> bool:
    """The article answered the customer's question: no ticket, one deflection counted.

    Returns False when this visitor's deflection on this article was already counted lately.
    """
    with tenant_context(tenant):
        article = _published(tenant, article)
        if not _first_time("deflect", tenant, article, voter, DEFLECTION_WINDOW_SECONDS):
            return False
        Article.objects.for_tenant(tenant).filter(pk=article.pk).update(
            deflections=F("deflections") + 1
        )
    return True
