"""Tenants, memberships, API keys and the abstract base of every tenant-owned model."""

from __future__ import annotations

import uuid
import zoneinfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models

from helpdesk.tenancy.context import TenantContextError, current_scope
from helpdesk.tenancy.managers import TenantManager
from helpdesk.tenancy.policy import Role

RESERVED_SLUGS = frozenset(
    {"admin", "api", "static", "media", "status", "ws", "accounts", "signup", "new", "www"}
)

brand_color_validator = RegexValidator(r"^#[0-9a-fA-F]{6}$", "Use a hex colour such as #4f46e5.")


def validate_time_zone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(f"{value!r} is not a known time zone (for example Europe/Berlin).")


def default_business_hours() -> dict[str, list[list[str]]]:
    weekday = [["09:00", "17:00"]]
    return {"mon": weekday, "tue": weekday, "wed": weekday, "thu": weekday, "fri": weekday}


class Tenant(models.Model):
    """A support team with its own isolated helpdesk."""

    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=50, unique=True)
    reference_prefix = models.CharField(
        max_length=10,
        help_text="Prefix of ticket references, e.g. ACME in ACME-1042.",
        validators=[RegexValidator(r"^[A-Z][A-Z0-9]{1,9}$", "2-10 capital letters or digits.")],
    )
    time_zone = models.CharField(max_length=64, default="UTC", validators=[validate_time_zone])
    business_hours = models.JSONField(
        default=default_business_hours,
        help_text='Opening hours per weekday, e.g. {"mon": [["09:00", "17:00"]]}.',
    )
    holidays = models.JSONField(default=list, blank=True, help_text="ISO dates, e.g. 2026-12-25.")
    auto_close_after_days = models.PositiveSmallIntegerField(
        default=4, help_text="Solved tickets close after this many days without a reply."
    )
    brand_color = models.CharField(
        max_length=7, default="#4f46e5", validators=[brand_color_validator]
    )
    require_two_factor = models.BooleanField(
        default=False, help_text="Members must sign in with a one-time code from an app."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if self.slug in RESERVED_SLUGS:
            raise ValidationError({"slug": "This address is reserved."})


class Membership(models.Model):
    """A staff user's role in one tenant. One person may belong to several tenants.

    Global join model (on the registry allowlist): it is read before a tenant scope exists
    (tenant switcher, login redirect) and always through the selectors in ``selectors.py``.
    """

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.AGENT)
    is_away = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "user"], name="membership_tenant_user_uniq"),
            models.UniqueConstraint(fields=["tenant", "id"], name="membership_tenant_id_uniq"),
        ]
        indexes = [models.Index(fields=["user", "tenant"], name="membership_user_tenant_idx")]

    def __str__(self) -> str:
        return f"{self.user} in {self.tenant} as {self.role}"


def new_public_id() -> uuid.UUID:
    return uuid.uuid4()


def public_id_constraint(model: str) -> models.UniqueConstraint:
    return models.UniqueConstraint(
        fields=["tenant", "public_id"], name=f"{model}_tenant_public_id_uniq"
    )


class TenantOwnedModel(models.Model):
    """Base of every tenant-owned model: tenant FK, fail-closed manager, tenant-safe saves."""

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="+")

    objects = TenantManager()

    class Meta:
        abstract = True
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "id"], name="%(app_label)s_%(class)s_tenant_id_uniq"
            )
        ]

    def save(self, *args, **kwargs) -> None:
        scope = current_scope()
        if scope is None:
            raise TenantContextError(
                f"{type(self).__name__} saved outside any tenant scope; use tenant_context()."
            )
        if scope.tenant is not None and scope.tenant.pk != self.tenant_id:
            raise TenantContextError(
                f"{type(self).__name__} of tenant {self.tenant_id} saved in the scope of "
                f"tenant {scope.tenant.pk}."
            )
        super().save(*args, **kwargs)


class PublicIdMixin(models.Model):
    """A non-sequential identifier for anything that leaves the system (API, links).

    Models using it add ``public_id_constraint(...)`` (unique per tenant) to their Meta.
    """

    public_id = models.UUIDField(default=new_public_id, editable=False)

    class Meta:
        abstract = True


class ApiKey(PublicIdMixin, TenantOwnedModel):
    """A per-tenant key for machine integrations, stored hashed, limited by scopes."""

    class Scope(models.TextChoices):
        READ = "read", "Read tickets, customers and metrics"
        WRITE = "write", "Create and update tickets and messages"
        INGEST_EMAIL = "ingest:email", "Post inbound email"
        INGEST_EVENTS = "ingest:events", "Post journey events"

    name = models.CharField(max_length=80)
    prefix = models.CharField(max_length=12)
    secret_hash = models.CharField(max_length=64)
    scopes = models.JSONField(default=list)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta(TenantOwnedModel.Meta):
        ordering = ["-created_at"]
        constraints = [
            *TenantOwnedModel.Meta.constraints,
            public_id_constraint("apikey"),
            models.UniqueConstraint(fields=["tenant", "prefix"], name="apikey_tenant_prefix_uniq"),
        ]
        indexes = [models.Index(fields=["tenant", "-created_at"], name="apikey_tenant_created_idx")]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix})"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class TenantCounter(TenantOwnedModel):
    """Per-tenant sequences, e.g. the human ticket number."""

    name = models.CharField(max_length=40)
    value = models.BigIntegerField(default=0)

    class Meta(TenantOwnedModel.Meta):
        constraints = [
            *TenantOwnedModel.Meta.constraints,
            models.UniqueConstraint(
                fields=["tenant", "name"], name="tenantcounter_tenant_name_uniq"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name}={self.value}"


class AuditEntry(TenantOwnedModel):
    """A security-relevant action (sign-ins, role changes, API keys, exports, link rotation),
    visible to the tenant's admins. Append-only."""

    action = models.CharField(max_length=40)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    actor_label = models.CharField(max_length=200, blank=True, help_text="Who, as shown then.")
    target = models.CharField(max_length=200, blank=True)
    data = models.JSONField(default=dict, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta(TenantOwnedModel.Meta):
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["tenant", "-created_at"], name="audit_tenant_created_idx")]

    def __str__(self) -> str:
        return f"{self.action} by {self.actor_label}"

    def save(self, *args, **kwargs) -> None:
        if not self._state.adding:
            raise ValueError("Audit entries are append-only")
        super().save(*args, **kwargs)
