"""The cross-tenant probe over the routes that a token opens (no tenant slug in the path).

Discovered from the URL conf: every route with a ``token`` parameter (status page, its events and
replies, the CSAT answer, the NPS survey) and every route that names a helpdesk by slug outside
``/t/`` (the public feedback form). Each is requested (GET and POST) with tokens that must open
nothing: tenant B's rotated status link, a tampered link token, a status-page viewer token (a
different kind of token), a survey token that pairs tenant A with B's survey request, and one of
B's status link tokens used on the survey route. Every answer must be a refusal with no B data in
the body, and B's rows must be unchanged. A's own genuine token opens A's page (a positive
control: the routes do answer).
"""

from __future__ import annotations

from django.core import signing

from empathy_metrics.services_nps import TOKEN_SALT, nps_request_send, survey_token_for
from tests.factories.tickets import CustomerFactory
from tests.helpdesk.test_security_csrf import discover_all_routes
from tests.isolation.probe import PARAM, snapshot_of_tenant
from tickets import services
from tickets.services.status import status_link_ensure, status_link_rotate, status_viewer_token

SENTINEL = "GLOBEX-TOKEN-SENTINEL-77ab"
REFUSED = {400, 403, 404, 405, 410}

TOKEN_ROUTES = [
    pattern
    for pattern, _callback in discover_all_routes()
    if not pattern.startswith(("/admin/", "/accounts/", "/t/", "/api/"))
    and any(m["name"] in {"token", "helpdesk"} for m in PARAM.finditer(pattern))
]


def fill_token(pattern: str, value: str) -> str:
    return PARAM.sub(lambda m: value, pattern)


def b_world(other_tenant, other_admin, tenant):
    customer = CustomerFactory(tenant=other_tenant, name=SENTINEL, email="b@globex.example")
    ticket = services.ticket_create(
        tenant=other_tenant, customer=customer, subject=SENTINEL, body=SENTINEL
    )
    old = status_link_ensure(tenant=other_tenant, ticket=ticket)
    current = status_link_rotate(tenant=other_tenant, actor=other_admin, ticket=ticket)
    survey = nps_request_send(tenant=other_tenant, customer=customer)
    mixed = signing.dumps({"t": tenant.pk, "r": str(survey.public_id)}, salt=TOKEN_SALT)
    return {
        "rotated link": old.token,
        "tampered link": current.token[:-1] + ("x" if current.token[-1] != "x" else "y"),
        "viewer token as a link": status_viewer_token(link=current),
        "survey token naming tenant A": mixed,
        "status link token on the survey": current.token,
        "survey token on the status page": survey_token_for(survey_request=survey),
    }


def test_the_token_routes_are_discovered():
    joined = " ".join(TOKEN_ROUTES)
    for expected in ("/status/", "/feedback/csat/", "/survey/"):
        assert expected in joined, TOKEN_ROUTES


def test_no_token_route_opens_anything_of_b_with_a_wrong_or_foreign_token(
    client, tenant, other_tenant, agent, other_admin
):
    tokens = b_world(other_tenant, other_admin, tenant)
    before = snapshot_of_tenant(other_tenant)
    client.force_login(agent)  # a member of A, as elsewhere in the probe
    leaks = []
    for pattern in TOKEN_ROUTES:
        if "<slug:helpdesk>" in pattern:
            continue  # the public feedback form: its own test below
        for name, token in tokens.items():
            if name == "status link token on the survey" and not pattern.startswith("/survey/"):
                continue  # a genuine link token: on the status routes it is the customer's
            if name == "survey token on the status page" and pattern.startswith("/survey/"):
                continue  # a genuine survey token: on the survey route it is the customer's
            url = fill_token(pattern, token)
            for method in ("get", "post"):
                response = getattr(client, method)(url)
                body = response.content.decode(errors="replace")
                if SENTINEL in body:
                    leaks.append((method, pattern, name, "B's data in the body"))
                elif response.status_code not in REFUSED:
                    leaks.append((method, pattern, name, response.status_code))
    assert leaks == [], leaks
    assert snapshot_of_tenant(other_tenant) == before


def test_the_public_feedback_form_of_b_shows_nothing_of_b_and_refuses_an_empty_post(
    client, tenant, other_tenant, agent, other_admin
):
    b_world(other_tenant, other_admin, tenant)
    before = snapshot_of_tenant(other_tenant)
    client.force_login(agent)
    for pattern in (p for p in TOKEN_ROUTES if "<slug:helpdesk>" in p):
        url = fill_token(pattern, "globex")
        page = client.get(url)
        assert SENTINEL not in page.content.decode()
        refused = client.post(url, {})
        assert refused.status_code == 400 and SENTINEL not in refused.content.decode()
    assert snapshot_of_tenant(other_tenant) == before


def test_a_genuine_token_opens_its_own_page_only(client, tenant, other_tenant, other_admin):
    """The positive control: A's real link answers, with A's ticket and nothing of B."""
    b_world(other_tenant, other_admin, tenant)
    customer = CustomerFactory(tenant=tenant)
    ticket = services.ticket_create(tenant=tenant, customer=customer, subject="Acme own", body="x")
    link = status_link_ensure(tenant=tenant, ticket=ticket)
    page = client.get(f"/status/{link.token}/")
    assert page.status_code == 200
    body = page.content.decode()
    assert "Acme own" in body and SENTINEL not in body
