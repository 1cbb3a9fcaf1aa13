"""``Idempotency-Key`` for create endpoints: the same key and body give the same answer once.

A retried request (network error, client timeout) with the same key and the same body gets the
stored response (with ``Idempotent-Replayed: true``) instead of creating a second object. The same
key with a different body is a 422. Two concurrent requests with one key: the unique constraint
makes the second wait for the first and then replay its answer.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable

from django.db import IntegrityError, transaction
from rest_framework.response import Response

from helpdesk.tenancy.api.authentication import ApiKeyPrincipal
from helpdesk.tenancy.context import tenant_context
from helpdesk.tenancy.models import Tenant
from tickets.models import IdempotencyKey

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 200


def _principal(request) -> str:
    if isinstance(request.user, ApiKeyPrincipal):
        return f"key:{request.auth.prefix}"
    return f"user:{request.user.pk}"


def _fingerprint(request) -> str:
    body = json.dumps(request.data, sort_keys=True, default=str)
    return hashlib.sha256(f"{request.method} {request.path}\n{body}".encode()).hexdigest()


def _replay(record: IdempotencyKey) -> Response:
    response = Response(record.response_body, status=record.response_status)
    response["Idempotent-Replayed"] = "true"
    return response


def idempotent(request, tenant: Tenant, create: Callable[[], Response]) -> Response:
    key = request.headers.get(HEADER, "").strip()
    if not key:
        return create()
    if len(key) > MAX_KEY_LENGTH:
        return Response(
            {"message": f"{HEADER} is at most {MAX_KEY_LENGTH} characters."}, status=400
        )
    principal, fingerprint = _principal(request), _fingerprint(request)
    with tenant_context(tenant):
        existing = (
            IdempotencyKey.objects.for_tenant(tenant).filter(principal=principal, key=key).first()
        )
        if existing is not None:
            if existing.request_hash != fingerprint:
                return Response(
                    {"message": f"This {HEADER} was used for a different request."}, status=422
                )
            return _replay(existing)
        try:
            with transaction.atomic():
                response = create()
                if 200 <= response.status_code < 300:
                    IdempotencyKey.objects.create(
                        tenant=tenant,
                        key=key,
                        principal=principal,
                        request_hash=fingerprint,
                        response_status=response.status_code,
                        response_body=response.data,
                    )
                return response
        except IntegrityError:
            winner = IdempotencyKey.objects.for_tenant(tenant).get(principal=principal, key=key)
            return _replay(winner)
