"""Every API error is JSON: ``{"message": "...", "errors": {"field": ["..."]}}``."""

from __future__ import annotations

import logging

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from helpdesk.tenancy.context import TenantContextError

logger = logging.getLogger(__name__)


def _django_validation_to_dict(exc: DjangoValidationError) -> dict:
    if hasattr(exc, "error_dict"):
        return {
            field: [str(m) for e in errs for m in e.messages]
            for field, errs in exc.error_dict.items()
        }
    return {"non_field_errors": list(exc.messages)}


def exception_handler(exc, context):
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(_django_validation_to_dict(exc))
    if isinstance(exc, TenantContextError):
        logger.error("tenant context violation in API: %s", exc)
        return Response({"message": "Not found."}, status=status.HTTP_404_NOT_FOUND)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound("Not found.")
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    data = response.data
    if isinstance(exc, exceptions.ValidationError):
        errors = data if isinstance(data, dict) else {"non_field_errors": data}
        first = next(iter(errors.values()), ["Invalid input."])
        message = first[0] if isinstance(first, list) and first else "Invalid input."
        response.data = {"message": f"Invalid input: {message}", "errors": errors}
    else:
        detail = data.get("detail", "Error.") if isinstance(data, dict) else str(data)
        response.data = {"message": str(detail)}
        if getattr(exc, "wait", None):
            response.data["retry_after"] = exc.wait
    return response
