"""Customer profile changes."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from helpdesk.tenancy.context import tenant_context
from helpdesk.tenancy.models import Tenant
from tickets.models import Customer

EDITABLE = ("name", "email", "phone", "company", "tags", "locale", "notes", "external_id")


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
    return customer
