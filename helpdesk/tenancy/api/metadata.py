"""``OPTIONS`` answers of the API: name, description and media types only.

DRF's default describes the input fields by instantiating the view's serializer, which fails (a
500) on views that build their serializers per method, and lists choices that belong in the
OpenAPI schema anyway (/api/schema/ documents every input).
"""

from __future__ import annotations

from rest_framework.metadata import SimpleMetadata


class ApiMetadata(SimpleMetadata):
    def determine_actions(self, request, view) -> dict:
        return {}
