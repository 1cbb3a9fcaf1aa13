"""The analysis services: storing results, ticket mood, triage rules, corrections, sweeper,
idempotency and tenant isolation. Real database, real analyser (loaded once per process)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from helpdesk.tenancy.context import TenantContextError, tenant_context
from helpdesk.tenancy.policy import Role
from tests.factories.tickets import CustomerFactory, MessageFactory
from tickets import services
from tickets.models import (
    AnalysisCorrection,
    AnalysisSettings,
    Message,
    MessageAnalysis,
    Notification,
    Ticket,
    TicketEvent,
    TriageRule,
)
from tickets.selectors_analysis import customer_sentiment_trend
from tickets.services.analysis import (
    analysis_correct,
    messages_analyse,
    messages_analyse_pending,
    messages_analysis_failed,
    triage_rules_install_defaults,
)


@pytest.fixture
def customer(tenant):
    return CustomerFactory(tenant=tenant)


def new_ticket(tenant, customer, body="Hello", **kw):
    return services.ticket_create(tenant=tenant, customer=customer, subject="Help", body=body, **kw)


def customer_message(tenant, ticket, body, at=None):
    return services.message_create(
        tenant=tenant, ticket=ticket, body=body, author_customer=ticket.customer, at=at
    )


def analyse_all(tenant):
    with tenant_context(tenant):
        ids = list(
            Message.objects.for_tenant(tenant)
            .filter(analysis_state="pending")
            .values_list("pk", flat=True)
        )
    return messages_analyse(tenant=tenant, message_ids=ids)


def fresh(tenant, obj):
    with tenant_context(tenant):
        return type(obj).objects.for_tenant(tenant).get(pk=obj.pk)


def events(tenant, ticket, kind):
    with tenant_context(tenant):
        return list(TicketEvent.objects.for_tenant(tenant).filter(ticket=ticket, kind=kind))


def test_customer_messages_are_stored_pending_and_staff_messages_skipped(tenant, customer, agent):
    ticket = new_ticket(tenant, customer, body="The app keeps crashing.")
    reply = services.message_create(tenant=tenant, ticket=ticket, body="On it!", author_user=agent)
    with tenant_context(tenant):
        states = dict(
            Message.objects.for_tenant(tenant).values_list("author_type", "analysis_state")
        )
    assert states == {"customer": "pending", "staff": "skipped"}
    assert fresh(tenant, reply).analysis_state == "skipped"


def test_message_is_analysed_after_commit_and_the_ticket_gets_its_mood(
    tenant, customer, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        ticket = new_ticket(tenant, customer, body="This is ridiculous, the app keeps crashing!!")
    with tenant_context(tenant):
        message = Message.objects.for_tenant(tenant).get(ticket=ticket)
        analysis = MessageAnalysis.objects.for_tenant(tenant).get(message=message)
    assert message.analysis_state == "done"
    assert analysis.sentiment_label == "negative" and analysis.sentiment_score < 0
    assert analysis.signals["frustration"]["score"] >= 0.5
    assert analysis.customer_id == customer.pk and analysis.ticket_id == ticket.pk
    ticket = fresh(tenant, ticket)
    assert (ticket.mood_label, ticket.mood_signals) == ("negative", ["frustration"])
    assert ticket.mood_worst_score == ticket.mood_score and ticket.mood_trend == 0.0
    (event,) = events(tenant, ticket, "ticket.mood_changed")
    assert (event.from_value, event.to_value, event.is_public) == ("", "negative", False)


def test_mood_follows_the_conversation_latest_worst_and_trend(tenant, customer):
    ticket = new_ticket(tenant, customer, body="Where do I find my invoices? I'm confused.")
    customer_message(tenant, ticket, "This is unacceptable, I'm furious. Cancel my subscription!")
    customer_message(tenant, ticket, "Thank you so much, it all works now!")
    analyse_all(tenant)
    ticket = fresh(tenant, ticket)
    assert ticket.mood_label == "positive" and ticket.mood_score > 0
    assert ticket.mood_worst_score < 0
    with tenant_context(tenant):
        first = MessageAnalysis.objects.for_tenant(tenant).order_by("message_created_at").first()
    assert ticket.mood_trend == pytest.approx(ticket.mood_score - first.sentiment_score, abs=1e-3)
    # latest message's signals, and churn risk stays once shown
    assert ticket.mood_signals == ["gratitude", "churn_risk"]


def test_rerunning_the_analysis_changes_nothing(tenant, customer):
    ticket = new_ticket(tenant, customer, body="Urgent: the site is down and this is ridiculous")
    triage_rules_install_defaults(tenant=tenant)
    analyse_all(tenant)
    with tenant_context(tenant):
        before_rows = list(MessageAnalysis.objects.for_tenant(tenant).values())
        before_events = TicketEvent.objects.for_tenant(tenant).count()
        ids = list(Message.objects.for_tenant(tenant).values_list("pk", flat=True))
    again = messages_analyse(tenant=tenant, message_ids=ids, force=True)
    assert (again.analysed, again.changed) == (1, 0)
    assert messages_analyse(tenant=tenant, message_ids=ids).analysed == 0  # no longer pending
    with tenant_context(tenant):
        assert list(MessageAnalysis.objects.for_tenant(tenant).values()) == before_rows
        assert TicketEvent.objects.for_tenant(tenant).count() == before_events
    assert fresh(tenant, ticket).priority == "high"


def test_triage_rules_fire_once_as_timeline_events(tenant, customer, member_factory):
    manager = member_factory(tenant, Role.MANAGER, "boss@acme.test")
    assert triage_rules_install_defaults(tenant=tenant) == 3
    assert triage_rules_install_defaults(tenant=tenant) == 0
    ticket = new_ticket(
        tenant,
        customer,
        body="URGENT!!! Nothing works and I'm confused. Fix it today or I cancel my subscription.",
    )
    analyse_all(tenant)
    ticket = fresh(tenant, ticket)
    assert ticket.priority == "high"
    with tenant_context(tenant):
        tags = set(ticket.tags.values_list("name", flat=True))
        notes = list(Notification.objects.for_tenant(tenant).filter(kind="triage"))
    assert tags == {"churn-risk", "needs-clarity"}
    assert [n.user_id for n in notes] == [manager.pk]
    assert "ACME-" in notes[0].title
    assert len(events(tenant, ticket, "triage.applied")) == 3
    assert len(events(tenant, ticket, "ticket.priority_changed")) == 1
    # re-analysing (a new model, say) fires nothing again
    with tenant_context(tenant):
        ids = list(Message.objects.for_tenant(tenant).values_list("pk", flat=True))
        MessageAnalysis.objects.for_tenant(tenant).update(model_version="old")
    messages_analyse(tenant=tenant, message_ids=ids, force=True)
    assert len(events(tenant, ticket, "triage.applied")) == 3
    with tenant_context(tenant):
        assert Notification.objects.for_tenant(tenant).filter(kind="triage").count() == 1


def test_a_rule_never_lowers_priority_and_inactive_rules_do_nothing(tenant, customer):
    with tenant_context(tenant):
        TriageRule.objects.create(
            tenant=tenant,
            name="negative to low",
            conditions={"sentiment": "negative"},
            actions={"set_priority": "low"},
        )
        TriageRule.objects.create(
            tenant=tenant,
            name="off",
            conditions={"sentiment": "negative"},
            actions={"add_tags": ["never"]},
            is_active=False,
        )
    ticket = new_ticket(tenant, customer, body="The export is broken again.", priority="urgent")
    analyse_all(tenant)
    ticket = fresh(tenant, ticket)
    assert ticket.priority == "urgent"
    with tenant_context(tenant):
        assert not ticket.tags.exists()


def test_rules_and_results_stay_in_their_tenant(tenant, other_tenant, customer):
    triage_rules_install_defaults(tenant=other_tenant)
    ticket = new_ticket(tenant, customer, body="Urgent: the site is down, this is terrible!")
    analyse_all(tenant)
    assert fresh(tenant, ticket).priority == "normal"  # the other tenant's rules never apply
    with tenant_context(other_tenant):
        assert not MessageAnalysis.objects.for_tenant(other_tenant).exists()
        foreign = MessageFactory(
            tenant=other_tenant, body_text="cancel my subscription", analysis_state="pending"
        )
    # a batch of the wrong tenant's ids finds nothing to analyse
    assert messages_analyse(tenant=tenant, message_ids=[foreign.pk]).analysed == 0
    assert fresh(other_tenant, foreign).analysis_state == "pending"
    with pytest.raises((ValidationError, TenantContextError)):
        analysis_correct(
            tenant=tenant, actor=None, message=foreign, field="sentiment", corrected="positive"
        )


def test_tenant_stop_and_product_words_shape_the_keywords(tenant, customer):
    with tenant_context(tenant):
        AnalysisSettings.objects.create(tenant=tenant, product_words=["Acme Cloud"])
    new_ticket(tenant, customer, body="The Acme Cloud checkout page shows a hidden fee.")
    analyse_all(tenant)
    with tenant_context(tenant):
        keywords = MessageAnalysis.objects.for_tenant(tenant).get().keywords
    assert "hidden fee" in keywords and "checkout page" in keywords
    assert not any("acme" in k or "cloud" in k for k in keywords)


def test_non_english_messages_are_stored_and_marked(tenant, customer):
    ticket = new_ticket(tenant, customer, body="Bonjour, je n'arrive pas à me connecter.")
    analyse_all(tenant)
    with tenant_context(tenant):
        analysis = MessageAnalysis.objects.for_tenant(tenant).get()
    assert (analysis.language, analysis.is_supported_language) == ("fr", False)
    assert analysis.sentiment_label == "" and analysis.sentiment_score is None
    assert fresh(tenant, ticket).mood_label == ""


def test_corrections_sit_beside_the_prediction_and_one_click_undoes(tenant, customer, agent):
    ticket = new_ticket(tenant, customer, body="The app keeps crashing, this is ridiculous.")
    analyse_all(tenant)
    with tenant_context(tenant):
        message = Message.objects.for_tenant(tenant).get()
    correction = analysis_correct(
        tenant=tenant, actor=agent, message=message, field="sentiment", corrected="neutral"
    )
    assert (correction.predicted, correction.corrected) == ("negative", "neutral")
    assert correction.model_version and correction.corrected_by == agent
    with tenant_context(tenant):
        assert MessageAnalysis.objects.for_tenant(tenant).get().sentiment_label == "negative"
    ticket = fresh(tenant, ticket)
    assert (ticket.mood_label, ticket.mood_score) == ("neutral", 0.0)
    analysis_correct(
        tenant=tenant, actor=agent, message=message, field="frustration", corrected="absent"
    )
    assert "frustration" not in fresh(tenant, ticket).mood_signals
    # correcting back to the prediction removes the correction
    assert (
        analysis_correct(
            tenant=tenant, actor=agent, message=message, field="sentiment", corrected="negative"
        )
        is None
    )
    with tenant_context(tenant):
        assert list(
            AnalysisCorrection.objects.for_tenant(tenant).values_list("field", flat=True)
        ) == ["frustration"]
    assert fresh(tenant, ticket).mood_label == "negative"
    assert len(events(tenant, ticket, "analysis.corrected")) == 3


@pytest.mark.parametrize(
    ("field", "value"),
    [("sentiment", "furious"), ("mood", "negative"), ("urgency", "yes"), ("", "")],
)
def test_bad_corrections_are_refused_with_a_message(tenant, customer, agent, field, value):
    new_ticket(tenant, customer, body="It does not work.")
    analyse_all(tenant)
    with tenant_context(tenant):
        message = Message.objects.for_tenant(tenant).get()
    with pytest.raises(ValidationError):
        analysis_correct(tenant=tenant, actor=agent, message=message, field=field, corrected=value)


def test_a_message_without_analysis_cannot_be_corrected(tenant, customer, agent):
    new_ticket(tenant, customer, body="It does not work.")
    with tenant_context(tenant):
        message = Message.objects.for_tenant(tenant).get()
    with pytest.raises(ValidationError, match="no analysis"):
        analysis_correct(
            tenant=tenant, actor=agent, message=message, field="sentiment", corrected="neutral"
        )


def test_the_sweeper_picks_up_messages_left_pending(tenant, customer):
    long_ago = timezone.now() - timedelta(minutes=30)
    old = new_ticket(tenant, customer, body="Still waiting for my refund!", at=long_ago)
    new = new_ticket(tenant, customer, body="Thanks, all good.")
    done = messages_analyse_pending(tenant=tenant, older_than=timedelta(minutes=5))
    assert done == 1
    with tenant_context(tenant):
        states = {m.ticket_id: m.analysis_state for m in Message.objects.for_tenant(tenant)}
    assert states == {old.pk: "done", new.pk: "pending"}


def test_failed_attempts_are_counted_then_the_message_is_failed(tenant, customer):
    new_ticket(tenant, customer, body="Hello")
    with tenant_context(tenant):
        message = Message.objects.for_tenant(tenant).get()
    for _ in range(4):
        messages_analysis_failed(tenant=tenant, message_ids=[message.pk], error="boom")
    assert fresh(tenant, message).analysis_state == "pending"
    messages_analysis_failed(tenant=tenant, message_ids=[message.pk], error="boom")
    message = fresh(tenant, message)
    assert (message.analysis_state, message.analysis_attempts) == ("failed", 5)
    assert messages_analyse_pending(tenant=tenant) == 0


def test_the_customer_sentiment_trend(tenant, customer):
    first = new_ticket(tenant, customer, body="This is terrible, nothing works!")
    customer_message(tenant, first, "Thank you, everything works perfectly now!")
    analyse_all(tenant)
    with tenant_context(tenant):
        trend = customer_sentiment_trend(tenant=tenant, customer=customer)
    assert trend["first"] < 0 < trend["latest"] and trend["trend"] > 0
    assert sum(p["messages"] for p in trend["points"]) == 2
    assert trend["worst"] == trend["first"]


def test_the_customer_sentiment_trend_follows_corrections(tenant, customer, agent):
    ticket = new_ticket(tenant, customer, body="This is terrible, nothing works!")
    customer_message(tenant, ticket, "Thank you, everything works perfectly now!")
    analyse_all(tenant)
    with tenant_context(tenant):
        first = Message.objects.for_tenant(tenant).order_by("pk").first()
    analysis_correct(
        tenant=tenant, actor=agent, message=first, field="sentiment", corrected="neutral"
    )
    with tenant_context(tenant):
        trend = customer_sentiment_trend(tenant=tenant, customer=customer)
    assert trend["first"] == 0.0 and trend["worst"] == 0.0  # the corrected label's score
    assert trend["latest"] > 0 and trend["trend"] == round(trend["latest"], 4)
    assert [p["messages"] for p in trend["points"]] == [2]
    assert trend["points"][0]["score"] == round(trend["latest"] / 2, 3)


def test_deferred_messages_are_not_enqueued(tenant, customer, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True), services.analysis_deferred():
        new_ticket(tenant, customer, body="The export fails.")
    with tenant_context(tenant):
        assert Message.objects.for_tenant(tenant).get().analysis_state == "pending"
        assert not MessageAnalysis.objects.for_tenant(tenant).exists()


def test_mood_refresh_keeps_the_ticket_updated_at(tenant, customer):
    ticket = new_ticket(tenant, customer, body="Broken again!")
    before = fresh(tenant, ticket).updated_at
    analyse_all(tenant)
    assert fresh(tenant, ticket).updated_at == before
    with tenant_context(tenant):
        assert Ticket.objects.for_tenant(tenant).get().mood_label == "negative"
