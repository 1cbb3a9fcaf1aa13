"""Template tags of the journeys app.

For the agent's ticket page (owned by the tickets app, which must not import journeys' Python):

    {% load journey_tags %}{% journey_position ticket %}

renders a small card with the customer's position in each journey *when they wrote* (the ticket's
creation), e.g. "Purchase: stuck at Payment for 3 days", and where they are now when that moved.
Pass ``at=`` to ask about another moment (``{% journey_position ticket at=message.created_at %}``).
Nothing is rendered when the customer was in no journey then.
"""

from __future__ import annotations

from datetime import datetime

from django import template

from helpdesk.tenancy.policy import Perm, role_has_perm
from journeys.derive import Position
from journeys.selectors.positions import journey_positions_for_customer

register = template.Library()


@register.filter
def duration(seconds) -> str:
    """3 days, 5 h, 12 min, 40 s."""
    if seconds is None or seconds == "":
        return "—"
    seconds = int(float(seconds))
    if seconds >= 2 * 86400:
        return f"{round(seconds / 86400):,} days"
    if seconds >= 86400:
        return "1 day" if seconds < 36 * 3600 else f"{seconds / 86400:.1f} days"
    if seconds >= 3600:
        return f"{round(seconds / 3600)} h"
    if seconds >= 60:
        return f"{round(seconds / 60)} min"
    return f"{seconds} s"


@register.filter
def words(name: str) -> str:
    """churn_risk -> Churn risk."""
    return str(name).replace("_", " ").capitalize()


@register.filter
def pct(value, digits: int = 0) -> str:
    """0.4213 -> 42%. None -> —."""
    if value is None or value == "":
        return "—"
    return f"{float(value) * 100:.{int(digits)}f}%"


def position_phrase(position: Position, stage_name: str) -> str:
    waited = duration(position.for_seconds)
    if position.state == "completed":
        return "completed the journey"
    if position.state == "dropped":
        return f"dropped at {stage_name} (no progress for {waited})"
    if position.state == "stuck":
        return f"stuck at {stage_name} for {waited}"
    return f"at {stage_name} for {waited}"


@register.inclusion_tag("journeys/includes/journey_position.html", takes_context=True)
def journey_position(context, ticket, at: datetime | None = None) -> dict:
    tenant = context.get("current_tenant") or getattr(context.get("request"), "tenant", None)
    if tenant is None or ticket is None or ticket.tenant_id != tenant.pk:
        return {"positions": []}
    positions = journey_positions_for_customer(
        tenant=tenant, customer_id=ticket.customer_id, at=at or ticket.created_at
    )
    membership = context.get("current_membership") or getattr(
        context.get("request"), "membership", None
    )
    can_view = membership is not None and role_has_perm(membership.role, Perm.JOURNEYS_VIEW)
    rows = []
    for position in positions:
        then = position_phrase(position.then, position.stage_name)
        now = ""
        if position.moved_since and position.now is not None:
            now = position_phrase(position.now, position.now_stage_name)
        rows.append(
            {
                "journey": position.journey,
                "then": then,
                "state": position.then.state,
                "now": now,
                "stage": position.then.stage,
                "stage_count": len(position.stage_names),
            }
        )
    return {"positions": rows, "tenant": tenant, "can_view": can_view}


@register.simple_tag
def widthpct(*shares) -> str:
    """Sum of shares (0..1) as an SVG width on a 0..100 axis, e.g. 42.17."""
    total = sum(float(s or 0) for s in shares)
    return f"{max(0.0, min(100.0, total * 100)):.2f}"


@register.simple_tag
def state_phrase(state: str, seconds: int, stage_name: str) -> str:
    """The customer's state when they wrote, e.g. "stuck at Payment for 3 days"."""
    waited = duration(seconds)
    if state == "completed":
        return "had completed the journey"
    if state == "dropped":
        return f"had dropped at {stage_name} ({waited} idle)"
    if state == "stuck":
        return f"stuck at {stage_name} for {waited}"
    return f"at {stage_name} for {waited}"
