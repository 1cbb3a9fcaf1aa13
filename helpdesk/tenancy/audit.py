"""The security audit log: who signed in, changed roles, created or revoked keys, exported data."""

from __future__ import annotations

from django.conf import settings
from django.db.models import QuerySet
from django.http import HttpRequest

from helpdesk.accounts.models import User
from helpdesk.tenancy.context import tenant_context
from helpdesk.tenancy.models import AuditEntry, Membership, Tenant

ACTIONS = {
    "login": "Signed in",
    "login_failed": "Failed sign-in",
    "member_added": "Added a member",
    "member_role_changed": "Changed a role",
    "member_removed": "Removed a member",
    "api_key_created": "Created an API key",
    "api_key_revoked": "Revoked an API key",
    "settings_changed": "Changed settings",
    "export": "Exported data",
    "status_link_rotated": "Rotated a status link",
    "webhook_changed": "Changed a webhook",
    "inbound_secret_rotated": "Rotated the inbound email secret",
    "bearer_token_rotated": "Rotated a personal API token",
    "two_factor_enabled": "Turned on two-factor sign-in",
    "two_factor_disabled": "Turned off two-factor sign-in",
    "two_factor_codes_renewed": "Renewed two-factor recovery codes",
}


def client_ip(request: HttpRequest | None) -> str | None:
    if request is None:
        return None
    if settings.HELPDESK_TRUST_X_FORWARDED_FOR:
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        if forwarded:
            return forwarded.split(",")[0].strip() or None
    return request.META.get("REMOTE_ADDR") or None


def audit_record(
    *,
    tenant: Tenant,
    action: str,
    actor: User | None = None,
    target: str = "",
    data: dict | None = None,
    request: HttpRequest | None = None,
) -> AuditEntry:
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    label = actor.email if actor is not None and getattr(actor, "pk", None) else ""
    with tenant_context(tenant):
        return AuditEntry.objects.create(
            tenant=tenant,
            action=action,
            actor=actor if actor is not None and getattr(actor, "pk", None) else None,
            actor_label=label or (data or {}).get("email", ""),
            target=target[:200],
            data=data or {},
            ip_address=client_ip(request),
        )


def audit_record_for_member(
    *, user: User, action: str, request: HttpRequest | None, data: dict | None = None
) -> None:
    """Record a person-level event (sign-in) in the log of every tenant they belong to."""
    for membership in Membership.objects.filter(user=user).select_related("tenant"):
        audit_record(
            tenant=membership.tenant, action=action, actor=user, data=data, request=request
        )


def audit_list(*, tenant: Tenant) -> QuerySet[AuditEntry]:
    return AuditEntry.objects.for_tenant(tenant).select_related("actor")
