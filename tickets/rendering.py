"""Server-side rendering helpers for the busiest pages.

The queue shows 50 rows per page, and rendering a row through the template engine is the largest
cost of the page. Rows are therefore cached one by one: all keys of a page are read with a single
``get_many`` (one round trip), only the missing rows are loaded in full and rendered, and those are written back with
one ``set_many``. A key names everything a row shows that can change without the ticket's
``updated_at`` moving (the SLA stage, the mood set by the analysis), plus the viewer (the row says
"You" for one's own tickets; the check box depends on the role) and the time zone the dates are
shown in. What still changes without touching the key (a customer or agent renaming themselves)
is at most ``ROW_TTL`` seconds old.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.core.cache import cache
from django.template.loader import get_template
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe

from helpdesk.accounts.models import User
from helpdesk.tenancy.models import Tenant
from tickets.models import Ticket
from tickets.queue import queue_tickets_full

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
