"""OpenAPI generation: operation ids and component names from our API class names."""

from __future__ import annotations

import re

from drf_spectacular import openapi
from rest_framework import serializers

from helpdesk.tenancy.context import system_context

_VERBS = {"get": "", "post": "_create", "put": "_replace", "patch": "_update", "delete": "_delete"}


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


class AutoSchema(openapi.AutoSchema):
    """``TicketListApi`` GET -> ``ticket_list``, POST -> ``ticket_list_create``; nested
    ``OutputSerializer``/``InputSerializer`` become ``TicketListOutput``/``TicketListInput``."""

    def _api_name(self) -> str:
        name = type(self.view).__name__
        return name[:-3] if name.endswith("Api") else name

    def get_operation_id(self) -> str:
        return _snake(self._api_name()) + _VERBS.get(self.method.lower(), f"_{self.method.lower()}")

    def _get_serializer_name(self, serializer, direction, bypass_extensions=False) -> str:
        name = super()._get_serializer_name(serializer, direction, bypass_extensions)
        if name in {"Output", "Input"} or name.startswith(("Output", "Input")):
            return self._api_name() + name
        return name

    # --- Lists and errors as the API really answers them ----------------------------------

    def _is_list_view(self, serializer=None) -> bool:
        """Our list endpoints are plain ``get`` methods that page with
        ``get_paginated_response``: document them as pages of items."""
        if super()._is_list_view(serializer):
            return True
        handler = getattr(type(self.view), self.method.lower(), None)
        code = getattr(handler, "__code__", None)
        return (
            self.method == "GET"
            and code is not None
            and "get_paginated_response" in code.co_names
            and self._get_paginator() is not None
        )

    def _get_filter_parameters(self):
        # django-filter's schema extension calls ``Model.objects.none()``, which the scoped
        # manager refuses outside a tenant scope; no row is read.
        with system_context(reason="OpenAPI schema: filter parameters of list endpoints"):
            return super()._get_filter_parameters()

    def _get_response_bodies(self, direction="response"):
        """Every operation also documents the error answers of helpdesk/tenancy/api/errors.py
        (400 bad input, 401/403 authentication and permission, 404 unknown tenant or object,
        429 when the view is rate-limited), unless it documents that status itself."""
        responses = super()._get_response_bodies(direction)
        codes = ["400", "401", "403", "404"]
        if getattr(self.view, "throttle_scope", None):
            codes.append("429")
        for code in codes:
            if code not in responses:
                responses[code] = self._get_response_for_code(ErrorSerializer, code)
        return responses


class ErrorSerializer(serializers.Serializer):
    """The body of every error answer (helpdesk/tenancy/api/errors.py)."""

    message = serializers.CharField()
    errors = serializers.DictField(
        required=False, help_text="Field name -> messages, for invalid input."
    )
    retry_after = serializers.IntegerField(
        required=False, help_text="Seconds to wait (rate limits)."
    )

    class Meta:
        ref_name = "Error"
