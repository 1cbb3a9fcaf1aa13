"""The agents' live chat page: waiting and active chats, a live conversation pane (over the
``ChatAgentConsumer`` socket, see static/js/chat_console.js), the widget's embed code and, for
admins, how long a chat waits before the widget offers email."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.views.decorators.http import require_GET, require_POST

from helpdesk.tenancy.decorators import tenant_view
from helpdesk.tenancy.policy import Perm, role_has_perm
from tickets import selectors_chat as selectors
from tickets.services.chat import MAX_WAIT_SECONDS, chat_settings_update


class ChatSettingsForm(forms.Form):
    chat_wait_seconds = forms.IntegerField(
        min_value=10,
        max_value=MAX_WAIT_SECONDS,
        label="Offer email after (seconds)",
        help_text="If no agent answers a new chat within this time, the widget offers the "
        "customer to continue by email.",
    )


def _list_context(request: HttpRequest) -> dict:
    chats = list(selectors.chat_session_list_open(tenant=request.tenant))
    return {
        "waiting": [c for c in chats if c.state == c.State.WAITING],
        "active": [c for c in chats if c.state == c.State.ACTIVE],
        "recent": selectors.chat_session_list_recent(tenant=request.tenant),
    }


@tenant_view(Perm.TICKETS_VIEW)
@require_GET
def chat_console(request: HttpRequest, tenant_slug: str) -> HttpResponse:
    tenant = request.tenant
    wait = selectors.chat_wait_seconds(tenant=tenant)
    helpdesk_origin = request.build_absolute_uri("/").rstrip("/")
    context = {
        **_list_context(request),
        "can_work": role_has_perm(request.membership.role, Perm.TICKETS_WORK),
        "can_configure": role_has_perm(request.membership.role, Perm.SETTINGS_MANAGE),
        "settings_form": ChatSettingsForm(initial={"chat_wait_seconds": wait}),
        "wait_seconds": wait,
        "widget_src": request.build_absolute_uri(static("js/chat_widget.js")),
        "helpdesk_origin": helpdesk_origin,
        "selected": request.GET.get("chat", "")[:40],
    }
    return render(request, "tickets/chat/console.html", context)


@tenant_view(Perm.TICKETS_VIEW)
@require_GET
def chat_list(request: HttpRequest, tenant_slug: str) -> HttpResponse:
    """The list of chats (a partial the page re-fetches when the socket says it changed)."""
    return render(request, "tickets/chat/_list.html", _list_context(request))


@tenant_view(Perm.SETTINGS_MANAGE)
@require_POST
def chat_settings(request: HttpRequest, tenant_slug: str) -> HttpResponse:
    form = ChatSettingsForm(request.POST)
    if not form.is_valid():
        for errors in form.errors.values():
            messages.error(request, " ".join(errors))
        return redirect("tickets:chat", tenant_slug=tenant_slug)
    try:
        intake = chat_settings_update(
            tenant=request.tenant,
            actor=request.user,
            chat_wait_seconds=form.cleaned_data["chat_wait_seconds"],
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(
            request,
            f"New chats now wait {intake.chat_wait_seconds} seconds for an agent before the "
            "widget offers email.",
        )
    return redirect("tickets:chat", tenant_slug=tenant_slug)
