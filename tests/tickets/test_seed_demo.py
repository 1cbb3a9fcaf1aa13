"""The seeded demo works: every role sees its pages and is refused the others."""

from __future__ import annotations

import re
from io import StringIO

import pytest
from django.core.management import call_command

from empathy_metrics.models import SurveyKind, SurveyRequest, SurveyResponse
from helpdesk.tenancy.context import tenant_context
from helpdesk.tenancy.models import Membership, Tenant
from tickets.models import Channel, Macro, Message, Status, Ticket


@pytest.fixture
def demo(db):
    out = StringIO()
    call_command("seed_demo", customers=10, tickets=30, no_progress=True, stdout=out)
    return out.getvalue()


def login(client, email):
    assert client.login(username=email, password="helpdesk-demo"), email
    return client


def test_seed_creates_two_tenants_with_staff_and_varied_tickets(demo):
    assert "admin@acme.test" in demo and "dana@globex.test" in demo
    for slug in ("acme", "globex"):
        tenant = Tenant.objects.get(slug=slug)
        assert Membership.objects.filter(tenant=tenant).count() == 8  # 7 staff + the consultant
        with tenant_context(tenant):
            tickets = Ticket.objects.for_tenant(tenant)
            assert tickets.count() == 30
            assert len(set(tickets.values_list("status", flat=True))) >= 3
            assert len(set(tickets.values_list("channel", flat=True))) >= 3
            assert set(tickets.values_list("channel", flat=True)) <= set(Channel.values)
            assert Message.objects.for_tenant(tenant).count() > 2 * 30
            assert tickets.filter(status=Status.SOLVED).exclude(first_response_at=None).exists()


def card_value(html: str, key: str) -> str:
    card = re.search(rf'data-card="{key}".*?</article>', html, re.S).group(0)
    return re.search(r'class="metric-card-value[^"]*"[^>]*>([^<]*)<', card).group(1).strip()


def test_the_demo_dashboard_has_csat_nps_and_help_page_feedback(client, demo):
    """Managers open the demo's dashboard on figures, not "No data": the seeding answered CSAT
    and NPS and left help-page feedback, through the services real answers use (the comments
    are analysed, the rollups count them)."""
    html = login(client, "manager@acme.test").get("/t/acme/dashboards/").content.decode()
    assert re.fullmatch(r"\d+\.\d%", card_value(html, "csat")), card_value(html, "csat")
    assert re.fullmatch(r"[+\u2212]?\d+", card_value(html, "nps")), card_value(html, "nps")
    for slug in ("acme", "globex"):
        tenant = Tenant.objects.get(slug=slug)
        with tenant_context(tenant):
            answers = SurveyResponse.objects.for_tenant(tenant)
            csat = answers.filter(kind=SurveyKind.CSAT)
            solved = Ticket.objects.for_tenant(tenant).filter(
                status__in=(Status.SOLVED, Status.CLOSED)
            )
            assert 0 < csat.count() < solved.count()  # a share of the solved tickets
            assert csat.exclude(comment="").exists()
            assert len(set(csat.values_list("score", flat=True))) >= 2
            nps = answers.filter(kind=SurveyKind.NPS)
            assert nps.count() >= 3 and nps.exclude(comment="").exists()
            feedback = answers.filter(kind=SurveyKind.FEEDBACK, channel="help_page")
            assert feedback.count() >= 10
            # spread over the demo's days, and every comment went through the analysis
            days = {at.date() for at in answers.values_list("created_at", flat=True)}
            assert len(days) >= 10
            for extra in answers.exclude(comment="").values_list("extra_answers", flat=True):
                assert "_analysis" in extra, extra
    assert re.search(r"data-feedback-count>\d+ pieces of feedback<", html)


def test_a_demo_seeded_before_it_had_feedback_gets_it_on_the_next_run(client, demo):
    for tenant in Tenant.objects.all():
        with tenant_context(tenant):
            SurveyResponse.objects.for_tenant(tenant).delete()
            SurveyRequest.objects.for_tenant(tenant).delete()
    call_command("seed_demo", customers=10, tickets=30, no_progress=True, stdout=StringIO())
    tenant = Tenant.objects.get(slug="acme")
    with tenant_context(tenant):
        assert Ticket.objects.count() == 30  # the tickets were reused
        kinds = set(SurveyResponse.objects.for_tenant(tenant).values_list("kind", flat=True))
    assert kinds == {SurveyKind.CSAT, SurveyKind.NPS, SurveyKind.FEEDBACK}
    html = login(client, "manager@acme.test").get("/t/acme/dashboards/").content.decode()
    assert card_value(html, "csat") != "No data" and card_value(html, "nps") != "No data"


def test_second_run_reuses_what_exists(demo):
    out = StringIO()
    call_command("seed_demo", customers=10, tickets=30, no_progress=True, stdout=out)
    assert "already seeded" in out.getvalue()
    tenant = Tenant.objects.get(slug="acme")
    with tenant_context(tenant):
        assert Ticket.objects.count() == 30
        assert Macro.objects.count() == 3


def test_the_demo_reply_box_offers_the_seeded_macros(client, demo):
    page = login(client, "dana@acme.test").get("/t/acme/tickets/1/").content.decode()
    assert "Password reset link" in page and "Refund on its way" in page


@pytest.mark.parametrize(
    ("email", "path", "status"),
    [
        ("dana@acme.test", "/t/acme/queue/", 200),
        ("dana@acme.test", "/t/acme/tickets/1/", 200),
        ("dana@acme.test", "/t/acme/customers/", 200),
        ("dana@acme.test", "/t/acme/admin/members/", 403),
        ("dana@acme.test", "/t/globex/queue/", 404),
        ("sam@acme.test", "/t/acme/queue/?view=mine", 200),
        ("olive@acme.test", "/t/acme/tickets/1/", 200),
        ("olive@acme.test", "/t/acme/admin/settings/", 403),
        ("manager@acme.test", "/t/acme/admin/api-keys/", 403),
        ("admin@acme.test", "/t/acme/admin/members/", 200),
        ("admin@acme.test", "/t/acme/admin/api-keys/", 200),
        ("admin@acme.test", "/t/globex/admin/members/", 404),
        ("admin@globex.test", "/t/globex/admin/settings/", 200),
        ("pat@consultants.test", "/t/acme/queue/", 200),
        ("pat@consultants.test", "/t/globex/queue/", 200),
    ],
)
def test_demo_pages_per_role(client, demo, email, path, status):
    assert login(client, email).get(path).status_code == status


def test_anonymous_demo_visitor_sees_landing_and_login_only(client, demo):
    assert client.get("/").status_code == 200
    assert client.get("/accounts/login/").status_code == 200
    assert client.get("/t/acme/queue/").status_code == 302
    assert client.get("/api/v1/t/acme/tickets/").status_code == 401
