"""Account emails: the invitation that lets a new member choose a password."""

from __future__ import annotations

import logging

from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from helpdesk.accounts.models import User

logger = logging.getLogger(__name__)


def password_setup_url(*, user: User) -> str:
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    path = reverse("accounts:password_reset_confirm", kwargs={"uidb64": uid, "token": token})
    return settings.HELPDESK_BASE_URL.rstrip("/") + path


def user_invite_send_on_commit(*, user: User, team_name: str, inviter: User | None) -> None:
    """After commit, email ``user`` a link to choose a password and join ``team_name``."""

    def send() -> None:
        who = inviter.get_full_name() if inviter else "Your team"
        body = (
            f"{who} invited you to {team_name}'s helpdesk.\n\n"
            f"Choose your password here (the link works once):\n{password_setup_url(user=user)}\n\n"
            f"Then sign in with {user.email}.\n"
        )
        try:
            send_mail(f"You're invited to {team_name}'s helpdesk", body, None, [user.email])
        except OSError:
            logger.exception("invitation email to user %s could not be sent", user.pk)

    transaction.on_commit(send)
