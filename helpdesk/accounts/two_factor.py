"""Optional two-factor sign-in for staff: TOTP codes from an app, plus single-use recovery codes.

Built on django-otp: a person's ``TOTPDevice`` (the app's secret) and ``StaticDevice`` (ten
recovery codes) belong to the global login, like the password. Enabling, disabling and renewing
codes are recorded in the audit log of every tenant the person belongs to. A tenant admin can
require two-factor sign-in for the tenant (``Tenant.require_two_factor``); the
``TwoFactorRequiredMiddleware`` then keeps members without a verified session out of its pages
and API.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass

import segno
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest
from django_otp import devices_for_user, user_has_device
from django_otp.models import Device
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from helpdesk.accounts.models import User
from helpdesk.tenancy.audit import audit_record_for_member
from helpdesk.tenancy.models import Membership

RECOVERY_CODE_COUNT = 10
TOTP_NAME = "Authenticator app"
RECOVERY_NAME = "Recovery codes"
BAD_CODE = "That code is not valid. Check your app's clock and try the newest code."


@dataclass(frozen=True)
class Enrolment:
    device: TOTPDevice
    secret: str  # base32, for typing into an app by hand
    config_url: str  # otpauth://
    qr_svg: str  # inline SVG of the config URL


def two_factor_enabled(*, user: User) -> bool:
    return user_has_device(user, confirmed=True)


def two_factor_required_by(*, user: User) -> list[str]:
    """Names of the user's tenants that require two-factor sign-in."""
    return list(
        Membership.objects.filter(user=user, tenant__require_two_factor=True)
        .order_by("tenant__name")
        .values_list("tenant__name", flat=True)
    )


def totp_enrolment_start(*, user: User) -> Enrolment:
    """The unconfirmed app secret to show (created once; a reload shows the same one)."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("pk").first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name=TOTP_NAME, confirmed=False)
    url = device.config_url
    qr = segno.make(url, error="m").svg_inline(scale=4, dark="#101828", light="#ffffff")
    return Enrolment(
        device=device,
        secret=base64.b32encode(device.bin_key).decode(),
        config_url=url,
        qr_svg=qr,
    )


def _normalise(token: str) -> str:
    return "".join((token or "").split()).replace("-", "").lower()


def _recovery_codes_create(*, user: User) -> list[str]:
    StaticDevice.objects.filter(user=user).delete()
    device = StaticDevice.objects.create(user=user, name=RECOVERY_NAME, confirmed=True)
    codes = [StaticToken.random_token() for _ in range(RECOVERY_CODE_COUNT)]
    StaticToken.objects.bulk_create(StaticToken(device=device, token=code) for code in codes)
    return codes


def totp_enrolment_confirm(
    *, user: User, token: str, request: HttpRequest | None = None
) -> tuple[TOTPDevice, list[str]]:
    """Confirm the app with a first code: two-factor sign-in is on. Returns the device and the
    recovery codes (shown once). ``ValidationError`` for a wrong code."""
    with transaction.atomic():
        device = (
            TOTPDevice.objects.select_for_update()
            .filter(user=user, confirmed=False)
            .order_by("pk")
            .first()
        )
        if device is None:
            raise ValidationError({"token": "Start the set-up again: no app is waiting."})
        if not device.verify_token(_normalise(token)):
            raise ValidationError({"token": BAD_CODE})
        TOTPDevice.objects.filter(user=user).exclude(pk=device.pk).delete()
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        codes = _recovery_codes_create(user=user)
        audit_record_for_member(user=user, action="two_factor_enabled", request=request)
    return device, codes


def two_factor_verify(*, user: User, token: str) -> Device | None:
    """The device that accepts ``token`` (an app code or an unused recovery code), or None.

    django-otp throttles each device after failures (growing delays) and spends a recovery code
    on use."""
    token = _normalise(token)
    if not token:
        return None
    with transaction.atomic():
        for device in devices_for_user(user, confirmed=True, for_verify=True):
            if device.verify_token(token):
                return device
    return None


def two_factor_disable(*, user: User, token: str, request: HttpRequest | None = None) -> None:
    """Turn two-factor sign-in off, confirmed with a current code. Refused while a tenant of the
    user requires it."""
    required = two_factor_required_by(user=user)
    if required:
        raise ValidationError(
            {"token": f"{', '.join(required)} requires two-factor sign-in; it stays on."}
        )
    if two_factor_verify(user=user, token=token) is None:
        raise ValidationError({"token": BAD_CODE})
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user).delete()
        StaticDevice.objects.filter(user=user).delete()
        audit_record_for_member(user=user, action="two_factor_disabled", request=request)


def recovery_codes_renew(
    *, user: User, token: str, request: HttpRequest | None = None
) -> list[str]:
    """New recovery codes (the old ones stop working), confirmed with a current code."""
    if not two_factor_enabled(user=user):
        raise ValidationError({"token": "Two-factor sign-in is off."})
    if two_factor_verify(user=user, token=token) is None:
        raise ValidationError({"token": BAD_CODE})
    with transaction.atomic():
        codes = _recovery_codes_create(user=user)
        audit_record_for_member(user=user, action="two_factor_codes_renewed", request=request)
    return codes


def recovery_codes_left(*, user: User) -> int:
    return StaticToken.objects.filter(device__user=user, device__confirmed=True).count()
