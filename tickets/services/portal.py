"""The customer portal's sign-in: a magic link by email (no password, no customer account).

The link carries a token signed with ``django.core.signing`` (salt ``portal-login``) that binds
the tenant, the customer and the address it was sent to, and expires after
``PORTAL_LINK_MAX_AGE``. A changed address kills older links. Asking for a link never tells
whether the address is known, and is throttled per address.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from urllib.parse import urlencode

from django.conf import settings
from django.core import signing
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives
from django.core.validators import validate_email
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.translation import gettext

from helpdesk.tenancy.context import tenant_context
from helpdesk.tenancy.models import Tenant
from tickets import selectors_status
from tickets.models import Customer

PORTAL_SALT = "portal-login"
PORTAL_LINK_MAX_AGE = 30 * 60
# At most this many sign-in emails per address and tenant within the window.
PORTAL_LINKS_PER_WINDOW = 5
PORTAL_LINK_WINDOW = 15 * 60


@dataclass(frozen=True)
class PortalLinkRequest:
    sent: bool  # an email went out (False: unknown address or throttled; never shown to people)
    throttled: bool = False


def _throttle_key(tenant: Tenant, email: str) -> str:
    digest = hashlib.sha256(email.encode()).hexdigest()[:32]
    return f"portal-link:{tenant.pk}:{digest}"


def _throttled(tenant: Tenant, email: str) -> bool:
    key = _throttle_key(tenant, email)
    cache.add(key, 0, PORTAL_LINK_WINDOW)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, PORTAL_LINK_WINDOW)
        count = 1
    return count > PORTAL_LINKS_PER_WINDOW


def portal_login_token(*, tenant: Tenant, customer: Customer) -> str:
    return signing.dumps(
        {"t": tenant.pk, "c": customer.pk, "e": customer.email}, salt=PORTAL_SALT, compress=False
    )


def portal_login_url(*, tenant: Tenant, customer: Customer) -> str:
    path = reverse("customer:portal-login", kwargs={"tenant_slug": tenant.slug})
    query = urlencode({"token": portal_login_token(tenant=tenant, customer=customer)})
    return f"{settings.HELPDESK_BASE_URL.rstrip('/')}{path}?{query}"


def portal_login_link_send(*, tenant: Tenant, email: str) -> PortalLinkRequest:
    """Email a sign-in link to ``email`` if it belongs to one of the tenant's customers."""
    email = (email or "").strip().lower()
    try:
        validate_email(email)
    except ValidationError as exc:
        raise ValidationError({"email": gettext("Enter a valid email address.")}) from exc
    if _throttled(tenant, email):
        return PortalLinkRequest(sent=False, throttled=True)
    with tenant_context(tenant):
        customer = selectors_status.portal_customer_by_email(tenant=tenant, email=email)
        if customer is None:
            return PortalLinkRequest(sent=False)
        context = {
            "tenant": tenant,
            "customer_name": customer.first_name,
            "url": portal_login_url(tenant=tenant, customer=customer),
            "minutes": PORTAL_LINK_MAX_AGE // 60,
        }
    subject = " ".join(render_to_string("tickets/email/portal_login_subject.txt", context).split())
    message = EmailMultiAlternatives(
        subject,
        render_to_string("tickets/email/portal_login.txt", context),
        None,
        [customer.email],
        headers={"Auto-Submitted": "auto-generated"},
    )
    message.attach_alternative(
        render_to_string("tickets/email/portal_login.html", context), "text/html"
    )
    message.send()
    return PortalLinkRequest(sent=True)


def portal_login_verify(*, tenant: Tenant, token: str) -> Customer | None:
    """The customer a genuine, unexpired sign-in token of *this* tenant names; else None."""
    if not token or len(token) > 400:
        return None
    try:
        data = signing.loads(token, salt=PORTAL_SALT, max_age=PORTAL_LINK_MAX_AGE)
    except signing.BadSignature:
        return None
    if not isinstance(data, dict) or data.get("t") != tenant.pk:
        return None
    customer_id = data.get("c")
    if not isinstance(customer_id, int) or isinstance(customer_id, bool):
        return None
    with tenant_context(tenant):
        customer = selectors_status.portal_customer_get(tenant=tenant, customer_id=customer_id)
    if customer is None or not customer.email or customer.email != data.get("e"):
        return None
    return customer
