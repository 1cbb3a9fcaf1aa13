"""A person's own API token (``Authorization: Bearer <token>``): issue/rotate and revoke.

The token belongs to the person, not to a tenant (it works under each tenant they are a member of,
with their role there), so both actions are recorded in the audit log of every tenant they belong
to. The key is returned once; only DRF's ``authtoken_token`` row holds it.
"""

from __future__ import annotations

from django.db import transaction
from django.http import HttpRequest
from rest_framework.authtoken.models import Token

from helpdesk.accounts.models import User
from helpdesk.tenancy.audit import audit_record_for_member


def bearer_token_rotate(*, user: User, request: HttpRequest | None = None) -> str:
    """Issue a new token for ``user``; the previous one (if any) stops working now. Returns the
    new key: show it once."""
    with transaction.atomic():
        replaced = Token.objects.filter(user=user).delete()[0] > 0
        token = Token.objects.create(user=user)
        audit_record_for_member(
            user=user,
            action="bearer_token_rotated",
            request=request,
            data={"replaced": replaced},
        )
    return token.key


def bearer_token_revoke(*, user: User, request: HttpRequest | None = None) -> bool:
    """Remove the person's token; returns whether there was one."""
    with transaction.atomic():
        removed = Token.objects.filter(user=user).delete()[0] > 0
        if removed:
            audit_record_for_member(
                user=user,
                action="bearer_token_rotated",
                request=request,
                data={"replaced": True, "revoked": True},
            )
    return removed
