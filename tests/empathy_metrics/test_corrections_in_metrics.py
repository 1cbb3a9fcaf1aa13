"""Agents' corrections of the message analysis count in the metrics: the sentiment mix, signals,
drills and examples use the corrected label and signals, the dashboard says how many messages
were corrected, and the rollups follow a correction (equal to the direct computation).

Hand-made data in Europe/Berlin; 2 March 2026 is a Monday and the period is the week 2-8 March.
"""

from __future__ import annotations

import csv
import io
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from empathy_metrics.periods import Filters, Period
from empathy_metrics.selectors.dashboard import dashboard_data
from empathy_metrics.selectors.direct import metrics_direct
from empathy_metrics.selectors.drilldown import corrected_message_count, drill_rows
from empathy_metrics.selectors.rollup import metrics_rollup
from empathy_metrics.services_rollups import metrics_rollup_rebuild, metrics_rollup_update
from helpdesk.tenancy.context import tenant_context
from helpdesk.tenancy.policy import Role
from tests.empathy_metrics.factories import MessageAnalysisFactory
from tests.factories.tickets import MessageFactory, TicketFactory
from tickets.models import AnalysisCorrection
from tickets.services.analysis import CORRECTED_SCORE, analysis_correct

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 3, 10, 12, 0, tzinfo=BERLIN)
WEEK = Period(date(2026, 3, 2), date(2026, 3, 8), BERLIN)


def at(day: int, hour: int = 12) -> datetime:
    return datetime(2026, 3, day, hour, 0, tzinfo=BERLIN)


@pytest.fixture
def berlin(tenant):
    tenant.time_zone = "Europe/Berlin"
    tenant.save(update_fields=["time_zone"])
    return tenant


def analysed(tenant, ticket, label, score, when, signals=None, keywords=None):
    message = MessageFactory(tenant=tenant, ticket=ticket, created_at=when, body_text=label)
    MessageAnalysisFactory(
        tenant=tenant,
        message=message,
        sentiment_label=label,
        sentiment_score=score,
        signals=signals or {},
        keywords=keywords or [],
    )
    return message


@pytest.fixture
def week(berlin):
    """Three negative messages (one frustrated) and one positive, all in the week."""
    tenant = berlin
    ticket = TicketFactory(tenant=tenant, created_at=at(2, 9))
    messages = {
        "angry": analysed(
            tenant, ticket, "negative", -0.8, at(2), {"frustration": {"score": 0.9}}, ["refund"]
        ),
        "blunt": analysed(tenant, ticket, "negative", -0.5, at(3), keywords=["invoice"]),
        "lost": analysed(tenant, ticket, "negative", -0.4, at(4), keywords=["export button"]),
        "happy": analysed(tenant, ticket, "positive", 0.7, at(5)),
    }
    return tenant, ticket, messages


def direct(tenant, filters=None) -> dict:
    return metrics_direct(tenant=tenant, period=WEEK, filters=filters or Filters(), now=NOW)


def rolled(tenant, filters=None) -> dict:
    return metrics_rollup(tenant=tenant, period=WEEK, filters=filters or Filters(), now=NOW)


def message_figures(figures: dict) -> tuple:
    return figures["sentiment"], figures["signals"], figures["keywords"]


def test_a_corrected_message_moves_the_sentiment_mix_and_its_signals(week):
    tenant, _ticket, m = week
    before = direct(tenant)
    assert (before["sentiment"]["negative"], before["sentiment"]["neutral"]) == (3, 0)
    # "blunt" was not negative after all; "lost" was confused; "angry" was not frustrated.
    analysis_correct(
        tenant=tenant, actor=None, message=m["blunt"], field="sentiment", corrected="neutral"
    )
    analysis_correct(
        tenant=tenant, actor=None, message=m["lost"], field="confusion", corrected="present"
    )
    analysis_correct(
        tenant=tenant, actor=None, message=m["angry"], field="frustration", corrected="absent"
    )
    metrics_rollup_rebuild(tenant=tenant, now=NOW)
    for figures in (direct(tenant), rolled(tenant)):
        sentiment, signals, keywords = message_figures(figures)
        assert (sentiment["negative"], sentiment["neutral"], sentiment["positive"]) == (2, 1, 1)
        assert sentiment["negative_share"] == 50.0
        assert sentiment["average"] == pytest.approx(
            (-0.8 + CORRECTED_SCORE["neutral"] - 0.4 + 0.7) / 4
        )
        assert signals == {"confusion": 1}
        assert dict(keywords) == {"refund": 1, "invoice": 1, "export button": 1}
    # The prediction itself is kept beside the correction.
    with tenant_context(tenant):
        assert m["blunt"].analyses.get().sentiment_label == "negative"


def test_the_drills_and_the_dashboard_follow_the_corrections(week):
    tenant, _ticket, m = week
    analysis_correct(
        tenant=tenant, actor=None, message=m["blunt"], field="sentiment", corrected="neutral"
    )
    analysis_correct(
        tenant=tenant, actor=None, message=m["lost"], field="confusion", corrected="present"
    )
    analysis_correct(
        tenant=tenant, actor=None, message=m["angry"], field="frustration", corrected="absent"
    )
    metrics_rollup_rebuild(tenant=tenant, now=NOW)

    def drill(metric, **kwargs):
        with tenant_context(tenant):
            _drill, rows = drill_rows(
                tenant=tenant, metric=metric, period=WEEK, filters=Filters(), **kwargs
            )
            return sorted(a.message.body_text + str(a.message_id) for a in rows)

    def ids(metric, **kwargs):
        with tenant_context(tenant):
            _drill, rows = drill_rows(
                tenant=tenant, metric=metric, period=WEEK, filters=Filters(), **kwargs
            )
            return {a.message_id for a in rows}

    assert ids("negative") == {m["angry"].pk, m["lost"].pk}
    assert ids("neutral") == {m["blunt"].pk}
    assert ids("signal", signal="confusion") == {m["lost"].pk}
    assert ids("signal", signal="frustration") == set()
    assert ids("corrected") == {m["angry"].pk, m["blunt"].pk, m["lost"].pk}
    assert len(drill("positive")) == 1
    assert corrected_message_count(tenant=tenant, period=WEEK, filters=Filters()) == 3
    # another channel: the filter applies to the count as to the drill
    assert corrected_message_count(tenant=tenant, period=WEEK, filters=Filters(channel="chat")) == (
        0 if m["angry"].ticket.channel != "chat" else 3
    )

    data = dashboard_data(tenant=tenant, period=WEEK, filters=Filters(), bucket_unit="day", now=NOW)
    assert data["figures"]["sentiment"]["corrected"] == 3
    card = next(c for c in data["cards"] if c["key"] == "sentiment")
    assert card["value"] == 50.0
    assert card["detail"] == "4 messages \u00b7 3 corrected by agents"
    signals = {s["name"]: s for s in data["signals"]}
    assert signals["confusion"]["count"] == 1
    assert [e["text"] for e in signals["confusion"]["examples"]] == ["negative"]  # "lost"
    assert signals["frustration"]["count"] == 0


def test_the_dashboard_page_and_the_drill_show_the_corrections(week, client, member_factory):
    tenant, _ticket, m = week
    manager = member_factory(tenant, Role.MANAGER, "manager@acme.test")
    client.force_login(manager)
    analysis_correct(
        tenant=tenant, actor=None, message=m["blunt"], field="sentiment", corrected="neutral"
    )
    metrics_rollup_rebuild(tenant=tenant, now=NOW)
    query = "period=custom&from=2026-03-02&to=2026-03-08"
    page = client.get(f"/t/acme/dashboards/?{query}")
    assert page.status_code == 200
    text = page.content.decode()
    assert "1 corrected by agents" in text
    drill = client.get(f"/t/acme/dashboards/drill/?metric=corrected&{query}")
    assert drill.status_code == 200
    assert drill.context["page"].paginator.count == 1
    assert "data-corrected" in drill.content.decode()
    neutral = client.get(f"/t/acme/dashboards/drill/?metric=neutral&{query}")
    assert neutral.context["page"].paginator.count == 1
    assert 'sentiment-pill--neutral">neutral' in neutral.content.decode()
    export = client.get(f"/t/acme/dashboards/export.csv?metric=corrected&table=drill&{query}")
    rows = list(csv.reader(io.StringIO(b"".join(export.streaming_content).decode())))
    assert rows[0][-1] == "corrected"
    assert [(r[2], r[-1]) for r in rows[1:]] == [("neutral", "yes")]


def test_the_incremental_rollup_equals_the_direct_computation_after_a_correction(week):
    tenant, _ticket, m = week
    metrics_rollup_rebuild(tenant=tenant, now=NOW)
    original = message_figures(rolled(tenant))
    assert original == message_figures(direct(tenant))

    # A correction saved through the service (which writes a ticket event).
    analysis_correct(
        tenant=tenant,
        actor=None,
        message=m["happy"],
        field="sentiment",
        corrected="negative",
        at=NOW,
    )
    metrics_rollup_update(tenant=tenant, now=NOW)
    after = message_figures(rolled(tenant))
    assert after == message_figures(direct(tenant))
    assert after[0]["negative"] == 4 and after[0]["positive"] == 0

    # Undone (corrected back to the prediction): the correction is removed.
    analysis_correct(
        tenant=tenant,
        actor=None,
        message=m["happy"],
        field="sentiment",
        corrected="positive",
        at=NOW,
    )
    metrics_rollup_update(tenant=tenant, now=NOW)
    assert message_figures(rolled(tenant)) == message_figures(direct(tenant)) == original

    # A correction row written without a ticket event (an import, say) is found by its id.
    with tenant_context(tenant):
        AnalysisCorrection.objects.create(
            tenant=tenant,
            message=m["lost"],
            field="urgency",
            predicted="absent",
            corrected="present",
            model_version="test-1",
        )
    metrics_rollup_update(tenant=tenant, now=NOW)
    final = message_figures(rolled(tenant))
    assert final == message_figures(direct(tenant))
    assert final[1] == {"frustration": 1, "urgency": 1}


def test_filtered_rollups_equal_direct_after_corrections(week):
    tenant, ticket, _m = week
    other = TicketFactory(tenant=tenant, created_at=at(3, 9), channel="chat")
    chat = analysed(tenant, other, "negative", -0.9, at(6), {"urgency": {"score": 0.8}})
    metrics_rollup_rebuild(tenant=tenant, now=NOW)
    analysis_correct(
        tenant=tenant, actor=None, message=chat, field="sentiment", corrected="positive", at=NOW
    )
    analysis_correct(
        tenant=tenant, actor=None, message=chat, field="urgency", corrected="absent", at=NOW
    )
    metrics_rollup_update(tenant=tenant, now=NOW)
    for channel in (None, ticket.channel, "chat"):
        filters = Filters(channel=channel)
        assert message_figures(rolled(tenant, filters)) == message_figures(direct(tenant, filters))
    chat_only = direct(tenant, Filters(channel="chat"))
    assert (chat_only["sentiment"]["positive"], chat_only["signals"]) == (1, {})
