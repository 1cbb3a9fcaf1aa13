"""Export all of one tenant's data, and delete a tenant with everything it owns (and nothing else).

Both walk every tenant-owned model found in the app registry, so a model added later is covered
without touching this module (tests/helpdesk/test_tenant_lifecycle.py checks it). Files in storage
(attachments, raw inbound emails, any ``FileField`` of a tenant-owned model) are part of the tenant:
the export copies their contents under ``files/`` and the deletion removes them from storage once the
rows are gone.
"""

from __future__ import annotations

import csv
import json
import logging
import shutil
from collections.abc import Iterator
from pathlib import Path, PurePosixPath

from django.apps import apps
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models, transaction
from django.db.models.deletion import ProtectedError, RestrictedError

from helpdesk.tenancy.audit import audit_record
from helpdesk.tenancy.context import system_context, tenant_context
from helpdesk.tenancy.models import Membership, Tenant
from helpdesk.tenancy.registry import GLOBAL_MODELS

logger = logging.getLogger(__name__)

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


def _file_fields(model: type[models.Model]) -> list[models.FileField]:
    return [f for f in model._meta.concrete_fields if isinstance(f, models.FileField)]


def tenant_stored_files(tenant: Tenant) -> Iterator[tuple[models.FileField, str]]:
    """Every file in storage that a row of the tenant points to, as (field, stored name)."""
    for model in tenant_owned_models():
        for field in _file_fields(model):
            names = (
                model._base_manager.filter(tenant_id=tenant.pk)
                .exclude(**{field.attname: ""})
                .exclude(**{f"{field.attname}__isnull": True})
                .values_list(field.attname, flat=True)
                .order_by("pk")
            )
            for name in names.iterator(chunk_size=2000):
                yield field, name


def _export_files(tenant: Tenant, directory: Path) -> list[dict]:
    """Copy the content of every stored file of the tenant to ``directory/files/<stored name>``
    (the name the rows hold in their file column). Returns the manifest."""
    root = (directory / "files").resolve()
    manifest = []
    for field, name in tenant_stored_files(tenant):
        relative = PurePosixPath(name)
        entry = {"model": field.model._meta.label, "field": field.name, "name": name}
        if relative.is_absolute() or ".." in relative.parts:
            entry["missing"] = "unsafe name, not copied"
            manifest.append(entry)
            continue
        target = root.joinpath(*relative.parts)
        try:
            with field.storage.open(name, "rb") as source:
                target.parent.mkdir(parents=True, exist_ok=True)
                with target.open("wb") as handle:
                    shutil.copyfileobj(source, handle)
        except FileNotFoundError:
            entry["missing"] = "not in storage"
        else:
            entry["size"] = target.stat().st_size
        manifest.append(entry)
    return manifest


def _delete_stored_files(files: list[tuple[models.FileField, str]]) -> None:
    """Remove the files from storage, except a name still referenced by any remaining row (of any
    tenant): a file shared by name with another tenant stays."""
    for field, name in files:
        model = field.model
        with system_context(reason="tenant deletion: is a stored file still referenced"):
            still_used = model._base_manager.filter(**{field.attname: name}).exists()
        if still_used:
            logger.warning("tenant deletion: %s is still referenced, kept", name)
            continue
        try:
            field.storage.delete(name)
        except OSError:
            logger.exception("tenant deletion: could not delete %s from storage", name)


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
    """Write one file per model (``tickets.Ticket.json`` or ``.csv``); secrets are left out. The
    content of every stored file (attachments, raw inbound emails) is copied to
    ``files/<stored name>``, the name the row's file column holds, and listed in ``files.json``.
    Returns the row count per model (and ``files``: the number of files copied)."""
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
        manifest = _export_files(tenant, directory)
        (directory / "files.json").write_text(json.dumps(manifest, indent=1))
        counts["files"] = sum(1 for entry in manifest if "missing" not in entry)
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
            data={
                "rows": sum(v for k, v in counts.items() if k != "files"),
                "files": counts["files"],
            },
        )
    return counts


def tenant_delete(*, tenant: Tenant) -> dict[str, int]:
    """Delete the tenant and every row it owns. Other tenants are untouched (each delete is
    filtered by tenant and runs under that tenant's row-level security). The tenant's stored files
    are removed from storage once the deletion is committed (never before: a rollback keeps them)."""
    deleted: dict[str, int] = {}
    with tenant_context(tenant):
        files = list(tenant_stored_files(tenant))
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
    transaction.on_commit(lambda: _delete_stored_files(files))
    deleted["files"] = len(files)
    return deleted
