"""Customer profile changes.

Higher apps that keep copies of a customer's fields (journeys copies company and tags onto the
customer's runs) register a change listener: ``listener(*, tenant, customer, fields)`` is called
inside the update's transaction with the names of the fields given.
"""

from __future__ import annotations

from collections.abc import Callable

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from helpdesk.tenancy.context import tenant_context
from helpdesk.tenancy.models import Tenant
from tickets.models import Customer

EDITABLE = ("name", "email", "phone", "company", "tags", "locale", "notes", "external_id")

_LISTENERS: list[Callable[..., None]] = []


def register_customer_change_listener(listener: Callable[..., None]) -> None:
    if listener not in _LISTENERS:
        _LISTENERS.append(listener)


def customer_update(*, tenant: Tenant, customer: Customer, **fields) -> Customer:
    unknown = set(fields) - set(EDITABLE)
    if unknown:
        raise ValidationError(dict.fromkeys(unknown, "Not editable."))
    with tenant_context(tenant):
        customer = Customer.objects.for_tenant(tenant).get(pk=customer.pk)
        if "email" in fields:
            fields["email"] = fields["email"].strip().lower()
        if "tags" in fields:
            fields["tags"] = sorted({t.strip().lower() for t in fields["tags"] if t.strip()})
        for key, value in fields.items():
            setattr(customer, key, value)
        try:
            with transaction.atomic():
                customer.save(update_fields=list(fields) or None)
        except IntegrityError as exc:
            raise ValidationError({"email": "Another customer has this email."}) from exc
        for listener in list(_LISTENERS):
            listener(tenant=tenant, customer=customer, fields=frozenset(fields))
    return customer
