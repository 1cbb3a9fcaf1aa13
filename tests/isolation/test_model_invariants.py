"""Every model of our apps is tenant-owned (FK, scoped manager, tenant-inclusive constraints)
or on the reviewed allowlist in helpdesk/tenancy/registry.py."""

from __future__ import annotations

import pytest
from django.apps import apps
from django.db import models

from helpdesk.tenancy.managers import TenantManager
from helpdesk.tenancy.models import Tenant
from helpdesk.tenancy.registry import FRAMEWORK_APP_LABELS, GLOBAL_MODELS

OUR_APPS = {"accounts", "tenancy", "realtime", "tickets", "journeys", "empathy_metrics"}


def our_models():
    return [m for m in apps.get_models(include_auto_created=True) if m._meta.app_label in OUR_APPS]


def tenant_owned_models():
    return [m for m in our_models() if m._meta.label not in GLOBAL_MODELS]


def test_every_app_model_is_checked():
    labels = {m._meta.app_label for m in apps.get_models()}
    unknown = labels - OUR_APPS - FRAMEWORK_APP_LABELS
    assert not unknown, f"apps neither ours nor reviewed framework apps: {unknown}"
    assert len(tenant_owned_models()) >= 8


@pytest.mark.parametrize("model", tenant_owned_models(), ids=lambda m: m._meta.label)
def test_tenant_owned_model_has_non_null_protected_tenant_fk(model):
    field = model._meta.get_field("tenant")
    assert isinstance(field, models.ForeignKey)
    assert field.related_model is Tenant
    assert not field.null
    assert field.remote_field.on_delete is models.PROTECT


@pytest.mark.parametrize("model", tenant_owned_models(), ids=lambda m: m._meta.label)
def test_tenant_owned_model_uses_the_scoped_default_manager(model):
    assert isinstance(model._default_manager, TenantManager)
    assert isinstance(model.objects, TenantManager)


@pytest.mark.parametrize("model", tenant_owned_models(), ids=lambda m: m._meta.label)
def test_every_unique_constraint_includes_tenant(model):
    for field in model._meta.local_fields:
        if field.unique and not field.primary_key:
            pytest.fail(f"{model._meta.label}.{field.name} is unique=True without tenant")
    for constraint in model._meta.constraints:
        if isinstance(constraint, models.UniqueConstraint):
            assert "tenant" in constraint.fields, f"{constraint.name} lacks tenant"
    assert any(
        isinstance(c, models.UniqueConstraint) and tuple(c.fields) == ("tenant", "id")
        for c in model._meta.constraints
    ), f"{model._meta.label} lacks UniqueConstraint(tenant, id) for composite foreign keys"


@pytest.mark.parametrize("model", tenant_owned_models(), ids=lambda m: m._meta.label)
def test_indexes_start_with_tenant(model):
    for index in model._meta.indexes:
        assert index.fields[0] == "tenant", f"{index.name} does not start with tenant"


@pytest.mark.parametrize("model", tenant_owned_models(), ids=lambda m: m._meta.label)
def test_many_to_many_relations_go_through_tenant_owned_models(model):
    for field in model._meta.local_many_to_many:
        through = field.remote_field.through
        assert not through._meta.auto_created, (
            f"{model._meta.label}.{field.name} uses an auto-created through table without tenant"
        )
