"""Writes: the weekly digest email and who gets it (opt-in per person).

Managers and observers (anyone whose role may view dashboards) opt in on the digest page. Beat
checks every hour; a tenant's digest goes out from Monday 08:00 in the tenant's time zone, once
per person and week (``DigestSubscription.last_sent_week``).
"""

from __future__ import annotations

import logging
from datetime import datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse

from empathy_metrics.models import DigestSubscription
from empathy_metrics.periods import zone
from empathy_metrics.selectors.digest import digest_data, digest_week_for
from helpdesk.accounts.models import User
from helpdesk.tenancy.context import tenant_context
from helpdesk.tenancy.models import Membership, Tenant
from helpdesk.tenancy.policy import Perm, role_has_perm

logger = logging.getLogger(__name__)

DIGEST_WEEKDAY = 0  # Monday
DIGEST_HOUR = 8


def digest_is_due(*, tenant: Tenant, now: datetime) -> bool:
    local = now.astimezone(zone(tenant.time_zone))
    return local.weekday() == DIGEST_WEEKDAY and local.hour >= DIGEST_HOUR


def _may_receive(tenant: Tenant, user: User) -> bool:
    membership = Membership.objects.filter(tenant=tenant, user=user).first()
    return (
        membership is not None
        and user.is_active
        and role_has_perm(membership.role, Perm.DASHBOARDS_VIEW)
    )


def digest_subscription_set(*, tenant: Tenant, user: User, weekly: bool) -> DigestSubscription:
    """Turn the weekly digest on or off for ``user`` in ``tenant``."""
    if weekly and not _may_receive(tenant, user):
        raise ValidationError("The digest is for people who may view the dashboards.")
    with tenant_context(tenant):
        subscription, _ = DigestSubscription.objects.for_tenant(tenant).get_or_create(
            tenant=tenant, user=user, defaults={"weekly": weekly}
        )
        if subscription.weekly != weekly:
            subscription.weekly = weekly
            subscription.save(update_fields=["weekly"])
    return subscription


def _render(tenant: Tenant, data: dict) -> tuple[str, str, str]:
    base = settings.HELPDESK_BASE_URL.rstrip("/")
    context = {
        "tenant": tenant,
        "digest": data,
        "page_url": base
        + reverse("metrics:digest", kwargs={"tenant_slug": tenant.slug})
        + f"?week={data['week'].start.isoformat()}",
        "settings_url": base + reverse("metrics:digest", kwargs={"tenant_slug": tenant.slug}),
        "base_url": base,
    }
    subject = render_to_string("empathy_metrics/email/digest_subject.txt", context).strip()
    text = render_to_string("empathy_metrics/email/digest_body.txt", context)
    html = render_to_string("empathy_metrics/email/digest_body.html", context)
    return subject, text, html


def digest_send_due(*, tenant: Tenant, now: datetime) -> int:
    """Email last week's digest to every subscriber who has not had it yet. Returns how many."""
    monday = digest_week_for(tenant=tenant, now=now)
    with tenant_context(tenant):
        pending = list(
            DigestSubscription.objects.for_tenant(tenant)
            .filter(weekly=True)
            .exclude(last_sent_week=monday)
            .select_related("user")
        )
    if not pending:
        return 0
    subject, text, html = _render(tenant, digest_data(tenant=tenant, monday=monday))
    sent = 0
    for subscription in pending:
        if not _may_receive(tenant, subscription.user):
            continue
        with tenant_context(tenant):
            claimed = (
                DigestSubscription.objects.for_tenant(tenant)
                .filter(pk=subscription.pk, weekly=True)
                .exclude(last_sent_week=monday)
                .update(last_sent_week=monday)
            )
        if not claimed:
            continue  # another worker sent it
        message = EmailMultiAlternatives(subject=subject, body=text, to=[subscription.user.email])
        message.attach_alternative(html, "text/html")
        try:
            message.send()
        except OSError:
            logger.exception("digest to user %s could not be sent", subscription.user_id)
            with tenant_context(tenant):
                DigestSubscription.objects.for_tenant(tenant).filter(pk=subscription.pk).update(
                    last_sent_week=None
                )
            continue
        sent += 1
    return sent
