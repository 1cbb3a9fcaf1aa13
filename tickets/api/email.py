"""The inbound email webhook: ``POST /api/v1/t/<slug>/email/inbound/`` with the raw RFC 5322 source.

Authentication, either of:

- ``Authorization: Api-Key hdk_<prefix>_<secret>`` with a key of this tenant that has the
  ``ingest:email`` scope;
- ``X-Helpdesk-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256>``, keyed with the tenant's inbound
  secret (``IntakeSettings.inbound_secret``, set on the mailboxes page) over ``"<t>."`` followed by
  the raw request body, with ``t`` at most five minutes from our clock. This is the same scheme as
  our outbound webhooks (``tickets.services.webhooks``).

The body is the message exactly as received (``Content-Type: message/rfc822`` is preferred, any is
accepted). It is stored before anything else happens to it and processed by a worker:

- ``202`` ``{"id", "state": "received", "message_id", "duplicate": false}``: stored and queued;
- ``200`` with ``"duplicate": true``: a message with this Message-ID is already stored (nothing
  new is stored; retrying a delivery is safe);
- ``413``: over ``HELPDESK_EMAIL_MAX_BYTES``; the refusal is recorded with its reason;
- ``400``: an empty body; ``401``/``403``: authentication or scope.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import authentication, exceptions, serializers, status
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.response import Response

from helpdesk.tenancy.api.authentication import ApiKeyAuthentication, ApiKeyPrincipal
from helpdesk.tenancy.api.throttling import TenantScopedRateThrottle
from helpdesk.tenancy.api.views import TenantApiView
from tickets import services
from tickets.email import selectors
from tickets.models import InboundEmail

SIGNATURE_HEADER = "X-Helpdesk-Signature"
SIGNATURE_TOLERANCE_SECONDS = 300
INGEST_SCOPE = "ingest:email"
_CHUNK = 64 * 1024
_HEAD = 64 * 1024


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The message is too large."


@dataclass(frozen=True)
class InboundBody:
    raw: bytes | None  # None when over the size limit
    head: bytes  # the first bytes (enough for the header block)
    size: int
    mac_hex: str = ""


def read_inbound_body(request, *, mac=None) -> InboundBody:
    """Read the raw body once, in chunks, keeping at most the size limit in memory (and only the
    head of a larger message, whose bytes still go through ``mac``)."""
    django_request = request._request
    cached = getattr(django_request, "_inbound_body", None)
    if cached is not None:
        return cached
    limit = settings.HELPDESK_EMAIL_MAX_BYTES
    hard_limit = 4 * limit + _HEAD
    chunks: list[bytes] = []
    head = b""
    size = 0
    oversize = False
    while True:
        chunk = django_request.read(_CHUNK)
        if not chunk:
            break
        size += len(chunk)
        if size > hard_limit:
            raise PayloadTooLarge("The message is far over the size limit; it was not read.")
        if mac is not None:
            mac.update(chunk)
        if oversize:
            continue
        chunks.append(chunk)
        if size > limit:
            oversize = True
            head = b"".join(chunks)[:_HEAD]
            chunks = []
    raw = None if oversize else b"".join(chunks)
    body = InboundBody(
        raw=raw,
        head=head if oversize else (raw or b"")[:_HEAD],
        size=size,
        mac_hex=mac.hexdigest() if mac is not None else "",
    )
    django_request._inbound_body = body
    return body


class InboundSignaturePrincipal(AnonymousUser):
    """The request.user of a webhook call signed with the tenant's inbound secret."""

    def __init__(self, tenant_id: int) -> None:
        super().__init__()
        self.tenant_id = tenant_id

    @property
    def is_authenticated(self) -> bool:  # type: ignore[override]
        return True

    def __str__(self) -> str:
        return f"inbound email signature of tenant {self.tenant_id}"


def _signature_parts(header: str) -> tuple[int | None, list[str]]:
    timestamp: int | None = None
    candidates: list[str] = []
    for item in (header or "").split(","):
        key, _, value = item.strip().partition("=")
        if key == "t" and value.isdigit():
            timestamp = int(value)
        elif key == "v1" and value:
            candidates.append(value.strip())
    return timestamp, candidates


class InboundSignatureAuthentication(authentication.BaseAuthentication):
    """``X-Helpdesk-Signature: t=<unix>,v1=<hex>``: HMAC-SHA256 of ``"<t>." + body``."""

    def authenticate(self, request):
        header = request.META.get("HTTP_X_HELPDESK_SIGNATURE")
        if not header:
            return None
        tenant = getattr(request._request, "tenant", None)
        if tenant is None:
            raise exceptions.NotFound("Not found.")
        secret = selectors.intake_settings_get(tenant=tenant).inbound_secret
        timestamp, candidates = _signature_parts(header)
        if not secret or timestamp is None or not candidates:
            raise exceptions.AuthenticationFailed("Invalid signature.")
        if abs(time.time() - timestamp) > SIGNATURE_TOLERANCE_SECONDS:
            raise exceptions.AuthenticationFailed(
                "The signature timestamp is more than five minutes from our clock."
            )
        mac = hmac.new(secret.encode(), f"{timestamp}.".encode(), hashlib.sha256)
        body = read_inbound_body(request, mac=mac)
        if not any(hmac.compare_digest(body.mac_hex, c) for c in candidates):
            raise exceptions.AuthenticationFailed("Invalid signature.")
        return InboundSignaturePrincipal(tenant.pk), None

    def authenticate_header(self, request) -> str:
        return "Signature"


class InboundSignatureScheme(OpenApiAuthenticationExtension):
    target_class = InboundSignatureAuthentication
    name = "InboundSignature"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": SIGNATURE_HEADER,
            "description": "`t=<unix seconds>,v1=<hex HMAC-SHA256 of '<t>.' + raw body>`, keyed "
            "with the tenant's inbound secret.",
        }


class InboundEmailAccess(BasePermission):
    """The tenant's API key with the ``ingest:email`` scope, or the tenant's signature."""

    def has_permission(self, request, view) -> bool:
        tenant = getattr(request._request, "tenant", None)
        if tenant is None:
            raise exceptions.NotFound("Not found.")
        user = request.user
        if isinstance(user, ApiKeyPrincipal):
            if request.auth.tenant_id != tenant.pk:
                raise exceptions.NotFound("Not found.")
            if INGEST_SCOPE not in request.auth.scopes:
                raise exceptions.PermissionDenied(
                    f"This API key does not have the {INGEST_SCOPE} scope."
                )
            return True
        if isinstance(user, InboundSignaturePrincipal) and user.tenant_id == tenant.pk:
            return True
        raise exceptions.NotAuthenticated(
            f"Use an API key with the {INGEST_SCOPE} scope or sign the request."
        )


class InboundEmailCreateApi(TenantApiView):
    """Receive one raw email (RFC 5322) for this tenant: stored first, then processed by a worker
    into a new ticket or a reply on the ticket it belongs to."""

    model = InboundEmail
    throttle_classes = [TenantScopedRateThrottle]
    throttle_scope = "email_inbound"
    authentication_classes = [ApiKeyAuthentication, InboundSignatureAuthentication]
    permission_classes = [IsAuthenticated, InboundEmailAccess]
    pagination_class = None

    class OutputSerializer(serializers.Serializer):
        id = serializers.IntegerField(help_text="The inbound email's id in this helpdesk.")
        state = serializers.CharField(
            help_text="received (queued), processed, ignored, rejected or failed."
        )
        message_id = serializers.CharField(
            help_text="The Message-ID (a stable stand-in when the message has none)."
        )
        duplicate = serializers.BooleanField(help_text="Already stored: nothing new was stored.")
        reason = serializers.CharField(help_text="Why it was ignored or refused, if it was.")

    serializer_class = OutputSerializer

    def get_tenant_queryset(self):
        return selectors.inbound_email_list(tenant=self.tenant)

    def _answer(self, inbound: InboundEmail, *, created: bool, status_code: int) -> Response:
        data = {
            "id": inbound.pk,
            "state": inbound.state,
            "message_id": inbound.rfc_message_id,
            "duplicate": not created,
            "reason": inbound.reason,
        }
        # Plain values already: the serializer documents the shape (schema) without the per-request
        # cost of running it.
        return Response(data, status=status_code)

    @extend_schema(
        request={"message/rfc822": OpenApiTypes.BINARY},
        parameters=[
            OpenApiParameter(
                SIGNATURE_HEADER,
                str,
                location=OpenApiParameter.HEADER,
                required=False,
                description="t=<unix seconds>,v1=<hex HMAC-SHA256 of '<t>.' + raw body>",
            )
        ],
        responses={
            202: OutputSerializer,
            200: OutputSerializer,
            400: OpenApiResponse(description="Empty body"),
            413: OpenApiResponse(description="Over the size limit (recorded)"),
        },
    )
    def post(self, request, tenant_slug: str):
        body = read_inbound_body(request)
        if body.raw is not None and not body.raw.strip():
            raise exceptions.ValidationError(
                {"raw": ["Send the raw RFC 5322 message as the request body."]}
            )
        if body.raw is None:
            inbound, created = services.inbound_email_refuse_oversized(
                tenant=self.tenant, head=body.head, size=body.size, source="webhook"
            )
            if not created:
                return self._answer(inbound, created=False, status_code=status.HTTP_200_OK)
            return Response(
                {"message": inbound.reason, "id": inbound.pk, "state": inbound.state},
                status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
            )
        try:
            inbound, created = services.inbound_email_receive(
                tenant=self.tenant, raw=body.raw, source="webhook"
            )
        except DjangoValidationError as exc:
            raise exceptions.ValidationError(exc.message_dict) from exc
        return self._answer(
            inbound,
            created=created,
            status_code=status.HTTP_202_ACCEPTED if created else status.HTTP_200_OK,
        )
