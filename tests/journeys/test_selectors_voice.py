"""Voice of the customer per stage: feedback joined to the stage the customer was in when they
wrote; and the insights that compare two periods."""

from __future__ import annotations

from datetime import timedelta

from empathy_metrics.models import SurveyResponse
from helpdesk.tenancy.context import tenant_context
from journeys import selectors
from tests.factories.tickets import CustomerFactory, ticket_with_analysis


def voice_of(tenant, journey, days=30):
    with tenant_context(tenant):
        return selectors.journey_voice(
            tenant=tenant, journey=journey, period=selectors.period_last_days(days=days)
        )


def test_feedback_is_joined_to_the_stage_the_customer_was_in_when_they_wrote(
    tenant, purchase, ingest, now
):
    """Survey answers come in through the source empathy_metrics registers at start-up."""
    ada = CustomerFactory(tenant=tenant, external_id="ada")
    day = timedelta(days=1)
    ingest(
        [
            ("ada", "Cart viewed", now - 10 * day),
            ("ada", "Checkout started", now - 9 * day),
            ("ada", "Payment started", now - 8 * day),
            ("ada", "Order confirmed", now - 2 * day),
        ]
    )
    at_cart = ticket_with_analysis(
        tenant, ada, now - 9.5 * day, "Coupon?", label="neutral", keywords=["coupon"]
    )
    at_payment = ticket_with_analysis(
        tenant,
        ada,
        now - 4.9 * day,
        "Why a fee?",
        label="negative",
        keywords=["hidden fee", "unclear"],
        signals={"frustration": {"score": 0.9}},
        channel="chat",
    )
    done = ticket_with_analysis(
        tenant, ada, now - 1 * day, "Thanks!", label="positive", keywords=["thanks"]
    )
    # Survey answers: the CSAT of the payment ticket, given after the order went through.
    with tenant_context(tenant):
        SurveyResponse.objects.create(
            tenant=tenant,
            kind="csat",
            customer=ada,
            ticket=at_payment,
            score=2,
            comment="The fee was not explained",
            extra_answers={
                "_analysis": {
                    "sentiment_label": "negative",
                    "sentiment_score": -0.6,
                    "signals": {"frustration": {"score": 0.8}, "urgency": {"score": 0.1}},
                    "keywords": ["Fee", "not explained"],
                }
            },
            created_at=now - 1 * day,
        )
        SurveyResponse.objects.create(
            tenant=tenant, kind="nps", customer=ada, score=9, created_at=now - 8.5 * day
        )

    voice = voice_of(tenant, purchase)
    cart, checkout, payment, confirmation = voice.stages
    assert (cart.tickets, cart.sentiment["neutral"], cart.keywords) == (1, 1, [("coupon", 1)])
    assert (checkout.tickets, checkout.messages, checkout.surveys) == (0, 0, 1)  # the NPS answer
    assert checkout.nps_score == 100
    assert (payment.tickets, payment.chats, payment.messages) == (1, 1, 1)
    assert payment.sentiment == {"negative": 1, "neutral": 0, "positive": 0}
    assert payment.signals == [("frustration", 1)]
    assert payment.keywords == [("hidden fee", 1), ("unclear", 1)]
    assert payment.states == {"stuck": 1}  # 3.1 days at Payment (stuck after 72 h) then
    assert payment.examples[0].number == at_payment.number
    assert payment.examples[0].waited_seconds == round(3.1 * 86400)
    # The CSAT belongs to the stage where the rated ticket was raised...
    assert (payment.csat_count, payment.csat_average) == (1, 2.0)
    # ...while the answer itself was given after completion.
    assert confirmation.surveys == 1 and confirmation.comments[0].comment.startswith("The fee")
    assert (confirmation.tickets, confirmation.sentiment["positive"]) == (1, 1)
    # The comment's analysis counts where the answer was given, like a message written there.
    assert confirmation.sentiment == {"negative": 1, "neutral": 0, "positive": 1}
    assert (confirmation.messages, confirmation.survey_scored, confirmation.scored) == (1, 1, 2)
    assert confirmation.signals == [("frustration", 1)]
    assert dict(confirmation.keywords) == {"thanks": 1, "fee": 1, "not explained": 1}
    assert confirmation.comments[0].sentiment_label == "negative"
    # The NPS answer had no comment: nothing to score.
    assert (checkout.survey_scored, checkout.scored) == (0, 0)
    assert confirmation.examples[0].number == done.number
    assert cart.examples[0].number == at_cart.number


def test_survey_answers_of_another_tenant_stay_out(tenant, other_tenant, purchase, ingest, now):
    ada = CustomerFactory(tenant=tenant, external_id="ada")
    ingest([("ada", "Cart viewed", now - timedelta(days=3))])
    stranger = CustomerFactory(tenant=other_tenant, external_id="ada")
    with tenant_context(other_tenant):
        SurveyResponse.objects.create(
            tenant=other_tenant,
            kind="nps",
            customer=stranger,
            score=0,
            comment="SENTINEL of the other tenant",
            created_at=now - timedelta(days=1),
        )
    with tenant_context(tenant):
        SurveyResponse.objects.create(
            tenant=tenant,
            kind="feedback",
            customer=ada,
            comment="Where do I enter the coupon?",
            created_at=now - timedelta(days=1),
        )
    voice = voice_of(tenant, purchase)
    cart = voice.stage(0)
    assert (cart.surveys, cart.nps_count, voice.outside) == (1, 0, 0)
    assert [answer.comment for answer in cart.comments] == ["Where do I enter the coupon?"]


def test_customers_outside_the_journey_are_counted_apart(tenant, purchase, ingest, now):
    stranger = CustomerFactory(tenant=tenant)
    early = CustomerFactory(tenant=tenant, external_id="early")
    ingest([("early", "Cart viewed", now - timedelta(days=2))])
    ticket_with_analysis(tenant, stranger, now - timedelta(days=3), "Hello", label="neutral")
    ticket_with_analysis(
        tenant, early, now - timedelta(days=3), "Before entering", label="negative"
    )
    voice = voice_of(tenant, purchase)
    assert sum(s.tickets for s in voice.stages) == 0
    assert voice.outside == 4  # two tickets and two messages


def test_a_later_run_takes_over_from_its_entry(tenant, purchase, ingest, now):
    """A repeat buyer writes during their second purchase: the second run's stage counts."""
    bob = CustomerFactory(tenant=tenant, external_id="bob")
    day = timedelta(days=1)
    ingest(
        [
            ("bob", "Cart viewed", now - 20 * day),
            ("bob", "Order confirmed", now - 19 * day),
            ("bob", "Cart viewed", now - 5 * day),
            ("bob", "Checkout started", now - 4 * day),
        ]
    )
    ticket_with_analysis(tenant, bob, now - 3 * day, "Shipping to Norway?", label="neutral")
    voice = voice_of(tenant, purchase)
    assert voice.stage(1).tickets == 1 and voice.stage(3).tickets == 0


def _customers(tenant, ingest, now, prefix, count, start_days, last_event_for):
    rows = []
    for i in range(count):
        name = f"{prefix}{i}"
        base = now - timedelta(days=start_days) + timedelta(hours=i)
        rows += [(name, "Cart viewed", base), (name, "Checkout started", base + timedelta(hours=1))]
        rows += [(name, "Payment started", base + timedelta(hours=2))]
        if last_event_for(i):
            rows.append((name, "Order confirmed", base + timedelta(hours=3)))
    ingest(rows)


def test_insights_name_the_stage_whose_drop_off_and_negative_sentiment_rose(
    tenant, purchase, ingest, now
):
    # Previous 30 days: 30 reach Payment, 27 confirm (10% drop-off).
    _customers(tenant, ingest, now, "old", 30, 50, lambda i: i >= 3)
    # Last 30 days: 30 reach Payment, 15 confirm (50% drop-off).
    _customers(tenant, ingest, now, "new", 30, 20, lambda i: i % 2 == 0)
    customers = {}
    with tenant_context(tenant):
        from tickets.models import Customer

        customers = {c.external_id: c for c in Customer.objects.for_tenant(tenant)}
    for i in range(12):  # messages written at Payment, mostly negative now, calm before
        old_at = now - timedelta(days=50) + timedelta(hours=i, minutes=150)
        new_at = now - timedelta(days=20) + timedelta(hours=i, minutes=150)
        ticket_with_analysis(
            tenant, customers[f"old{i}"], old_at, "Q", label="neutral", keywords=["invoice"]
        )
        ticket_with_analysis(
            tenant,
            customers[f"new{i}"],
            new_at,
            "Fee?",
            label="negative" if i < 9 else "neutral",
            keywords=["hidden fee"] + (["unclear"] if i % 2 else []),
        )
    with tenant_context(tenant):
        period = selectors.period_last_days(days=30)
        funnel = selectors.journey_funnel(tenant=tenant, journey=purchase, period=period)
        previous = selectors.journey_funnel(
            tenant=tenant, journey=purchase, period=period.previous(), with_now=False
        )
        voice = selectors.journey_voice(tenant=tenant, journey=purchase, period=period)
        previous_voice = selectors.journey_voice(
            tenant=tenant, journey=purchase, period=period.previous()
        )
    insights = selectors.journey_insights(
        funnel=funnel, previous_funnel=previous, voice=voice, previous_voice=previous_voice
    )
    assert [(i.kind, i.stage_name) for i in insights] == [
        ("sentiment", "Payment"),
        ("drop_off", "Payment"),
    ]
    sentiment, drop = insights
    assert drop.headline == "Drop-off at Payment rose from 10% to 50%"
    assert drop.detail == (
        "15 of the 30 customers who reached Payment did not go on to Confirmation (50%), "
        "against 3 of 30 (10%) in the previous 30 days: +40 points. "
        "What they say there: “hidden fee” (12), “unclear” (6)."
    )
    assert sentiment.headline == "Negative sentiment at Payment rose from 0% to 75%"
    assert "9 of the 12 messages" in sentiment.detail
    assert len(drop.examples) == 3


def test_no_insight_from_small_samples(tenant, purchase, ingest, now):
    _customers(tenant, ingest, now, "old", 5, 50, lambda i: True)
    _customers(tenant, ingest, now, "new", 5, 20, lambda i: False)
    with tenant_context(tenant):
        period = selectors.period_last_days(days=30)
        funnel = selectors.journey_funnel(tenant=tenant, journey=purchase, period=period)
        previous = selectors.journey_funnel(
            tenant=tenant, journey=purchase, period=period.previous()
        )
    assert selectors.journey_insights(funnel=funnel, previous_funnel=previous) == []


def _survey_comment(tenant, customer, at, label, keywords):
    with tenant_context(tenant):
        SurveyResponse.objects.create(
            tenant=tenant,
            kind="feedback",
            customer=customer,
            comment="About the payment",
            extra_answers={"_analysis": {"sentiment_label": label, "keywords": keywords}},
            created_at=at,
        )


def test_a_rise_of_negative_survey_comments_alone_is_an_insight(tenant, purchase, ingest, now):
    """No ticket or chat: only feedback answers given at Payment, calm before, angry now."""
    _customers(tenant, ingest, now, "old", 12, 50, lambda i: False)
    _customers(tenant, ingest, now, "new", 12, 20, lambda i: False)
    with tenant_context(tenant):
        from tickets.models import Customer

        customers = {c.external_id: c for c in Customer.objects.for_tenant(tenant)}
    unanalysed = None
    for i in range(12):
        offset = timedelta(hours=i, minutes=150)  # at Payment, half an hour after reaching it
        _survey_comment(
            tenant, customers[f"old{i}"], now - timedelta(days=50) + offset, "neutral", []
        )
        _survey_comment(
            tenant,
            customers[f"new{i}"],
            now - timedelta(days=20) + offset,
            "negative" if i < 8 else "neutral",
            ["hidden fee"],
        )
    with tenant_context(tenant):  # an answer not analysed yet counts as an answer only
        unanalysed = SurveyResponse.objects.create(
            tenant=tenant,
            kind="feedback",
            customer=customers["new0"],
            comment="Still waiting",
            created_at=now - timedelta(days=20) + timedelta(minutes=160),
        )
    with tenant_context(tenant):
        period = selectors.period_last_days(days=30)
        funnel = selectors.journey_funnel(tenant=tenant, journey=purchase, period=period)
        previous = selectors.journey_funnel(
            tenant=tenant, journey=purchase, period=period.previous(), with_now=False
        )
        voice = selectors.journey_voice(tenant=tenant, journey=purchase, period=period)
        previous_voice = selectors.journey_voice(
            tenant=tenant, journey=purchase, period=period.previous()
        )
    payment = voice.stage(2)
    assert unanalysed.pk and (payment.surveys, payment.survey_scored) == (13, 12)
    assert (payment.messages, payment.sentiment["negative"], payment.scored) == (0, 8, 12)
    assert payment.keywords == [("hidden fee", 12)]
    insights = selectors.journey_insights(
        funnel=funnel, previous_funnel=previous, voice=voice, previous_voice=previous_voice
    )
    assert [(i.kind, i.stage_name) for i in insights] == [("sentiment", "Payment")]
    (sentiment,) = insights
    assert sentiment.headline == "Negative sentiment at Payment rose from 0% to 67%"
    assert sentiment.detail.startswith(
        "8 of the 12 survey comments from customers at Payment were negative (67%), "
        "against 0 of 12 (0%) in the previous 30 days: +67 points."
    )
    assert "“hidden fee” (12)" in sentiment.detail


def test_signals_and_keywords_count_in_every_form_the_analyser_stores(
    tenant, purchase, ingest, now
):
    """The panel reads the analyses as stored: signals with scores (counted from 0.5), bare
    scores, or a list of names; keywords trimmed and lower-cased, blanks and non-words left out.
    Equal counts are listed alphabetically. PostgreSQL counts these itself (voice_postgresql),
    SQLite in Python: the same answers."""
    bea = CustomerFactory(tenant=tenant, external_id="bea")
    ingest([("bea", "Cart viewed", now - timedelta(days=5))])
    analysed = [
        ({"urgency": {"score": 0.5}, "frustration": {"score": 0.49}}, ["  Refund ", "refund"]),
        ({"confusion": 0.7, "gratitude": {"level": 1}}, ["", "Zip code", 7]),
        (["churn_risk", "urgency"], ["zip code", "REFUND"]),
    ]
    for i, (signals, keywords) in enumerate(analysed):
        ticket_with_analysis(
            tenant,
            bea,
            now - timedelta(days=4 - i),
            f"Message {i}",
            label="negative",
            signals=signals,
            keywords=keywords,
        )
    cart = voice_of(tenant, purchase).stage(0)
    assert (cart.tickets, cart.messages, cart.sentiment["negative"]) == (3, 3, 3)
    assert cart.signals == [("urgency", 2), ("churn_risk", 1), ("confusion", 1)]
    assert cart.keywords == [("refund", 3), ("zip code", 2)]
