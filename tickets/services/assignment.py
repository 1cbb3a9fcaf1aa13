"""Who works a ticket: manual assignment, "take it", and automatic routing within a group."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db.models import Count

from helpdesk.accounts.models import User
from helpdesk.tenancy.context import tenant_context
from helpdesk.tenancy.models import Membership, Tenant
from helpdesk.tenancy.policy import Perm, role_has_perm
from tickets.directory import directory_changed
from tickets.models import OPEN_STATUSES, Group, GroupMember, Ticket
from tickets.services.core import ticket_assign


def assignable_agents(*, tenant: Tenant, group: Group) -> list[User]:
    """Members of ``group`` who may work tickets and are not marked away, by id."""
    with tenant_context(tenant):
        user_ids = (
            GroupMember.objects.for_tenant(tenant)
            .filter(group=group)
            .values_list("user_id", flat=True)
        )
        memberships = (
            Membership.objects.filter(
                tenant=tenant, user_id__in=list(user_ids), is_away=False, user__is_active=True
            )
            .select_related("user")
            .order_by("user_id")
        )
        return [m.user for m in memberships if role_has_perm(m.role, Perm.TICKETS_WORK)]


def _next_round_robin(candidates: list[User], last_user_id: int | None) -> User:
    if last_user_id is not None:
        for user in candidates:
            if user.pk > last_user_id:
                return user
    return candidates[0]


def _least_loaded(*, tenant: Tenant, candidates: list[User], last_user_id: int | None) -> User:
    loads = dict(
        Ticket.objects.for_tenant(tenant)
        .filter(assignee__in=candidates, status__in=OPEN_STATUSES)
        .values_list("assignee_id")
        .annotate(n=Count("id"))
        .values_list("assignee_id", "n")
    )
    fewest = min(loads.get(u.pk, 0) for u in candidates)
    tied = [u for u in candidates if loads.get(u.pk, 0) == fewest]
    return _next_round_robin(tied, last_user_id)


def ticket_auto_assign(*, tenant: Tenant, ticket: Ticket, actor: User | None = None) -> User | None:
    """Assign by the ticket's group's rule (round-robin or load-balanced). None when the group is
    manual, or nobody is available (the ticket stays in the group's unassigned view)."""
    with tenant_context(tenant):
        ticket = Ticket.objects.for_tenant(tenant).get(pk=ticket.pk)
        if ticket.group_id is None:
            return None
        group = Group.objects.for_tenant(tenant).select_for_update().get(pk=ticket.group_id)
        if group.assignment == "manual":
            return None
        candidates = assignable_agents(tenant=tenant, group=group)
        if not candidates:
            return None
        if group.assignment == "load_balanced":
            chosen = _least_loaded(
                tenant=tenant, candidates=candidates, last_user_id=group.last_assigned_user_id
            )
        else:
            chosen = _next_round_robin(candidates, group.last_assigned_user_id)
        group.last_assigned_user_id = chosen.pk
        group.save(update_fields=["last_assigned_user_id"])
        ticket_assign(tenant=tenant, actor=actor, ticket=ticket, assignee=chosen)
        return chosen


def ticket_take(*, tenant: Tenant, actor: User, ticket: Ticket) -> Ticket:
    """ "Take it": the acting agent assigns the ticket to themself."""
    membership = Membership.objects.filter(tenant=tenant, user=actor).first()
    if membership is None or not role_has_perm(membership.role, Perm.TICKETS_WORK):
        raise ValidationError("Only agents can take tickets.")
    return ticket_assign(tenant=tenant, actor=actor, ticket=ticket, assignee=actor)


def member_set_away(*, tenant: Tenant, actor: User, user: User, is_away: bool) -> Membership:
    """Mark a person away (no automatic assignment) or back."""
    updated = Membership.objects.filter(tenant=tenant, user=user).update(is_away=is_away)
    if not updated:
        raise ValidationError("That person is not a member of this helpdesk.")
    directory_changed(tenant.pk)  # an update() sends no signal: the pages' member lists
    return Membership.objects.get(tenant=tenant, user=user)
