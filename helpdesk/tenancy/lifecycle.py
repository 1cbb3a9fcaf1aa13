"""Export all of one tenant's data, and delete a tenant with everything it owns (and nothing else).

Both walk every tenant-owned model found in the app registry, so a model added later is covered
without touching this module (tests/helpdesk/test_tenant_lifecycle.py checks it).
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

from django.apps import apps
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models, transaction
from django.db.models.deletion import ProtectedError, RestrictedError

from helpdesk.tenancy.audit import audit_record
from helpdesk.tenancy.context import system_context, tenant_context
from helpdesk.tenancy.models import Membership, Tenant
from helpdesk.tenancy.registry import GLOBAL_MODELS

SECRET_FIELDS = {"secret_hash", "password", "secret", "inbound_secret", "token_hash"}


def tenant_owned_models() -> list[type[models.Model]]:
    owned = []
    for model in apps.get_models():
        if model._meta.label in GLOBAL_MODELS:
            continue
        field = next((f for f in model._meta.concrete_fields if f.name == "tenant"), None)
        if field is None:
            continue
        if field.related_model is Tenant:
            owned.append(model)
    return sorted(owned, key=lambda m: m._meta.label)


def _rows(model: type[models.Model], tenant: Tenant):
    fields = [f for f in model._meta.concrete_fields if f.name not in SECRET_FIELDS]
    queryset = model._base_manager.filter(tenant_id=tenant.pk).order_by("pk")
    for obj in queryset.iterator(chunk_size=2000):
        yield {
            f.attname: (
                getattr(obj, f.attname).name
                if isinstance(f, models.FileField)
                else getattr(obj, f.attname)
            )
            for f in fields
        }


def tenant_export(
    *, tenant: Tenant, directory: Path, fmt: str = "json", actor=None
) -> dict[str, int]:
    """Write one file per model (``tickets.Ticket.json`` or ``.csv``); secrets are left out.
    Returns the row count per model."""
    if fmt not in {"json", "csv"}:
        raise ValueError("fmt is json or csv")
    directory.mkdir(parents=True, exist_ok=True)
    counts: dict[str, int] = {}
    with tenant_context(tenant):
        for model in tenant_owned_models():
            rows = list(_rows(model, tenant))
            counts[model._meta.label] = len(rows)
            target = directory / f"{model._meta.label}.{fmt}"
            if fmt == "json":
                target.write_text(json.dumps(rows, cls=DjangoJSONEncoder, indent=1))
            else:
                with target.open("w", newline="") as handle:
                    writer = csv.writer(handle)
                    header = [
                        f.attname
                        for f in model._meta.concrete_fields
                        if f.name not in SECRET_FIELDS
                    ]
                    writer.writerow(header)
                    for row in rows:
                        writer.writerow(
                            [
                                json.dumps(v, cls=DjangoJSONEncoder)
                                if isinstance(v, dict | list)
                                else v
                                for v in row.values()
                            ]
                        )
        members = [
            {"email": m.user.email, "role": m.role, "full_name": m.user.full_name}
            for m in Membership.objects.filter(tenant=tenant).select_related("user")
        ]
        (directory / f"tenancy.Membership.{fmt}").write_text(
            json.dumps(members, indent=1)
        ) if fmt == "json" else None
        counts["tenancy.Membership"] = len(members)
        (directory / "tenant.json").write_text(
            json.dumps(
                {"name": tenant.name, "slug": tenant.slug, "time_zone": tenant.time_zone}, indent=1
            )
        )
        audit_record(
            tenant=tenant,
            action="export",
            actor=actor,
            target=f"full export ({fmt})",
            data={"rows": sum(counts.values())},
        )
    return counts


def tenant_delete(*, tenant: Tenant) -> dict[str, int]:
    """Delete the tenant and every row it owns. Other tenants are untouched (each delete is
    filtered by tenant and runs under that tenant's row-level security)."""
    deleted: dict[str, int] = {}
    with transaction.atomic(), tenant_context(tenant):
        remaining = tenant_owned_models()
        for _ in range(len(remaining) + 1):
            blocked = []
            for model in remaining:
                try:
                    with transaction.atomic():
                        _count, per_model = model._base_manager.filter(tenant_id=tenant.pk).delete()
                except (ProtectedError, RestrictedError):
                    blocked.append(model)
                    continue
                for label, count in per_model.items():
                    deleted[label] = deleted.get(label, 0) + count
            if not blocked:
                break
            if len(blocked) == len(remaining):
                raise RuntimeError(
                    f"cannot delete, protected rows remain: {[m._meta.label for m in blocked]}"
                )
            remaining = blocked
    with system_context(reason=f"delete tenant {tenant.pk}"):
        for model in apps.get_models():
            if model._meta.label in GLOBAL_MODELS and model is not Tenant:
                field = next((f for f in model._meta.concrete_fields if f.name == "tenant"), None)
                if field is not None:
                    model._base_manager.filter(tenant_id=tenant.pk).delete()
        Tenant.objects.filter(pk=tenant.pk).delete()
    return deleted
