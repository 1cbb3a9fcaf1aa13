"""Writes of tenants, memberships and API keys."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.text import slugify

from helpdesk.accounts.models import User
from helpdesk.accounts.services import user_invite_send_on_commit
from helpdesk.tenancy.audit import audit_record
from helpdesk.tenancy.context import tenant_context
from helpdesk.tenancy.models import ApiKey, Membership, Tenant, TenantCounter
from helpdesk.tenancy.policy import Role
from helpdesk.tenancy.setup import tenant_setup_run

API_KEY_PREFIX = "hdk"


def reference_prefix_for(name: str) -> str:
    letters = "".join(ch for ch in slugify(name).upper() if ch.isalnum())
    return (letters or "HD")[:6].ljust(2, "X")


@transaction.atomic
def tenant_create(
    *,
    name: str,
    slug: str,
    admin: User,
    time_zone: str = "UTC",
    brand_color: str = "#4f46e5",
) -> Tenant:
    """Create a tenant with ``admin`` as its first administrator."""
    tenant = Tenant(
        name=name.strip(),
        slug=slug,
        reference_prefix=reference_prefix_for(name),
        time_zone=time_zone,
        brand_color=brand_color,
    )
    if Tenant.objects.filter(slug=slug).exists():
        raise ValidationError({"slug": "This address is already taken."})
    tenant.full_clean(validate_unique=False)
    try:
        with transaction.atomic():
            tenant.save()
    except IntegrityError as exc:
        raise ValidationError({"slug": "This address is already taken."}) from exc
    Membership.objects.create(tenant=tenant, user=admin, role=Role.ADMIN)
    tenant_setup_run(tenant=tenant)
    return tenant


@transaction.atomic
def tenant_signup(
    *, name: str, slug: str, email: str, password: str, full_name: str = "", time_zone: str = "UTC"
) -> tuple[Tenant, User]:
    """Landing-page sign-up: a new tenant and its admin account."""
    if User.objects.filter(email__iexact=email).exists():
        raise ValidationError({"email": "An account with this email exists; sign in first."})
    user = User.objects.create_user(email=email, password=password, full_name=full_name)
    tenant = tenant_create(name=name, slug=slug, admin=user, time_zone=time_zone)
    return tenant, user


def tenant_update(*, tenant: Tenant, actor: User, **fields) -> Tenant:
    allowed = {
        "name",
        "time_zone",
        "brand_color",
        "business_hours",
        "holidays",
        "require_two_factor",
    }
    unknown = set(fields) - allowed
    if unknown:
        raise ValueError(f"Cannot update {sorted(unknown)}")
    with tenant_context(tenant):
        for key, value in fields.items():
            setattr(tenant, key, value)
        tenant.full_clean()
        tenant.save(update_fields=[*fields])
        audit_record(
            tenant=tenant, action="settings_changed", actor=actor, data={"fields": sorted(fields)}
        )
    return tenant


def membership_add(
    *, tenant: Tenant, actor: User | None, email: str, role: str, full_name: str = ""
) -> Membership:
    """Add a person (an existing login or a new one) to ``tenant`` with ``role``."""
    Role(role)  # raises ValueError for unknown roles
    with tenant_context(tenant):
        user = User.objects.filter(email__iexact=email).first()
        is_new_login = user is None
        if is_new_login:
            user = User.objects.create_user(email=email, password=None, full_name=full_name)
        membership, created = Membership.objects.get_or_create(
            tenant=tenant, user=user, defaults={"role": role}
        )
        if not created:
            raise ValidationError({"email": "This person is already a member."})
        if is_new_login:
            user_invite_send_on_commit(user=user, team_name=tenant.name, inviter=actor)
        audit_record(
            tenant=tenant,
            action="member_added",
            actor=actor,
            target=user.email,
            data={"role": role},
        )
    return membership


def membership_change_role(
    *, tenant: Tenant, actor: User, membership: Membership, role: str
) -> Membership:
    Role(role)
    if membership.tenant_id != tenant.pk:
        raise ValidationError("Membership belongs to another tenant.")
    with tenant_context(tenant):
        if membership.role == Role.ADMIN and role != Role.ADMIN:
            _ensure_other_admin(tenant=tenant, membership=membership)
        previous = membership.role
        membership.role = role
        membership.save(update_fields=["role"])
        audit_record(
            tenant=tenant,
            action="member_role_changed",
            actor=actor,
            target=membership.user.email,
            data={"from": previous, "to": role},
        )
    return membership


def membership_remove(*, tenant: Tenant, actor: User, membership: Membership) -> None:
    if membership.tenant_id != tenant.pk:
        raise ValidationError("Membership belongs to another tenant.")
    with tenant_context(tenant):
        if membership.role == Role.ADMIN:
            _ensure_other_admin(tenant=tenant, membership=membership)
        audit_record(
            tenant=tenant,
            action="member_removed",
            actor=actor,
            target=membership.user.email,
            data={"role": membership.role},
        )
        membership.delete()


def _ensure_other_admin(*, tenant: Tenant, membership: Membership) -> None:
    others = Membership.objects.filter(tenant=tenant, role=Role.ADMIN).exclude(pk=membership.pk)
    if not others.exists():
        raise ValidationError("A tenant needs at least one admin.")


def _hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def api_key_create(
    *, tenant: Tenant, actor: User | None, name: str, scopes: list[str]
) -> tuple[ApiKey, str]:
    """Create a key; the raw key is returned once and never stored."""
    valid = {choice.value for choice in ApiKey.Scope}
    bad = [scope for scope in scopes if scope not in valid]
    if bad or not scopes:
        raise ValidationError({"scopes": f"Choose scopes from {sorted(valid)}."})
    prefix = secrets.token_hex(4)
    secret = secrets.token_urlsafe(32)
    with tenant_context(tenant):
        key = ApiKey.objects.create(
            tenant=tenant,
            name=name.strip() or "API key",
            prefix=prefix,
            secret_hash=_hash_secret(secret),
            scopes=sorted(set(scopes)),
            created_by=actor,
        )
        audit_record(
            tenant=tenant,
            action="api_key_created",
            actor=actor,
            target=f"{key.name} ({prefix})",
            data={"scopes": key.scopes},
        )
    return key, f"{API_KEY_PREFIX}_{prefix}_{secret}"


def api_key_revoke(*, tenant: Tenant, actor: User, key: ApiKey) -> ApiKey:
    with tenant_context(tenant):
        key = ApiKey.objects.for_tenant(tenant).get(pk=key.pk)
        if key.revoked_at is None:
            key.revoked_at = timezone.now()
            key.save(update_fields=["revoked_at"])
            audit_record(
                tenant=tenant,
                action="api_key_revoked",
                actor=actor,
                target=f"{key.name} ({key.prefix})",
            )
    return key


def api_key_authenticate(*, tenant: Tenant, raw_key: str) -> ApiKey | None:
    """The active key of ``tenant`` matching ``raw_key``, or None."""
    parts = raw_key.split("_", 2)
    if len(parts) != 3 or parts[0] != API_KEY_PREFIX:
        return None
    _, prefix, secret = parts
    with tenant_context(tenant, savepoint=False):
        key = ApiKey.objects.for_tenant(tenant).filter(prefix=prefix, revoked_at=None).first()
        if key is None or not hmac.compare_digest(key.secret_hash, _hash_secret(secret)):
            return None
        now = timezone.now()
        if key.last_used_at is None or (now - key.last_used_at).total_seconds() > 60:
            ApiKey.objects.for_tenant(tenant).filter(pk=key.pk).update(last_used_at=now)
    return key


def counter_next(*, tenant: Tenant, name: str) -> int:
    """The next value of a per-tenant sequence (row-locked, gap-free within a transaction)."""
    with tenant_context(tenant, savepoint=False):
        # One statement in the common case: the row lock is taken and the value read at once.
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE tenancy_tenantcounter SET value = value + 1 "
                "WHERE tenant_id = %s AND name = %s RETURNING value",
                [tenant.pk, name],
            )
            row = cursor.fetchone()
        if row is not None:
            return row[0]
        with transaction.atomic():  # the first value of this sequence
            counter, _ = TenantCounter.objects.select_for_update().get_or_create(
                tenant=tenant, name=name
            )
            counter.value += 1
            counter.save(update_fields=["value"])
            return counter.value
