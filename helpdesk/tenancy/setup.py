"""Set-up that apps further right provide for every new tenant (default triage rules, ...).

Apps register a function in their ``AppConfig.ready``; ``tenant_create`` calls each one with the
new tenant, inside its transaction, so a tenant never exists half set up. The tenancy layer does
not import the apps (the dependency points the usual way).
"""

from __future__ import annotations

from collections.abc import Callable

from helpdesk.tenancy.models import Tenant

_SETUP: list[Callable[..., object]] = []


def register_tenant_setup(function: Callable[..., object]) -> None:
    """``function(tenant=...)`` runs for every tenant created from now on."""
    if function not in _SETUP:
        _SETUP.append(function)


def tenant_setup_run(*, tenant: Tenant) -> None:
    for function in _SETUP:
        function(tenant=tenant)
