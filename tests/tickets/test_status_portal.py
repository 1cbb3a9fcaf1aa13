"""The customer portal (``/t/<slug>/portal/``): sign-in by email link, the customer's own tickets
only, the link bound to its tenant, customer and address; never a staff page."""

from __future__ import annotations

import re

import pytest
from django.core import mail, signing

from helpdesk.tenancy.context import tenant_context
from tests.factories.tickets import CustomerFactory
from tests.tickets.test_status_services import link_of, make_ticket
from tickets.models import Customer
from tickets.services.portal import PORTAL_SALT, portal_login_token

LOGIN = "/t/acme/portal/login/"


@pytest.fixture
def grace(tenant):
    return CustomerFactory(tenant=tenant, name="Grace Hopper", email="grace@navy.test")


def sign_in_link(email_message) -> str:
    return re.search(r"http://\S+/t/\w+/portal/login/\?token=\S+", email_message.body).group(0)


def test_a_customer_signs_in_by_email_link_and_sees_only_their_tickets(client, tenant, grace):
    mine = [make_ticket(tenant, customer=grace, subject=f"Grace asks {n}") for n in range(2)]
    make_ticket(tenant, subject="SOMEONE-ELSES ticket")
    assert client.get("/t/acme/portal/").status_code == 302
    page = client.get(LOGIN)
    assert page.status_code == 200 and b"Email me a sign-in link" in page.content
    response = client.post(LOGIN, {"email": "  GRACE@navy.test "})
    assert response.status_code == 200 and b"Check your inbox" in response.content
    (email,) = mail.outbox
    assert email.to == ["grace@navy.test"] and "Acme" in email.subject
    url = sign_in_link(email)
    response = client.get(url.removeprefix("http://127.0.0.1:8000"))
    assert response.status_code == 302 and response["Location"] == "/t/acme/portal/"
    home = client.get("/t/acme/portal/")
    body = home.content.decode()
    assert home.status_code == 200 and "Grace asks 0" in body and "Grace asks 1" in body
    assert "SOMEONE-ELSES" not in body
    for ticket in mine:
        assert f"/status/{link_of(ticket).token}/" in body
    assert home["Cache-Control"] == "private, no-store"
    client.post("/t/acme/portal/logout/")
    assert client.get("/t/acme/portal/").status_code == 302


def test_asking_never_tells_whether_an_address_is_known(client, tenant, grace):
    known = client.post(LOGIN, {"email": "grace@navy.test"})
    unknown = client.post(LOGIN, {"email": "nobody@nowhere.test"})
    assert known.status_code == unknown.status_code == 200
    assert len(mail.outbox) == 1

    def strip(response) -> str:  # the address and the CSRF tokens differ, nothing else
        return re.sub(r"\S+@\S+|\"[A-Za-z0-9]{64}\"", "", response.content.decode())

    assert strip(known) == strip(unknown)


def test_bad_addresses_are_a_form_error_and_requests_are_throttled(client, tenant, grace):
    response = client.post(LOGIN, {"email": "not an address"})
    assert response.status_code == 400 and b"valid email" in response.content
    for _ in range(7):
        client.post(LOGIN, {"email": "grace@navy.test"})
    assert len(mail.outbox) == 5


def test_a_link_for_another_tenant_another_address_or_expired_does_not_sign_in(
    client, tenant, other_tenant, grace
):
    theirs = CustomerFactory(tenant=other_tenant, email="grace@navy.test")
    other_token = portal_login_token(tenant=other_tenant, customer=theirs)
    for token in (
        other_token,  # Globex's link at Acme's portal
        "garbage",
        signing.dumps({"t": tenant.pk, "c": grace.pk, "e": grace.email}, salt="status-page"),
        signing.dumps({"t": tenant.pk, "c": grace.pk, "e": "old@navy.test"}, salt=PORTAL_SALT),
    ):
        response = client.get(LOGIN, {"token": token})
        assert response.status_code == 400 and b"expired or is not valid" in response.content
        assert client.get("/t/acme/portal/").status_code == 302
    good = portal_login_token(tenant=tenant, customer=grace)
    with tenant_context(tenant):
        Customer.objects.filter(pk=grace.pk).update(email="new@navy.test")
    assert client.get(LOGIN, {"token": good}).status_code == 400  # the address changed


def test_the_portal_session_of_one_tenant_opens_nothing_at_another(
    client, tenant, other_tenant, grace
):
    make_ticket(other_tenant, subject="GLOBEX-SECRET")
    client.get(LOGIN, {"token": portal_login_token(tenant=tenant, customer=grace)})
    assert client.get("/t/acme/portal/").status_code == 200
    response = client.get("/t/globex/portal/")
    assert response.status_code == 302 and b"GLOBEX-SECRET" not in response.content


def test_portal_pages_are_customer_facing_not_staff_pages(client, agent):
    from django.urls import resolve

    for url in ("/t/acme/portal/", LOGIN, "/t/acme/portal/logout/"):
        assert resolve(url).func.customer_facing is True
    client.force_login(agent)  # a staff session is not a portal session
    assert client.get("/t/acme/portal/").status_code == 302
    assert client.get("/t/nope/portal/").status_code == 404


def test_the_portal_list_takes_the_same_queries_for_two_or_twelve_tickets(client, tenant, grace):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.get(LOGIN, {"token": portal_login_token(tenant=tenant, customer=grace)})

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get("/t/acme/portal/").status_code == 200
        return len(queries)

    for _ in range(2):
        make_ticket(tenant, customer=grace)
    few = count()
    for _ in range(10):
        make_ticket(tenant, customer=grace)
    assert count() == few
