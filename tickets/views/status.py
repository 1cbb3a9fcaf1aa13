"""The customer's live status page (``/status/<token>/``) and the staff "customer view".

The token binds the tenant and the ticket, so these routes live outside ``/t/<slug>/`` and the
tenant middleware does not apply: each view resolves the link, then enters ``tenant_context``
itself. Unknown, rotated and expired links all get the same friendly 404.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from functools import wraps

from django.conf import settings
from django.contrib import messages
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext
from django.views.decorators.http import require_GET, require_POST

from helpdesk.tenancy.context import tenant_context
from helpdesk.tenancy.decorators import tenant_view
from helpdesk.tenancy.models import Tenant
from helpdesk.tenancy.policy import Perm, role_has_perm
from tickets import selectors, selectors_status
from tickets.forms_status import StatusLinkExpiryForm, StatusReplyForm
from tickets.models import StatusLink, Ticket
from tickets.services.status import (
    status_link_expire,
    status_link_rotate,
    status_reply_create,
    status_summary_for,
    status_viewer_token,
)
from tickets.services.webform import client_address, rate_limit_hit

NO_STORE = {
    "Cache-Control": "private, no-store",
    "X-Robots-Tag": "noindex, nofollow",
    "Referrer-Policy": "no-referrer",
}


def _with_headers(response: HttpResponse) -> HttpResponse:
    for name, value in NO_STORE.items():
        response[name] = value
    return response


def _invalid_link(request: HttpRequest, *, json: bool = False) -> HttpResponse:
    message = gettext("This status link is no longer valid.")
    if json:
        return _with_headers(JsonResponse({"message": message}, status=404))
    return _with_headers(render(request, "tickets/status/link_invalid.html", status=404))


def _wants_json(request: HttpRequest) -> bool:
    return "application/json" in request.headers.get("Accept", "")


# Per client address: requests to status links (pages and the polling fallback), and lookups of
# unknown or expired tokens (guessing). Past either, 429 until the window ends.
LOOKUPS_PER_MINUTE = 120
MISSES_PER_WINDOW = 30
MISS_WINDOW_SECONDS = 10 * 60


def _rate_limited(request: HttpRequest, *, json: bool) -> HttpResponse | None:
    address = client_address(
        remote_addr=request.META.get("REMOTE_ADDR", ""),
        forwarded_for=request.META.get("HTTP_X_FORWARDED_FOR", ""),
    )
    too_many_misses = (cache.get(f"status-miss:{address}") or 0) >= MISSES_PER_WINDOW
    if not too_many_misses and not rate_limit_hit(
        key=f"status-hit:{address}", limit=LOOKUPS_PER_MINUTE, window=60
    ):
        return None
    message = gettext("Too many requests from your network. Please wait a few minutes.")
    if json:
        response = JsonResponse({"message": message}, status=429)
    else:
        response = HttpResponse(message, status=429, content_type="text/plain; charset=utf-8")
    response["Retry-After"] = str(MISS_WINDOW_SECONDS if too_many_misses else 60)
    return _with_headers(response)


def _count_miss(request: HttpRequest) -> None:
    address = client_address(
        remote_addr=request.META.get("REMOTE_ADDR", ""),
        forwarded_for=request.META.get("HTTP_X_FORWARDED_FOR", ""),
    )
    rate_limit_hit(
        key=f"status-miss:{address}", limit=MISSES_PER_WINDOW, window=MISS_WINDOW_SECONDS
    )


def status_link_view(*, json: bool = False) -> Callable:
    """Resolve ``token`` to its link, tenant and ticket; run the view inside the tenant's scope
    and time zone. Anything but an active link is the same 404. Rate-limited per client address
    (``_rate_limited``)."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapper(request: HttpRequest, token: str) -> HttpResponse:
            limited = _rate_limited(request, json=json or _wants_json(request))
            if limited is not None:
                return limited
            link = selectors_status.status_link_resolve(token=token)
            if link is None:
                _count_miss(request)
                return _invalid_link(request, json=json or _wants_json(request))
            tenant = link.tenant
            with tenant_context(tenant), timezone.override(tenant.time_zone):
                ticket = selectors_status.status_ticket_get(tenant=tenant, ticket_id=link.ticket_id)
                if ticket is None:
                    return _invalid_link(request, json=json or _wants_json(request))
                return _with_headers(view(request, tenant=tenant, link=link, ticket=ticket))

        return wrapper

    return decorator


def _page_context(
    request: HttpRequest,
    *,
    tenant: Tenant,
    ticket: Ticket,
    link: StatusLink | None,
    read_only: bool,
) -> dict:
    timeline = selectors_status.status_timeline(tenant=tenant, ticket=ticket)
    summary = status_summary_for(tenant=tenant, ticket=ticket)
    live = not read_only and link is not None
    merged_into_link = None
    if ticket.merged_into_id and ticket.merged_into.customer_id == ticket.customer_id:
        merged_into_link = selectors_status.status_link_active_for(
            tenant=tenant, ticket_id=ticket.merged_into_id
        )
    config = {}
    if live:
        config = {
            # The newest entry shown: the socket replays from here (nothing falls in between).
            "cursor": timeline[-1].cursor if timeline else 0,
            "wsPath": f"/ws/status/{status_viewer_token(link=link)}/",
            "pollUrl": reverse("status:events", args=[link.token]),
            "replyUrl": reverse("status:reply", args=[link.token]),
            "tenantTimeZone": tenant.time_zone,
            # The socket speaks the site's language; a page in another one fetches its words.
            "liveLanguage": settings.LANGUAGE_CODE,
        }
    return {
        "status_tenant": tenant,
        "ticket": ticket,
        "reference": ticket.reference_with(tenant.reference_prefix),
        "link": link,
        "summary": summary,
        "timeline": timeline,
        "read_only": read_only,
        "live": live,
        "reply_form": StatusReplyForm(),
        "merged_into_link": merged_into_link,
        "status_config": config,
        "status_strings": _strings(),
    }


def _strings() -> dict[str, str]:
    """Strings the page's script shows, localised here (the script has no catalogue)."""
    return {
        "live": gettext("Live"),
        "progress": gettext("Progress of your request"),
        "connecting": gettext("Connecting…"),
        "polling": gettext("Updating every few seconds"),
        "offline": gettext("Offline: retrying…"),
        "revoked": gettext("This status link is no longer valid. Please use the newest link."),
        "newReply": gettext("New reply from %(name)s"),
        "update": gettext("Update on your request"),
        "you": gettext("You"),
        "sent": gettext("Your message was sent."),
        "sendFailed": gettext("Your message could not be sent. Please try again."),
        "yourTime": gettext("That is %(time)s your time."),
        "notifyOn": gettext("Browser notifications are on."),
        "notifyBlocked": gettext("Notifications are blocked in your browser settings."),
    }


@require_GET
@status_link_view()
def status_page(request: HttpRequest, *, tenant, link, ticket) -> HttpResponse:
    context = _page_context(request, tenant=tenant, ticket=ticket, link=link, read_only=False)
    return render(request, "tickets/status/page.html", context)


def _cursor_param(request: HttpRequest) -> int | None:
    raw = request.GET.get("cursor", "0").strip() or "0"
    if not raw.isdigit() or len(raw) > 18:
        return None
    return int(raw)


@require_GET
@status_link_view(json=True)
def status_events(request: HttpRequest, *, tenant, link, ticket) -> HttpResponse:
    """The polling fallback and the catch-up after a reconnect: public events after ``cursor``
    (oldest first, at most 200; ``more`` says to ask again), the current summary and a fresh
    viewer token for the socket."""
    cursor = _cursor_param(request)
    if cursor is None:
        return JsonResponse({"message": gettext("cursor must be a whole number.")}, status=400)
    entries, more = selectors_status.status_events_since(
        tenant=tenant, ticket=ticket, cursor=cursor
    )
    events = [entry.as_dict() for entry in entries]
    return JsonResponse(
        {
            "events": events,
            "more": more,
            "cursor": events[-1]["cursor"] if events else cursor,
            "summary": status_summary_for(tenant=tenant, ticket=ticket),
            "wsPath": f"/ws/status/{status_viewer_token(link=link)}/",
        }
    )


REPLIES_PER_WINDOW = 20
REPLY_WINDOW_SECONDS = 10 * 60


def _reply_throttled(link: StatusLink) -> bool:
    """At most ``REPLIES_PER_WINDOW`` replies per link and window (a leaked link cannot flood
    the ticket)."""
    key = f"status-reply:{link.pk}"
    cache.add(key, 0, REPLY_WINDOW_SECONDS)
    try:
        return cache.incr(key) > REPLIES_PER_WINDOW
    except ValueError:  # expired between add and incr
        cache.set(key, 1, REPLY_WINDOW_SECONDS)
        return False


@require_POST
@status_link_view()
def status_reply(request: HttpRequest, *, tenant, link, ticket) -> HttpResponse:
    """The customer's reply box. JSON for the page's script, a redirect otherwise."""
    form = StatusReplyForm(request.POST)
    as_json = _wants_json(request)
    error = ""
    if _reply_throttled(link):
        message = gettext("You have sent many messages in a short time. Please wait a few minutes.")
        if as_json:
            return JsonResponse({"message": message}, status=429)
        messages.error(request, message)
        return redirect(reverse("status:page", args=[link.token]) + "#reply")
    if not form.is_valid():
        error = " ".join(" ".join(errors) for errors in form.errors.values())
    else:
        try:
            status_reply_create(tenant=tenant, ticket=ticket, body=form.cleaned_data["body"])
        except ValidationError as exc:
            error = " ".join(exc.messages)
    if as_json:
        if error:
            return JsonResponse({"message": error}, status=400)
        return JsonResponse({"message": gettext("Your message was sent.")}, status=201)
    if error:
        messages.error(request, error)
    else:
        messages.success(request, gettext("Your message was sent."))
    return redirect(reverse("status:page", args=[link.token]) + "#reply")


# --- staff: "see what the customer sees" ---------------------------------------------------


def _ticket_or_404(request: HttpRequest, number: int) -> Ticket:
    ticket = selectors.ticket_get_by_number(tenant=request.tenant, number=number)
    if ticket is None:
        raise Http404("Not found.")
    return selectors_status.status_ticket_get(tenant=request.tenant, ticket_id=ticket.pk)


@tenant_view(Perm.TICKETS_VIEW)
@require_GET
def customer_view(request: HttpRequest, tenant_slug: str, number: int) -> HttpResponse:
    """The customer's status page of a ticket, read-only, inside the staff layout."""
    tenant = request.tenant
    ticket = _ticket_or_404(request, number)
    link = selectors_status.status_link_active_for(tenant=tenant, ticket_id=ticket.pk)
    context = _page_context(request, tenant=tenant, ticket=ticket, link=link, read_only=True)
    context.update(
        {
            "can_work": role_has_perm(request.membership.role, Perm.TICKETS_WORK),
            "expiry_form": StatusLinkExpiryForm(),
            "public_url": request.build_absolute_uri(reverse("status:page", args=[link.token]))
            if link
            else "",
        }
    )
    return render(request, "tickets/status/customer_view.html", context)


def _link_action(handler: Callable) -> Callable:
    @tenant_view(Perm.TICKETS_WORK)
    @require_POST
    @wraps(handler)
    def view(request: HttpRequest, tenant_slug: str, number: int) -> HttpResponse:
        ticket = _ticket_or_404(request, number)
        try:
            note = handler(request, ticket)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, note)
        return redirect("customer:customer-view", tenant_slug=tenant_slug, number=number)

    return view


@_link_action
def status_link_rotate_view(request: HttpRequest, ticket: Ticket) -> str:
    status_link_rotate(tenant=request.tenant, actor=request.user, ticket=ticket)
    return gettext("New status link created. The old one no longer works.")


@_link_action
def status_link_expiry_view(request: HttpRequest, ticket: Ticket) -> str:
    form = StatusLinkExpiryForm(request.POST)
    if not form.is_valid():
        raise ValidationError(
            " ".join(" ".join(errors) for errors in form.errors.values())
            or gettext("Give a number of days.")
        )
    days = form.cleaned_data["days"]
    expires_at = timezone.now() + timedelta(days=days) if days is not None else None
    status_link_expire(
        tenant=request.tenant, actor=request.user, ticket=ticket, expires_at=expires_at
    )
    if expires_at is None:
        return gettext("The status link no longer expires.")
    if days == 0:
        return gettext("The status link was switched off.")
    return gettext("The status link now expires in %(days)d days.") % {"days": days}
