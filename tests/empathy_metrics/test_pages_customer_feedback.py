"""The customer's page shows their CSAT and NPS answers and help-page feedback (score, date,
comment, ticket link), and only theirs, of their tenant."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from empathy_metrics.models import SurveyKind
from tests.empathy_metrics.factories import SurveyResponseFactory
from tests.factories.tickets import CustomerFactory, TicketFactory

UTC = ZoneInfo("UTC")


def test_the_customer_page_shows_their_survey_answers(client, agent, tenant, other_tenant):
    ada = CustomerFactory(tenant=tenant, name="Ada")
    ticket = TicketFactory(tenant=tenant, customer=ada)
    SurveyResponseFactory(
        tenant=tenant,
        ticket=ticket,
        score=2,
        comment="Took three days",
        created_at=datetime(2026, 3, 4, 12, tzinfo=UTC),
    )
    SurveyResponseFactory(
        tenant=tenant,
        kind=SurveyKind.NPS,
        customer=ada,
        score=9,
        comment="Great product",
        created_at=datetime(2026, 5, 6, 12, tzinfo=UTC),
    )
    SurveyResponseFactory(
        tenant=tenant,
        kind=SurveyKind.FEEDBACK,
        customer=ada,
        score=None,
        comment="The help search is slow",
        created_at=datetime(2026, 6, 7, 12, tzinfo=UTC),
    )
    bob = CustomerFactory(tenant=tenant, name="Bob")
    SurveyResponseFactory(tenant=tenant, kind=SurveyKind.NPS, customer=bob, comment="Bob's NPS")
    globex = CustomerFactory(tenant=other_tenant, name="Globex customer")
    SurveyResponseFactory(
        tenant=other_tenant, kind=SurveyKind.NPS, customer=globex, comment="Globex sentinel"
    )

    client.force_login(agent)
    html = client.get(f"/t/acme/customers/{ada.public_id}/").content.decode()
    assert "Surveys and feedback" in html and "3 answers" in html
    assert "CSAT 2 / 5" in html and "4 Mar 2026" in html and "Took three days" in html
    assert f'href="/t/acme/tickets/{ticket.number}/"' in html
    assert "NPS 9 / 10" in html and "6 May 2026" in html and "Great product" in html
    assert "The help search is slow" in html
    # newest first
    assert html.index("The help search is slow") < html.index("Great product")
    assert html.index("Great product") < html.index("Took three days")
    assert "Bob&#x27;s NPS" not in html and "Bob's NPS" not in html
    assert "Globex sentinel" not in html

    quiet = CustomerFactory(tenant=tenant, name="Quiet")
    html = client.get(f"/t/acme/customers/{quiet.public_id}/").content.decode()
    assert "No survey answers or feedback yet." in html
    # another tenant's customer is not found through this tenant
    assert client.get(f"/t/acme/customers/{globex.public_id}/").status_code == 404
