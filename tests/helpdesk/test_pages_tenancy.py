"""Landing, sign-up, login, password reset, tenant switcher and tenant administration pages."""

from __future__ import annotations

import re

from django.core import mail

from helpdesk.accounts.models import User
from helpdesk.tenancy.models import Membership, Tenant
from helpdesk.tenancy.policy import Role
from helpdesk.tenancy.services import tenant_create
from tests.factories.tenancy import UserFactory

SIGNUP = {
    "name": "Initech",
    "slug": "initech",
    "full_name": "Peter Gibbons",
    "email": "peter@initech.test",
    "password": "a-Decent-passphrase-42",
    "time_zone": "America/Chicago",
}


def test_landing_shows_signup_and_nothing_private(client, tenant, agent):
    response = client.get("/")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'action="/signup/"' in html
    assert "Acme" not in html and "agent@acme.test" not in html


def test_signup_creates_the_tenant_and_its_admin_and_signs_in(client, db):
    response = client.post("/signup/", SIGNUP)
    assert response.status_code == 302
    assert response["Location"] == "/t/initech/"
    tenant = Tenant.objects.get(slug="initech")
    assert tenant.time_zone == "America/Chicago"
    assert tenant.reference_prefix == "INITEC"
    user = User.objects.get(email="peter@initech.test")
    assert Membership.objects.get(tenant=tenant, user=user).role == Role.ADMIN
    assert client.get("/t/initech/admin/members/").status_code == 200


def test_signup_with_a_taken_or_reserved_address_shows_a_form_error(client, tenant):
    taken = client.post("/signup/", {**SIGNUP, "slug": "acme"})
    assert taken.status_code == 400
    assert "already taken" in taken.content.decode()
    reserved = client.post("/signup/", {**SIGNUP, "slug": "api"})
    assert reserved.status_code == 400
    assert "reserved" in reserved.content.decode()
    assert not User.objects.filter(email="peter@initech.test").exists()


def test_signup_honeypot_creates_nothing(client, db):
    response = client.post("/signup/", {**SIGNUP, "website": "http://spam.example"})
    assert response.status_code == 302
    assert not Tenant.objects.filter(slug="initech").exists()


def test_login_with_email_lands_on_the_only_tenant(client, agent, tenant):
    response = client.post(
        "/accounts/login/", {"username": "AGENT@acme.test", "password": "pass-1234"}
    )
    assert response.status_code == 302
    assert client.get("/home/")["Location"] == "/t/acme/"
    assert client.get("/t/acme/")["Location"] == "/t/acme/queue/"


def test_person_in_two_tenants_chooses_and_the_switcher_lists_only_their_own(
    client, tenant, other_tenant, db
):
    person = UserFactory(email="pat@both.test")
    Membership.objects.create(tenant=tenant, user=person, role=Role.MANAGER)
    Membership.objects.create(tenant=other_tenant, user=person, role=Role.AGENT)
    third_admin = UserFactory(email="boss@third.test")
    tenant_create(name="Third Co", slug="third", admin=third_admin)
    client.force_login(person)
    chooser = client.get("/home/").content.decode()
    assert "/t/acme/" in chooser and "/t/globex/" in chooser
    page = client.get("/t/acme/queue/").content.decode()
    assert "/t/globex/" in page
    assert "Third Co" not in page and "/t/third/" not in page


def test_password_reset_sends_a_working_link(client, agent):
    response = client.post("/accounts/password-reset/", {"email": "agent@acme.test"})
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    link = re.search(r"http://testserver(/accounts/reset/\S+/)", mail.outbox[0].body).group(1)
    form = client.get(link, follow=True)
    assert form.status_code == 200
    done = client.post(
        form.redirect_chain[-1][0],
        {"new_password1": "n3w-Passphrase!", "new_password2": "n3w-Passphrase!"},
    )
    assert done.status_code == 302
    assert client.login(username="agent@acme.test", password="n3w-Passphrase!")


def test_admin_adds_a_member_changes_the_role_and_cannot_remove_the_last_admin(
    client, admin_user, tenant
):
    client.force_login(admin_user)
    response = client.post(
        "/t/acme/admin/members/", {"email": "new@acme.test", "role": Role.AGENT, "full_name": "New"}
    )
    assert response.status_code == 302
    membership = Membership.objects.get(tenant=tenant, user__email="new@acme.test")
    client.post(f"/t/acme/admin/members/{membership.pk}/role/", {"role": Role.SPECIALIST})
    membership.refresh_from_db()
    assert membership.role == Role.SPECIALIST
    own = Membership.objects.get(tenant=tenant, user=admin_user)
    page = client.post(f"/t/acme/admin/members/{own.pk}/remove/", follow=True).content.decode()
    assert "at least one admin" in page
    assert Membership.objects.filter(pk=own.pk).exists()


def test_api_key_page_shows_the_key_once_and_it_works(client, admin_user, tenant):
    client.force_login(admin_user)
    response = client.post("/t/acme/admin/api-keys/", {"name": "Zapier", "scopes": ["read"]})
    assert response.status_code == 200
    raw = re.search(r"hdk_[0-9a-f]{8}_[A-Za-z0-9_\-]+", response.content.decode()).group(0)
    assert raw not in client.get("/t/acme/admin/api-keys/").content.decode()
    from rest_framework.test import APIClient

    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw}")
    assert api.get("/api/v1/t/acme/tickets/").status_code == 200


def test_settings_page_validates_and_saves(client, admin_user, tenant):
    client.force_login(admin_user)
    bad = client.post(
        "/t/acme/admin/settings/", {"name": "Acme", "time_zone": "Mars/Base", "brand_color": "red"}
    )
    assert bad.status_code == 400
    good = client.post(
        "/t/acme/admin/settings/",
        {"name": "Acme Inc", "time_zone": "Asia/Tokyo", "brand_color": "#112233"},
    )
    assert good.status_code == 302
    tenant.refresh_from_db()
    assert (tenant.name, tenant.time_zone, tenant.brand_color) == (
        "Acme Inc",
        "Asia/Tokyo",
        "#112233",
    )


def test_logout_is_a_post(client, agent):
    client.force_login(agent)
    assert client.get("/accounts/logout/").status_code == 405
    assert client.post("/accounts/logout/").status_code == 302
    assert client.get("/t/acme/queue/").status_code == 302


def test_a_new_member_gets_an_invitation_with_a_working_password_link(
    client, admin_user, tenant, django_capture_on_commit_callbacks
):
    client.force_login(admin_user)
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/t/acme/admin/members/", {"email": "newbie@acme.test", "role": Role.AGENT})
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["newbie@acme.test"]
    link = re.search(r"http://127\.0\.0\.1:8000(/accounts/reset/\S+/)", mail.outbox[0].body).group(
        1
    )
    client.logout()
    form = client.get(link, follow=True)
    done = client.post(
        form.redirect_chain[-1][0],
        {"new_password1": "Welcome-aboard-7", "new_password2": "Welcome-aboard-7"},
    )
    assert done.status_code == 302
    assert client.login(username="newbie@acme.test", password="Welcome-aboard-7")


def test_repeated_failed_sign_ins_are_throttled_even_with_the_right_password(client, agent):
    for _ in range(5):
        response = client.post(
            "/accounts/login/", {"username": "agent@acme.test", "password": "nope"}
        )
        assert response.status_code == 200
    blocked = client.post(
        "/accounts/login/", {"username": "agent@acme.test", "password": "pass-1234"}
    )
    assert blocked.status_code == 429
    assert "Too many failed sign-ins" in blocked.content.decode()
    other = client.post("/accounts/login/", {"username": "someone@acme.test", "password": "nope"})
    assert other.status_code == 200  # other addresses are not blocked by one person's failures
