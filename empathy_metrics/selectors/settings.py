"""Reads: a tenant's survey settings (defaults when the tenant never saved any)."""

from __future__ import annotations

from empathy_metrics.models import SurveySettings
from helpdesk.tenancy.context import tenant_context
from helpdesk.tenancy.models import Tenant


def survey_settings_get(*, tenant: Tenant) -> SurveySettings:
    with tenant_context(tenant):
        row = SurveySettings.objects.for_tenant(tenant).first()
    return row if row is not None else SurveySettings(tenant=tenant)
