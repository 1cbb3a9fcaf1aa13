"""Optional TOTP two-factor sign-in: enrolment, the code at sign-in, recovery codes, turning it
off, tenants that require it, and the audit log. Codes are computed from the device's real key."""

from __future__ import annotations

import re
import time

import pytest
from django_otp import devices_for_user
from django_otp.oath import TOTP
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from helpdesk.accounts import two_factor
from helpdesk.tenancy.audit import audit_list
from helpdesk.tenancy.context import tenant_context
from helpdesk.tenancy.models import Membership
from helpdesk.tenancy.policy import Role

PASSWORD = "pass-1234"  # tests/factories/tenancy.py UserFactory's default


def code(device: TOTPDevice, steps_ahead: int = 0) -> str:
    """The app's code now (or ``steps_ahead`` 30-second steps later: a code is accepted once,
    within one step of the clock)."""
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time() + steps_ahead * device.step
    return f"{totp.token():0{device.digits}d}"


def unthrottle(user) -> None:
    """What waiting out django-otp's delay after a wrong code would do."""
    for device in devices_for_user(user, confirmed=None):
        device.throttle_reset()


def actions(tenant) -> list[str]:
    with tenant_context(tenant):
        return list(audit_list(tenant=tenant).values_list("action", flat=True))


def enrol(client, user) -> tuple[TOTPDevice, list[str]]:
    client.force_login(user)
    client.get("/accounts/two-factor/")
    device = TOTPDevice.objects.get(user=user)
    response = client.post("/accounts/two-factor/", {"action": "confirm", "token": code(device)})
    assert response.status_code == 200, response.content
    return TOTPDevice.objects.get(user=user), re.findall(
        r"<li>([a-z2-7]{8})</li>", response.content.decode()
    )


def sign_in_with_password(client, email: str, next_path: str = "/t/acme/queue/"):
    return client.post(
        "/accounts/login/", {"username": email, "password": PASSWORD, "next": next_path}
    )


def test_enrolment_shows_a_qr_code_and_needs_a_correct_first_code(client, agent, tenant):
    client.force_login(agent)
    page = client.get("/accounts/two-factor/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "<svg" in html and 'data-two-factor-state="off"' in html
    device = TOTPDevice.objects.get(user=agent, confirmed=False)
    secret = two_factor.totp_enrolment_start(user=agent).secret
    assert secret in html  # the same secret on a reload, for typing in by hand
    assert client.get("/accounts/two-factor/").content.decode().count(secret) == 1

    wrong = client.post("/accounts/two-factor/", {"action": "confirm", "token": "000000"})
    assert wrong.status_code == 400
    assert "not valid" in wrong.content.decode()
    assert not two_factor.two_factor_enabled(user=agent)

    unthrottle(agent)  # the failure above throttles the device for a second
    done = client.post("/accounts/two-factor/", {"action": "confirm", "token": code(device)})
    assert done.status_code == 200
    codes = re.findall(r"<li>([a-z2-7]{8})</li>", done.content.decode())
    assert len(codes) == two_factor.RECOVERY_CODE_COUNT == len(set(codes))
    assert two_factor.two_factor_enabled(user=agent)
    assert actions(tenant)[0] == "two_factor_enabled"
    assert 'data-two-factor-state="on"' in client.get("/accounts/two-factor/").content.decode()


def test_sign_in_asks_for_the_code_before_the_session_is_signed_in(client, agent, tenant):
    device, _ = enrol(client, agent)
    client.logout()
    sign_ins = actions(tenant).count("login")

    response = sign_in_with_password(client, "agent@acme.test")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/two-factor/verify/"
    # Not signed in yet: the password alone opens nothing.
    queue = client.get("/t/acme/queue/")
    assert queue.status_code == 302 and queue["Location"].startswith("/accounts/login/")
    assert actions(tenant).count("login") == sign_ins

    assert client.get("/accounts/two-factor/verify/").status_code == 200
    bad = client.post("/accounts/two-factor/verify/", {"token": "123456"})
    assert bad.status_code == 400 and "not valid" in bad.content.decode()
    assert client.get("/t/acme/queue/").status_code == 302

    unthrottle(agent)
    ok = client.post("/accounts/two-factor/verify/", {"token": code(device, steps_ahead=1)})
    assert ok.status_code == 302 and ok["Location"] == "/t/acme/queue/"
    assert client.get("/t/acme/queue/").status_code == 200
    assert actions(tenant)[0] == "login"
    assert actions(tenant).count("login") == sign_ins + 1


def test_a_code_is_accepted_once(client, agent):
    device, _ = enrol(client, agent)
    client.logout()
    token = code(device, steps_ahead=1)
    sign_in_with_password(client, "agent@acme.test")
    assert client.post("/accounts/two-factor/verify/", {"token": token}).status_code == 302
    client.logout()
    sign_in_with_password(client, "agent@acme.test")
    assert client.post("/accounts/two-factor/verify/", {"token": token}).status_code == 400


def test_wrong_codes_throttle_the_device(client, agent):
    device, _ = enrol(client, agent)
    client.logout()
    sign_in_with_password(client, "agent@acme.test")
    for _ in range(3):
        client.post("/accounts/two-factor/verify/", {"token": "000000"})
    # Even the right code is refused while the device is throttled.
    right = client.post("/accounts/two-factor/verify/", {"token": code(device, steps_ahead=1)})
    assert right.status_code == 400
    assert client.get("/t/acme/queue/").status_code == 302


def test_a_recovery_code_signs_in_once(client, agent):
    _, codes = enrol(client, agent)
    client.logout()
    sign_in_with_password(client, "agent@acme.test")
    used = client.post("/accounts/two-factor/verify/", {"token": codes[0].upper()})
    assert used.status_code == 302
    assert StaticToken.objects.filter(device__user=agent).count() == len(codes) - 1
    client.logout()
    sign_in_with_password(client, "agent@acme.test")
    assert client.post("/accounts/two-factor/verify/", {"token": codes[0]}).status_code == 400


def test_the_pending_sign_in_expires(client, agent):
    device, _ = enrol(client, agent)
    client.logout()
    sign_in_with_password(client, "agent@acme.test")
    session = client.session
    session["two_factor_pending"]["at"] -= 600
    session.save()
    response = client.post("/accounts/two-factor/verify/", {"token": code(device, 1)})
    assert response.status_code == 302 and response["Location"] == "/accounts/login/"
    assert client.get("/t/acme/queue/").status_code == 302


def test_sign_in_does_not_redirect_to_another_site(client, agent):
    device, _ = enrol(client, agent)
    client.logout()
    sign_in_with_password(client, "agent@acme.test", next_path="https://evil.example/")
    response = client.post("/accounts/two-factor/verify/", {"token": code(device, 1)})
    assert response.status_code == 302
    assert not response["Location"].startswith("https://evil.example")


def test_renewing_recovery_codes_and_turning_off_need_a_current_code(client, agent, tenant):
    _, old_codes = enrol(client, agent)
    refused = client.post("/accounts/two-factor/", {"action": "disable", "token": "000000"})
    assert refused.status_code == 400
    assert two_factor.two_factor_enabled(user=agent)

    unthrottle(agent)  # the wrong code throttled both devices for a second
    renewed = client.post("/accounts/two-factor/", {"action": "renew", "token": old_codes[0]})
    assert renewed.status_code == 200
    new_codes = re.findall(r"<li>([a-z2-7]{8})</li>", renewed.content.decode())
    assert len(new_codes) == 10 and not set(new_codes) & set(old_codes)

    off = client.post("/accounts/two-factor/", {"action": "disable", "token": new_codes[0]})
    assert off.status_code == 302
    assert not two_factor.two_factor_enabled(user=agent)
    assert not TOTPDevice.objects.filter(user=agent).exists()
    assert actions(tenant)[:3] == [
        "two_factor_disabled",
        "two_factor_codes_renewed",
        "two_factor_enabled",
    ]


def test_unknown_action_or_empty_code_is_a_form_error(client, agent):
    client.force_login(agent)
    assert client.post("/accounts/two-factor/", {"action": "x", "token": "1"}).status_code == 400
    assert client.post("/accounts/two-factor/", {"action": "confirm"}).status_code == 400


@pytest.fixture
def requiring_tenant(client, tenant, admin_user):
    """The admin turns the requirement on through the settings page."""
    client.force_login(admin_user)
    response = client.post(
        "/t/acme/admin/settings/",
        {
            "name": tenant.name,
            "time_zone": tenant.time_zone,
            "brand_color": tenant.brand_color,
            "require_two_factor": "on",
        },
    )
    assert response.status_code == 302
    tenant.refresh_from_db()
    assert tenant.require_two_factor
    client.logout()
    return tenant


def test_a_tenant_that_requires_it_sends_members_to_set_it_up(
    client, requiring_tenant, agent, other_tenant
):
    assert actions(requiring_tenant)[0] == "settings_changed"
    client.force_login(agent)
    page = client.get("/t/acme/queue/")
    assert page.status_code == 302
    assert page["Location"] == "/accounts/two-factor/?next=%2Ft%2Facme%2Fqueue%2F"
    api = client.get("/api/v1/t/acme/tickets/")
    assert api.status_code == 403 and "two-factor" in api.json()["message"]
    # Customer-facing pages stay open.
    assert client.get("/t/acme/help/").status_code == 200

    # Another tenant of the same person that does not require it is not affected.
    Membership.objects.create(tenant=other_tenant, user=agent, role=Role.AGENT)
    assert client.get("/t/globex/queue/").status_code == 200

    device = TOTPDevice.objects.create(user=agent, name="app", confirmed=False)
    done = client.post(
        "/accounts/two-factor/",
        {"action": "confirm", "token": code(device), "next": "/t/acme/queue/"},
    )
    assert done.status_code == 200 and 'href="/t/acme/queue/"' in done.content.decode()
    assert client.get("/t/acme/queue/").status_code == 200
    assert client.get("/api/v1/t/acme/tickets/").status_code == 200


def test_an_older_session_must_enter_a_code_once_the_tenant_requires_it(
    client, requiring_tenant, agent
):
    device = TOTPDevice.objects.create(user=agent, name="app", confirmed=True)
    client.force_login(agent)  # a session that never entered a code
    page = client.get("/t/acme/queue/")
    assert page["Location"].startswith("/accounts/two-factor/verify/?next=")
    ok = client.post(
        "/accounts/two-factor/verify/", {"token": code(device), "next": "/t/acme/queue/"}
    )
    assert ok.status_code == 302 and ok["Location"] == "/t/acme/queue/"
    assert client.get("/t/acme/queue/").status_code == 200


def test_it_cannot_be_turned_off_while_a_tenant_requires_it(client, requiring_tenant, agent):
    _, codes = enrol(client, agent)
    off = client.post("/accounts/two-factor/", {"action": "disable", "token": codes[0]})
    assert off.status_code == 400
    assert "requires two-factor" in off.content.decode()
    assert two_factor.two_factor_enabled(user=agent)


@pytest.mark.django_db(transaction=True)
async def test_live_updates_need_a_verified_session_when_the_tenant_requires_it(tenant, agent):
    from channels.db import database_sync_to_async
    from channels.testing import WebsocketCommunicator
    from django.test import Client

    from helpdesk.asgi import application

    @database_sync_to_async
    def prepare() -> tuple[str, str]:
        tenant.require_two_factor = True
        tenant.save(update_fields=["require_two_factor"])
        device = TOTPDevice.objects.create(user=agent, name="app", confirmed=True)
        unverified = Client()
        unverified.force_login(agent)
        verified = Client()
        verified.force_login(agent)
        response = verified.post("/accounts/two-factor/verify/", {"token": code(device)})
        assert response.status_code == 302
        return unverified.cookies["sessionid"].value, verified.cookies["sessionid"].value

    async def connects(session_id: str) -> bool:
        communicator = WebsocketCommunicator(
            application,
            "/ws/t/acme/notifications/",
            headers=[
                (b"origin", b"http://testserver"),
                (b"cookie", f"sessionid={session_id}".encode()),
            ],
        )
        connected, _ = await communicator.connect()
        await communicator.disconnect()
        return connected

    unverified, verified = await prepare()
    assert not await connects(unverified)
    assert await connects(verified)


def test_the_admin_signs_in_through_our_sign_in_and_its_code(client, agent):
    agent.is_staff = True
    agent.save(update_fields=["is_staff"])
    device, _ = enrol(client, agent)
    client.logout()
    redirect = client.get("/admin/login/?next=/admin/")
    assert redirect.status_code == 302
    assert redirect["Location"] == "/accounts/login/?next=%2Fadmin%2F"
    # The admin's own form is not reachable: a password alone opens nothing.
    posted = client.post("/admin/login/", {"username": "agent@acme.test", "password": PASSWORD})
    assert posted.status_code == 302 and posted["Location"].startswith("/accounts/login/")
    assert client.get("/admin/").status_code == 302
    sign_in_with_password(client, "agent@acme.test", next_path="/admin/")
    assert client.get("/admin/").status_code == 302
    client.post("/accounts/two-factor/verify/", {"token": code(device, steps_ahead=1)})
    assert client.get("/admin/").status_code == 200
