"""Email pages: the admin page of mailboxes and intake settings, and attachment downloads."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from helpdesk.tenancy.decorators import tenant_view
from helpdesk.tenancy.navigation import NavEntry, register
from helpdesk.tenancy.policy import Perm
from tickets import services
from tickets.email import selectors
from tickets.email.attachments import served_content_type
from tickets.models import InboundEmail, Mailbox

# Registered with the URLs that serve it (the URLconf is loaded before any page renders).
register(NavEntry("Email", "tickets:mailboxes", Perm.SETTINGS_MANAGE, "admin", "mail"))

RECENT_INBOUND = 25


class MailboxForm(forms.Form):
    host = forms.CharField(
        max_length=200, widget=forms.TextInput(attrs={"placeholder": "imap.example.com"})
    )
    port = forms.IntegerField(min_value=1, max_value=65535, initial=993)
    use_tls = forms.BooleanField(
        required=False,
        initial=True,
        label="Implicit TLS (port 993)",
        help_text="Off: STARTTLS on port 143. Mail is never read over an unencrypted connection.",
    )
    username = forms.CharField(
        max_length=200, widget=forms.TextInput(attrs={"autocomplete": "off"})
    )
    password = forms.CharField(
        max_length=500,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text="An app password if your provider offers them. It is never shown again.",
    )
    folder = forms.CharField(max_length=100, initial="INBOX")


class EmailSettingsForm(forms.Form):
    support_address = forms.EmailField(
        required=False,
        max_length=254,
        label="Support address",
        help_text="Where customers write. Replies are sent from it; mail from it is never a ticket.",
    )
    auto_reply = forms.BooleanField(
        required=False,
        label="Acknowledge new tickets by email",
        help_text="Never sent to auto-replies, bounces or no-reply addresses.",
    )


def _form_errors_from(exc: ValidationError, form: forms.Form) -> None:
    if hasattr(exc, "error_dict"):
        for field, errors in exc.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc)


def _page(
    request: HttpRequest,
    *,
    mailbox_form: MailboxForm | None = None,
    settings_form: EmailSettingsForm | None = None,
    secret: str = "",
    status: int = 200,
) -> HttpResponse:
    tenant = request.tenant
    intake = selectors.intake_settings_get(tenant=tenant)
    inbound_path = reverse("api-tickets:email-inbound", kwargs={"tenant_slug": tenant.slug})
    context = {
        "mailboxes": selectors.mailbox_list(tenant=tenant),
        "mailbox_form": mailbox_form or MailboxForm(),
        "settings_form": settings_form
        or EmailSettingsForm(
            initial={"support_address": intake.support_address, "auto_reply": intake.auto_reply}
        ),
        "has_secret": bool(intake.inbound_secret),
        "secret": secret,
        "inbound_url": settings.HELPDESK_BASE_URL.rstrip("/") + inbound_path,
        "recent": selectors.inbound_email_list(tenant=tenant)[:RECENT_INBOUND],
        "states": InboundEmail.State,
        "max_mb": settings.HELPDESK_EMAIL_MAX_BYTES // (1024 * 1024),
        "retryable": {InboundEmail.State.FAILED, InboundEmail.State.REJECTED},
    }
    return render(request, "tickets/mailboxes.html", context, status=status)


@tenant_view(Perm.SETTINGS_MANAGE)
@require_http_methods(["GET", "POST"])
def mailboxes_page(request: HttpRequest, tenant_slug: str) -> HttpResponse:
    """The mailboxes polled for this helpdesk, the inbound webhook and the email settings."""
    if request.method == "GET":
        return _page(request)
    form = MailboxForm(request.POST)
    if form.is_valid():
        try:
            mailbox = services.mailbox_create(
                tenant=request.tenant, actor=request.user, **form.cleaned_data
            )
        except ValidationError as exc:
            _form_errors_from(exc, form)
        else:
            messages.success(request, f"{mailbox} is polled every minute from now on.")
            return redirect("tickets:mailboxes", tenant_slug=tenant_slug)
    return _page(request, mailbox_form=form, status=400)


@tenant_view(Perm.SETTINGS_MANAGE)
@require_POST
def email_settings_save(request: HttpRequest, tenant_slug: str) -> HttpResponse:
    form = EmailSettingsForm(request.POST)
    if form.is_valid():
        try:
            services.intake_email_settings_update(
                tenant=request.tenant, actor=request.user, **form.cleaned_data
            )
        except ValidationError as exc:
            _form_errors_from(exc, form)
        else:
            messages.success(request, "Email settings saved.")
            return redirect("tickets:mailboxes", tenant_slug=tenant_slug)
    return _page(request, settings_form=form, status=400)


@tenant_view(Perm.SETTINGS_MANAGE)
@require_POST
def inbound_secret_rotate(request: HttpRequest, tenant_slug: str) -> HttpResponse:
    secret = services.inbound_secret_rotate(tenant=request.tenant, actor=request.user)
    return _page(request, secret=secret)


def _mailbox_or_404(request: HttpRequest, mailbox_id: int) -> Mailbox:
    mailbox = selectors.mailbox_get(tenant=request.tenant, mailbox_id=mailbox_id)
    if mailbox is None:
        raise Http404("Not found.")
    return mailbox


@tenant_view(Perm.SETTINGS_MANAGE)
@require_POST
def mailbox_toggle(request: HttpRequest, tenant_slug: str, mailbox_id: int) -> HttpResponse:
    mailbox = _mailbox_or_404(request, mailbox_id)
    mailbox = services.mailbox_update(
        tenant=request.tenant, actor=request.user, mailbox=mailbox, is_active=not mailbox.is_active
    )
    state = "polled again" if mailbox.is_active else "paused"
    messages.success(request, f"{mailbox} is {state}.")
    return redirect("tickets:mailboxes", tenant_slug=tenant_slug)


@tenant_view(Perm.SETTINGS_MANAGE)
@require_POST
def mailbox_delete(request: HttpRequest, tenant_slug: str, mailbox_id: int) -> HttpResponse:
    mailbox = _mailbox_or_404(request, mailbox_id)
    services.mailbox_delete(tenant=request.tenant, actor=request.user, mailbox=mailbox)
    messages.success(request, f"{mailbox} is no longer polled. Mail already received stays.")
    return redirect("tickets:mailboxes", tenant_slug=tenant_slug)


@tenant_view(Perm.SETTINGS_MANAGE)
@require_POST
def mailbox_poll_now(request: HttpRequest, tenant_slug: str, mailbox_id: int) -> HttpResponse:
    from tickets.tasks.email import mailbox_poll_task

    mailbox = _mailbox_or_404(request, mailbox_id)
    if not mailbox.is_active:
        messages.error(request, f"{mailbox} is paused. Resume it first.")
    else:
        mailbox_poll_task.delay_on_commit(request.tenant.pk, mailbox.pk)
        messages.success(request, f"{mailbox} will be read now; refresh in a moment.")
    return redirect("tickets:mailboxes", tenant_slug=tenant_slug)


@tenant_view(Perm.SETTINGS_MANAGE)
@require_POST
def inbound_email_retry(request: HttpRequest, tenant_slug: str, inbound_id: int) -> HttpResponse:
    inbound = selectors.inbound_email_get(tenant=request.tenant, inbound_id=inbound_id)
    if inbound is None:
        raise Http404("Not found.")
    try:
        services.inbound_email_retry(tenant=request.tenant, actor=request.user, inbound=inbound)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, f"The message “{inbound.subject or inbound.sender}” is queued.")
    return redirect("tickets:mailboxes", tenant_slug=tenant_slug)


@tenant_view(Perm.TICKETS_VIEW)
@require_GET
def attachment_download(request: HttpRequest, tenant_slug: str, public_id) -> HttpResponse:
    """An attachment, for staff only, always as a download with a harmless content type."""
    attachment = selectors.attachment_get(tenant=request.tenant, public_id=public_id)
    if attachment is None or not attachment.file:
        raise Http404("Not found.")
    try:
        handle = attachment.file.open("rb")
    except OSError as exc:
        raise Http404("Not found.") from exc
    response = FileResponse(
        handle,
        as_attachment=True,
        filename=attachment.filename or "attachment",
        content_type=served_content_type(attachment.content_type, attachment.filename),
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = "private, no-store"
    return response
