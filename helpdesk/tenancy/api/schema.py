"""OpenAPI generation: operation ids and component names from our API class names."""

from __future__ import annotations

import re

from drf_spectacular import openapi

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
