"""Server-side rendering helpers for the busiest pages.

The queue shows 50 rows per page, and rendering a row through the template engine is the largest
cost of the page. Rows are therefore cached one by one: all keys of a page are read with a single
``get_many`` (one round trip), only the missing rows are loaded in full and rendered, and those are written back with
one ``set_many``. A key names everything a row shows that can change without the ticket's
``updated_at`` moving (the SLA stage, the mood set by the analysis), plus the viewer (the row says
"You" for one's own tickets; the check box depends on the role) and the time zone and language
the dates are shown in. What still changes without touching the key (a customer or agent
renaming themselves) is at most ``ROW_TTL`` seconds old.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence

from django.core.cache import cache
from django.db.models import Prefetch
from django.template.loader import get_template
from django.utils import timezone, translation
from django.utils.safestring import SafeString, mark_safe

from helpdesk.accounts.models import User
from helpdesk.tenancy.models import Tenant
from helpdesk.tenancy.policy import Perm, role_has_perm
from tickets import selectors
from tickets.directory import directory_list, directory_version
from tickets.models import (
    SIGNALS,
    AnalysisCorrection,
    Channel,
    MessageAnalysis,
    Priority,
    Status,
    Ticket,
)
from tickets.queue import MOODS, SORTS, QueueFilters, queue_tickets_full

ROW_TEMPLATE = "tickets/includes/queue_row.html"
ROW_TTL = 300  # seconds
ROW_KEY_VERSION = 2  # bump when queue_row.html changes what a row shows


def queue_row_keys(
    *, tenant: Tenant, user: User, tickets: Sequence[Ticket], can_work: bool
) -> list[str]:
    """The cache key of each ticket's row for this viewer (see the module's docstring)."""
    viewer = ":".join(
        str(part)
        for part in (
            "queue-row",
            ROW_KEY_VERSION,
            tenant.pk,
            user.pk,
            int(can_work),
            timezone.get_current_timezone_name(),
            translation.get_language(),  # month names (LocaleMiddleware)
        )
    )
    return [
        f"{viewer}:{t.pk}:{t.updated_at.timestamp()}:{t.sla_stage}:{t.mood_label}:"
        f"{t.mood_score}:{','.join(t.mood_signals or ())}"
        for t in tickets
    ]


def queue_rows_html(
    *, tenant: Tenant, user: User, tickets: Sequence[Ticket], can_work: bool
) -> list[SafeString]:
    """The rendered ``<tr>`` of each ticket, in order, from the cache where possible."""
    keys = queue_row_keys(tenant=tenant, user=user, tickets=tickets, can_work=can_work)
    cached = cache.get_many(keys) if keys else {}
    missing = [ticket.pk for key, ticket in zip(keys, tickets, strict=True) if key not in cached]
    full = queue_tickets_full(tenant=tenant, ids=missing) if missing else {}
    template = get_template(ROW_TEMPLATE) if missing else None
    fresh: dict[str, str] = {}
    rows: list[SafeString] = []
    for key, ticket in zip(keys, tickets, strict=True):
        html = cached.get(key)
        if html is None:
            html = template.render(
                {
                    "t": full.get(ticket.pk, ticket),
                    "current_tenant": tenant,
                    "user": user,
                    "can_work": can_work,
                }
            )
            fresh[key] = html
        rows.append(mark_safe(html))  # noqa: S308 - our own template's output, autoescaped
    if fresh:
        cache.set_many(fresh, ROW_TTL)
    return rows


# --- The ticket page ------------------------------------------------------------------------
#
# The conversation and the activity timeline are most of the ticket page's rendering, and they
# change far less often than the page is read (every agent with the ticket open re-reads it on
# each live event). Both are cached by what they show: the conversation by the version of its
# messages, analyses and corrections (one aggregate query instead of three reads) plus the latest
# event, the timeline by the latest event (every change of a ticket writes one). Names of people
# shown in them are at most ``FRAGMENT_TTL`` seconds old, like the queue rows.

THREAD_TEMPLATE = "tickets/includes/ticket_thread.html"
TIMELINE_TEMPLATE = "tickets/includes/ticket_timeline.html"
FRAGMENT_TTL = 300  # seconds
FRAGMENT_KEY_VERSION = 1  # bump when ticket_thread.html or ticket_timeline.html change
# The conversation's forms carry the viewer's CSRF token: the cached HTML holds this placeholder,
# replaced on every request (never cached with someone's token in it).
CSRF_SLOT = "csrf-slot-0d6f3c9e"


def _fragment_key(kind: str, tenant: Tenant, ticket: Ticket, *parts) -> str:
    return ":".join(
        str(part)
        for part in (
            kind,
            FRAGMENT_KEY_VERSION,
            tenant.pk,
            ticket.pk,
            timezone.get_current_timezone_name(),
            translation.get_language(),  # month and day names (LocaleMiddleware)
            *parts,
        )
    )


def ticket_thread_html(
    *,
    tenant: Tenant,
    ticket: Ticket,
    cursor: int,
    version: tuple,
    can_work: bool,
    csrf_token: str,
) -> SafeString:
    """The rendered conversation of ``ticket`` (``#ticket-thread``), from the cache if current.

    ``cursor`` and ``version`` come from ``selectors.ticket_page_versions``; ``can_work`` decides
    the correction forms.
    """
    key = _fragment_key(
        "ticket-thread",
        tenant,
        ticket,
        int(can_work),
        cursor,
        ticket.customer_id,
        *version,
    )
    html = cache.get(key)
    if html is None:
        figures = dict(zip(selectors.THREAD_VERSION_FIELDS, version, strict=True))
        # Prefetches that cannot find a row are not run (no analysis or correction yet).
        analyses = MessageAnalysis.objects.for_tenant(tenant)
        corrections = AnalysisCorrection.objects.for_tenant(tenant).select_related("corrected_by")
        conversation = selectors.message_list_for_ticket(
            tenant=tenant, ticket=ticket, include_internal=True
        ).prefetch_related(
            Prefetch("analyses", analyses if figures["analysis_count"] != "0" else analyses.none()),
            Prefetch(
                "corrections",
                corrections if figures["correction_count"] != "0" else corrections.none(),
            ),
        )
        html = get_template(THREAD_TEMPLATE).render(
            {
                "conversation": conversation,
                "ticket": ticket,
                "can_work": can_work,
                "current_tenant": tenant,
                "csrf_token": CSRF_SLOT,
            }
        )
        cache.set(key, html, FRAGMENT_TTL)
    return mark_safe(html.replace(CSRF_SLOT, str(csrf_token)))  # noqa: S308 - our template


def ticket_timeline_html(*, tenant: Tenant, ticket: Ticket, cursor: int) -> SafeString:
    """The rendered activity timeline of ``ticket``, from the cache if no event came since."""
    key = _fragment_key("ticket-timeline", tenant, ticket, cursor, ticket.customer_id)
    html = cache.get(key)
    if html is None:
        html = get_template(TIMELINE_TEMPLATE).render(
            {
                "events": selectors.ticket_events_recent(tenant=tenant, ticket=ticket),
                "ticket": ticket,
                "current_tenant": tenant,
            }
        )
        cache.set(key, html, FRAGMENT_TTL)
    return mark_safe(html)  # noqa: S308 - our own template's output, autoescaped


# --- The queue's filter bar and bulk actions ---------------------------------------------------
#
# Most of the queue page's own markup: a menu per filter, the member, group and tag pickers (one
# option per member, twice) and the bulk actions. It shows the viewer's filters and the tenant's
# directory, nothing that changes with the tickets, so it is cached per viewer, filters and
# directory version (a new member, group or tag, or a member's new name, changes the version at
# once). The bulk form's CSRF token is put in per request.

TOOLBAR_TEMPLATE = "tickets/includes/queue_toolbar.html"
TOOLBAR_KEY_VERSION = 1  # bump when queue_toolbar.html changes


def _toolbar_context(*, tenant: Tenant, user: User, filters: QueueFilters, can_work: bool) -> dict:
    return {
        "current_tenant": tenant,
        "user": user,
        "filters": filters,
        "can_work": can_work,
        "statuses": Status.choices,
        "priorities": Priority.choices,
        "channels": Channel.choices,
        "members": [
            m
            for m in directory_list(tenant=tenant, name="members")
            if role_has_perm(m.role, Perm.TICKETS_WORK)
        ],
        "groups": directory_list(tenant=tenant, name="groups"),
        "tags": directory_list(tenant=tenant, name="tags"),
        "moods": MOODS,
        "signals": [(name, name.replace("_", " ").capitalize()) for name in SIGNALS],
        "sorts": [(key, label) for key, (_field, label) in SORTS.items()],
        "csrf_token": CSRF_SLOT,
    }


def queue_toolbar_html(
    *, tenant: Tenant, user: User, filters: QueueFilters, can_work: bool, csrf_token: str
) -> SafeString:
    """The rendered filter bar and bulk actions of the queue page, from the cache if current."""
    version = directory_version(tenant=tenant)
    shown = hashlib.sha256(json.dumps(filters.as_dict(), sort_keys=True).encode()).hexdigest()
    key = ":".join(
        str(part)
        for part in (
            "queue-toolbar",
            TOOLBAR_KEY_VERSION,
            tenant.pk,
            user.pk,
            int(can_work),
            translation.get_language(),
            version,
            shown[:32],
        )
    )
    html = cache.get(key) if version is not None else None
    if html is None:
        context = _toolbar_context(tenant=tenant, user=user, filters=filters, can_work=can_work)
        html = get_template(TOOLBAR_TEMPLATE).render(context)
        if version is not None:
            cache.set(key, html, FRAGMENT_TTL)
    return mark_safe(html.replace(CSRF_SLOT, str(csrf_token)))  # noqa: S308 - our template
