"""Factories of the empathy metrics tests (survey answers, message analyses).

They live here rather than in tests/factories/ while the survey app is being built by several
people at once; move them there when it settles.
"""

from __future__ import annotations

import factory
from django.utils import timezone

from empathy_metrics.models import SurveyKind, SurveyRequest, SurveyResponse
from tests.factories.tenancy import TenantOwnedFactory
from tests.factories.tickets import CustomerFactory, MessageFactory
from tickets.models import MessageAnalysis


class SurveyRequestFactory(TenantOwnedFactory):
    class Meta:
        model = SurveyRequest

    kind = SurveyKind.NPS
    customer = factory.SubFactory(CustomerFactory, tenant=factory.SelfAttribute("..tenant"))
    sent_at = factory.LazyFunction(timezone.now)


class SurveyResponseFactory(TenantOwnedFactory):
    class Meta:
        model = SurveyResponse

    kind = SurveyKind.CSAT
    score = 5
    created_at = factory.LazyFunction(timezone.now)
    customer = factory.LazyAttribute(lambda o: o.ticket.customer if o.ticket else None)
    ticket = None
    agent = None


class MessageAnalysisFactory(TenantOwnedFactory):
    class Meta:
        model = MessageAnalysis

    message = factory.SubFactory(MessageFactory, tenant=factory.SelfAttribute("..tenant"))
    ticket = factory.SelfAttribute("message.ticket")
    customer = factory.SelfAttribute("message.ticket.customer")
    model_version = "test-1"
    language = "en"
    sentiment_label = "neutral"
    sentiment_score = 0.0
    signals = factory.LazyFunction(dict)
    keywords = factory.LazyFunction(list)
    message_created_at = factory.SelfAttribute("message.created_at")
    analysed_at = factory.LazyFunction(timezone.now)
