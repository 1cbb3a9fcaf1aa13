"""Reads: the exact definitions, computed directly from the source tables.

These are the reference: small tenants, tests and the drill-down use them, and the rollup-based
selectors (``selectors.rollup``) must always return the same figures (tested on random data).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from django.conf import settings
from django.utils import timezone

from empathy_metrics.activity import activity_sources
from empathy_metrics.facts import (
    csat_facts,
    fact_matches,
    message_facts,
    nps_facts,
    ticket_facts,
)
from empathy_metrics.periods import Filters, Period, day_start, local_day
from empathy_metrics.selectors.settings import survey_settings_get
from empathy_metrics.tally import Tally, share
from helpdesk.tenancy.context import tenant_context
from helpdesk.tenancy.models import Tenant
from tickets.models import OPEN_STATUSES, Customer, Ticket
from tickets.services.sla import business_calendar_for


def tally_direct(*, tenant: Tenant, period: Period, filters: Filters) -> Tally:
    """Every fact of the period that passes the filters (NPS ignores them: it is per customer)."""
    tally = Tally()
    start_at, end_at, tz = period.start_at, period.end_at, period.tz
    with tenant_context(tenant):
        for fact in ticket_facts(
            tenant=tenant,
            start_at=start_at,
            end_at=end_at,
            tz=tz,
            calendar=business_calendar_for(tenant),
        ):
            if fact_matches(fact, filters):
                tally.add_ticket(fact)
        for fact in csat_facts(tenant=tenant, start_at=start_at, end_at=end_at, tz=tz):
            if fact_matches(fact, filters):
                tally.add_csat(fact)
        for fact in message_facts(tenant=tenant, start_at=start_at, end_at=end_at, tz=tz):
            if fact_matches(fact, filters):
                tally.add_message(fact)
        for fact in nps_facts(tenant=tenant, start_at=start_at, end_at=end_at, tz=tz):
            tally.add_nps(fact)
    return tally


def active_customers_direct(*, tenant: Tenant, day: date, active_days: int, tz) -> set[int]:
    """Customers with a contact on one of the ``active_days`` local days ending with ``day``."""
    start_at = day_start(day - timedelta(days=active_days - 1), tz)
    end_at = day_start(day + timedelta(days=1), tz)
    customers: set[int] = set()
    with tenant_context(tenant):
        for source in activity_sources():
            customers.update(source.customers_between(tenant, start_at, end_at))
    return customers


def retention_direct(*, tenant: Tenant, period: Period) -> dict:
    """(active at the end - new customers acquired during the period) / active at the start.

    "Active at the start" is active at the end of the day before the period. "New customers
    acquired during the period" are all customers first seen in the period (created in it and
    active on at least one of its days), also those acquired and lost within it.
    """
    active_days = survey_settings_get(tenant=tenant).active_days
    tz = period.tz
    at_start = active_customers_direct(
        tenant=tenant, day=period.start - timedelta(days=1), active_days=active_days, tz=tz
    )
    at_end = active_customers_direct(tenant=tenant, day=period.end, active_days=active_days, tz=tz)
    acquired = len(acquired_customers_direct(tenant=tenant, period=period, active_days=active_days))
    return retention_figures(start_active=len(at_start), end_active=len(at_end), acquired=acquired)


def acquired_customers_direct(*, tenant: Tenant, period: Period, active_days: int) -> set[int]:
    """Customers first seen in the period: created in it, with a contact that makes them active
    on one of its days (a contact on the ``active_days - 1`` days before it up to its end)."""
    seen_from = day_start(period.start - timedelta(days=active_days - 1), period.tz)
    seen: set[int] = set()
    with tenant_context(tenant):
        for source in activity_sources():
            seen.update(source.customers_between(tenant, seen_from, period.end_at))
        if not seen:
            return set()
        return set(
            Customer.objects.for_tenant(tenant)
            .filter(created_at__gte=period.start_at, created_at__lt=period.end_at)
            .filter(pk__in=list(seen))
            .values_list("pk", flat=True)
        )


# ``reason`` of a retention figure without a rate: fewer customers active at the start than
# ``settings.HELPDESK_RETENTION_MIN_START_ACTIVE`` (none at all included).
TOO_FEW_AT_START = "too_few_customers_at_start"


def retention_min_start_active() -> int:
    """The smallest starting base a retention rate is shown for (at least 1)."""
    return max(int(settings.HELPDESK_RETENTION_MIN_START_ACTIVE), 1)


def retention_figures(*, start_active: int, end_active: int, acquired: int) -> dict:
    """The retention rate, (end - acquired) / start, with its counts. Below the minimum starting
    base the rate would mean nothing (5 at the start, 200 at the end: 4000%): ``value`` is None
    and ``reason`` says why; the counts are kept."""
    minimum = retention_min_start_active()
    too_few = start_active < minimum
    return {
        "value": None if too_few else share(end_active - acquired, start_active),
        "start_active": start_active,
        "end_active": end_active,
        "acquired": acquired,
        "retained": end_active - acquired,
        "reason": TOO_FEW_AT_START if too_few else None,
        "min_start_active": minimum,
    }


def backlog_direct(*, tenant: Tenant, filters: Filters) -> int:
    """Open tickets (new, open, pending, on hold) right now that pass the filters."""
    with tenant_context(tenant):
        queryset = Ticket.objects.for_tenant(tenant).filter(
            status__in=OPEN_STATUSES, merged_into__isnull=True
        )
        if filters.channel is not None:
            queryset = queryset.filter(channel=filters.channel)
        if filters.group is not None:
            queryset = (
                queryset.filter(group__isnull=True)
                if filters.group == 0
                else queryset.filter(group_id=filters.group)
            )
        if filters.agent is not None:
            queryset = (
                queryset.filter(assignee__isnull=True)
                if filters.agent == 0
                else queryset.filter(assignee_id=filters.agent)
            )
        if filters.tag is not None:
            queryset = queryset.filter(tags__id=filters.tag).distinct()
        return queryset.count()


def metrics_direct(
    *, tenant: Tenant, period: Period, filters: Filters, now: datetime | None = None
) -> dict:
    """Every headline figure of the period, computed from the source tables."""
    now = now or timezone.now()
    figures = tally_direct(tenant=tenant, period=period, filters=filters).figures()
    figures["retention"] = retention_direct(tenant=tenant, period=period)
    figures["backlog"] = {
        "value": backlog_direct(tenant=tenant, filters=filters)
        if period.end >= local_day(now, period.tz)
        else None
    }
    return figures
