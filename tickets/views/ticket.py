"""The ticket page and its actions. Every action is a POST that calls one service."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.middleware.csrf import get_token
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from helpdesk.tenancy.context import tenant_context
from helpdesk.tenancy.decorators import tenant_view
from helpdesk.tenancy.policy import Perm, role_has_perm
from helpdesk.tenancy.selectors import membership_list
from tickets import selectors, services
from tickets.directory import directory_list
from tickets.forms import (
    AssignForm,
    DeescalateForm,
    EscalateForm,
    MergeForm,
    PriorityForm,
    ReplyForm,
    StatusForm,
    TagsForm,
)
from tickets.models import CustomFieldDefinition, Group, Macro, Priority, Status, Ticket
from tickets.rendering import ticket_thread_html, ticket_timeline_html
from tickets.services.assignment import ticket_take
from tickets.services.escalation import ticket_deescalate, ticket_escalate_and_route
from tickets.services.fields import (
    ticket_custom_fields_set,
    ticket_set_priority,
    ticket_tags_change,
)
from tickets.services.macros import macro_apply, macro_render
from tickets.services.merge import ticket_merge


def _ticket_or_404(request: HttpRequest, number: int) -> Ticket:
    ticket = selectors.ticket_get_by_number(tenant=request.tenant, number=number)
    if ticket is None:
        raise Http404("Not found.")
    return ticket


@tenant_view(Perm.TICKETS_VIEW)
def ticket_page(request: HttpRequest, tenant_slug: str, number: int) -> HttpResponse:
    tenant = request.tenant
    ticket = _ticket_or_404(request, number)
    can_work = role_has_perm(request.membership.role, Perm.TICKETS_WORK)
    members = [
        m
        for m in directory_list(tenant=tenant, name="members")
        if role_has_perm(m.role, Perm.TICKETS_WORK)
    ]
    groups = directory_list(tenant=tenant, name="groups")
    definitions = directory_list(tenant=tenant, name="field_definitions")
    cursor, thread_version = selectors.ticket_page_versions(tenant=tenant, ticket=ticket)
    context = {
        "ticket": ticket,
        "reference": ticket.reference_with(tenant.reference_prefix),
        "thread": ticket_thread_html(
            tenant=tenant,
            ticket=ticket,
            cursor=cursor,
            version=thread_version,
            can_work=can_work,
            csrf_token=get_token(request),
        ),
        "timeline": ticket_timeline_html(tenant=tenant, ticket=ticket, cursor=cursor),
        "other_tickets": selectors.ticket_list_other_for_customer(tenant=tenant, ticket=ticket),
        "tags": sorted(ticket.tags.values_list("name", flat=True)),
        "custom_fields": [(d, ticket.custom_fields.get(d.key, "")) for d in definitions],
        "can_work": can_work,
        "reply_form": ReplyForm(),
        "macros": directory_list(tenant=tenant, name="macros") if can_work else [],
        "members": members,
        "escalation_groups": [g for g in groups if g.tier > ticket.tier],
        "deescalation_groups": [g for g in groups if g.tier < ticket.tier],
        "statuses": Status.choices,
        "priorities": Priority.choices,
        "cursor": cursor,
        "sla_targets": _sla_targets(ticket),
        "repeat_of": ticket.repeat_of,
    }
    return render(request, "tickets/ticket.html", context)


def _sla_targets(ticket: Ticket) -> list[dict]:
    if not ticket.is_open:
        return []
    targets = [
        ("First response", ticket.first_response_due_at),
        ("Next response", ticket.next_response_due_at),
        ("Resolution", ticket.resolution_due_at),
    ]
    return [{"label": label, "due": due} for label, due in targets if due]


def ticket_action(form_class: type | None = None) -> Callable:
    """A POST action on one ticket: parse the form, call the service, say what happened, go back.

    Service ``ValidationError``s become error messages on the page (never a 500, never a blank
    page); nothing of a refused action is kept.
    """

    def decorator(handler: Callable) -> Callable:
        @tenant_view(Perm.TICKETS_WORK)
        @require_POST
        @wraps(handler)
        def view(request: HttpRequest, tenant_slug: str, number: int) -> HttpResponse:
            ticket = _ticket_or_404(request, number)
            form = form_class(request.POST) if form_class else None
            if form is not None and not form.is_valid():
                for field, errors in form.errors.items():
                    messages.error(
                        request, f"{field.replace('_', ' ').capitalize()}: {' '.join(errors)}"
                    )
                return redirect("tickets:ticket-page", tenant_slug=tenant_slug, number=number)
            try:
                with tenant_context(request.tenant):
                    note = handler(request, ticket, form.cleaned_data if form else {})
            except ValidationError as exc:
                messages.error(request, " ".join(exc.messages))
            else:
                if note:
                    messages.success(request, note)
            if request.POST.get("next") == "queue":
                return redirect("tickets:queue", tenant_slug=tenant_slug)
            return redirect("tickets:ticket-page", tenant_slug=tenant_slug, number=number)

        return view

    return decorator


@ticket_action(ReplyForm)
def ticket_reply(request, ticket, data) -> str:
    tenant = request.tenant
    macro = None
    if data.get("macro"):
        macro = Macro.objects.for_tenant(tenant).filter(public_id=data["macro"]).first()
        if macro is None:
            raise ValidationError("That macro no longer exists.")
    if macro is not None:
        macro_apply(
            tenant=tenant,
            actor=request.user,
            ticket=ticket,
            macro=macro,
            body=data["body"],
            is_internal=data["internal"],
        )
    else:
        services.message_create(
            tenant=tenant,
            ticket=ticket,
            body=data["body"],
            author_user=request.user,
            is_internal=data["internal"],
        )
    if data.get("set_status"):
        services.ticket_set_status(
            tenant=tenant, actor=request.user, ticket=ticket, status=data["set_status"]
        )
    return "Note added." if data["internal"] else "Reply sent."


@ticket_action(StatusForm)
def ticket_status(request, ticket, data) -> str:
    services.ticket_set_status(
        tenant=request.tenant, actor=request.user, ticket=ticket, status=data["status"]
    )
    return f"Status set to {Status(data['status']).label.lower()}."


@ticket_action(PriorityForm)
def ticket_priority(request, ticket, data) -> str:
    ticket_set_priority(
        tenant=request.tenant, actor=request.user, ticket=ticket, priority=data["priority"]
    )
    return "Priority changed."


@ticket_action()
def ticket_take_it(request, ticket, data) -> str:
    ticket_take(tenant=request.tenant, actor=request.user, ticket=ticket)
    return "You took this ticket."


@ticket_action(AssignForm)
def ticket_assign(request, ticket, data) -> str:
    assignee = None
    if data["assignee"] is not None:
        member = next(
            (m for m in membership_list(tenant=request.tenant) if m.user_id == data["assignee"]),
            None,
        )
        if member is None:
            raise ValidationError("That person is not a member of this helpdesk.")
        assignee = member.user
    services.ticket_assign(
        tenant=request.tenant, actor=request.user, ticket=ticket, assignee=assignee
    )
    return f"Assigned to {assignee.get_short_name()}." if assignee else "Unassigned."


def _group(request, group_id: int) -> Group:
    group = Group.objects.for_tenant(request.tenant).filter(pk=group_id).first()
    if group is None:
        raise ValidationError("Choose a group.")
    return group


@ticket_action(EscalateForm)
def ticket_escalate(request, ticket, data) -> str:
    group = _group(request, data["group"])
    ticket_escalate_and_route(
        tenant=request.tenant, actor=request.user, ticket=ticket, group=group, reason=data["reason"]
    )
    return f"Escalated to {group.name}."


@ticket_action(DeescalateForm)
def ticket_deescalate_view(request, ticket, data) -> str:
    group = _group(request, data["group"])
    ticket_deescalate(
        tenant=request.tenant,
        actor=request.user,
        ticket=ticket,
        group=group,
        reason=data.get("reason", ""),
    )
    return f"Handed back to {group.name}."


@ticket_action(TagsForm)
def ticket_tags(request, ticket, data) -> str:
    remove = [data["remove"]] if data.get("remove") else []
    ticket_tags_change(
        tenant=request.tenant, actor=request.user, ticket=ticket, add=data["add"], remove=remove
    )
    return "Tags updated."


@ticket_action()
def ticket_fields(request, ticket, data) -> str:
    keys = {d.key for d in CustomFieldDefinition.objects.for_tenant(request.tenant)}
    values = {key: request.POST.get(f"cf_{key}", "") for key in keys if f"cf_{key}" in request.POST}
    ticket_custom_fields_set(
        tenant=request.tenant, actor=request.user, ticket=ticket, values=values
    )
    return "Fields saved."


@ticket_action(MergeForm)
def ticket_merge_view(request, ticket, data) -> str:
    target = selectors.ticket_get_by_number(tenant=request.tenant, number=data["target"])
    if target is None:
        raise ValidationError("There is no ticket with that number.")
    ticket_merge(tenant=request.tenant, actor=request.user, source=ticket, target=target)
    return f"Merged into {request.tenant.reference_prefix}-{target.number}."


@tenant_view(Perm.TICKETS_WORK)
@require_GET
def macro_preview(request: HttpRequest, tenant_slug: str, number: int, public_id) -> JsonResponse:
    ticket = _ticket_or_404(request, number)
    macro = Macro.objects.for_tenant(request.tenant).filter(public_id=public_id).first()
    if macro is None:
        raise Http404("Not found.")
    return JsonResponse(
        {
            "body": macro_render(
                tenant=request.tenant, macro=macro, ticket=ticket, agent=request.user
            ),
            "set_status": macro.set_status,
            "set_priority": macro.set_priority,
            "add_tags": macro.add_tags,
        }
    )
