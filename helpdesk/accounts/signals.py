"""Framework integration: Django's sign-in signals feed the tenants' audit logs."""

from __future__ import annotations

from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.dispatch import receiver

from helpdesk.accounts.models import User
from helpdesk.tenancy.audit import audit_record_for_member


@receiver(user_logged_in, dispatch_uid="audit-login")
def audit_login(sender, request, user, **kwargs) -> None:
    audit_record_for_member(user=user, action="login", request=request)


@receiver(user_login_failed, dispatch_uid="audit-login-failed")
def audit_login_failed(sender, credentials, request=None, **kwargs) -> None:
    email = (credentials or {}).get("username") or (credentials or {}).get("email") or ""
    user = User.objects.filter(email__iexact=email).first() if email else None
    if user is not None:
        audit_record_for_member(
            user=user, action="login_failed", request=request, data={"email": user.email}
        )
