"""API authentication: personal bearer tokens and per-tenant API keys."""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from helpdesk.tenancy.services import api_key_authenticate


class BearerTokenAuthentication(authentication.TokenAuthentication):
    """A person's own token: ``Authorization: Bearer <token>``."""

    keyword = "Bearer"


class ApiKeyPrincipal(AnonymousUser):
    """The request.user of a call made with a tenant API key: not a person."""

    def __init__(self, api_key):
        super().__init__()
        self.api_key = api_key

    @property
    def is_authenticated(self) -> bool:  # type: ignore[override]
        return True

    def __str__(self) -> str:
        return f"API key {self.api_key.prefix}"


class ApiKeyAuthentication(authentication.BaseAuthentication):
    """A tenant's machine key: ``Authorization: Api-Key hdk_<prefix>_<secret>``.

    A key is only valid under its own tenant's URL; elsewhere it is simply unknown.
    """

    keyword = "Api-Key"

    def authenticate(self, request: Request):
        header = authentication.get_authorization_header(request).decode("latin-1")
        if not header.startswith(self.keyword + " "):
            return None
        tenant = getattr(request._request, "tenant", None)
        raw = header[len(self.keyword) + 1 :].strip()
        key = api_key_authenticate(tenant=tenant, raw_key=raw) if tenant else None
        if key is None:
            raise exceptions.AuthenticationFailed("Invalid or revoked API key.")
        return ApiKeyPrincipal(key), key

    def authenticate_header(self, request: Request) -> str:
        return self.keyword


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = ApiKeyAuthentication
    name = "ApiKey"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Api-Key hdk_<prefix>_<secret>`",
        }


class BearerScheme(OpenApiAuthenticationExtension):
    target_class = BearerTokenAuthentication
    name = "Bearer"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer"}
