from __future__ import annotations

import factory
from django.utils import timezone

from helpdesk.tenancy.context import tenant_context
from helpdesk.tenancy.services import counter_next
from tests.factories.tenancy import TenantOwnedFactory
from tickets import services
from tickets.models import (
    Channel,
    Customer,
    Group,
    Message,
    MessageAnalysis,
    SlaPolicy,
    Tag,
    Ticket,
)
from tickets.services.analysis import messages_analyse


class CustomerFactory(TenantOwnedFactory):
    class Meta:
        model = Customer

    name = factory.Faker("name")
    email = factory.Sequence(lambda n: f"customer{n}@example.com")
    company = factory.Faker("company")


class GroupFactory(TenantOwnedFactory):
    class Meta:
        model = Group

    name = factory.Sequence(lambda n: f"Group {n}")
    tier = 1


class SlaPolicyFactory(TenantOwnedFactory):
    class Meta:
        model = SlaPolicy

    name = factory.Sequence(lambda n: f"Policy {n}")
    priority = ""
    first_response_minutes = 60
    next_response_minutes = 120
    resolution_minutes = 960


class TagFactory(TenantOwnedFactory):
    class Meta:
        model = Tag

    name = factory.Sequence(lambda n: f"tag-{n}")


class TicketFactory(TenantOwnedFactory):
    class Meta:
        model = Ticket

    customer = factory.SubFactory(CustomerFactory, tenant=factory.SelfAttribute("..tenant"))
    number = factory.LazyAttribute(lambda o: counter_next(tenant=o.tenant, name="ticket"))
    subject = factory.Faker("sentence", nb_words=5)
    channel = Channel.EMAIL
    created_at = factory.LazyFunction(timezone.now)
    updated_at = factory.LazyFunction(timezone.now)


class MessageFactory(TenantOwnedFactory):
    class Meta:
        model = Message

    ticket = factory.SubFactory(TicketFactory, tenant=factory.SelfAttribute("..tenant"))
    author_type = "customer"
    author_customer = factory.SelfAttribute("ticket.customer")
    body_text = factory.Faker("paragraph")
    channel = Channel.EMAIL
    created_at = factory.LazyFunction(timezone.now)


# --- tickets with an analysed first message ------------------------------------------------


def analysed_ticket(tenant, body: str, *, subject: str = "S") -> tuple[Ticket, Message]:
    """A ticket created through the service, its first message run through the real analyser
    (so triage rules and keyphrases apply). Returns the ticket as stored after the analysis."""
    customer = CustomerFactory(tenant=tenant)
    ticket = services.ticket_create(tenant=tenant, customer=customer, subject=subject, body=body)
    with tenant_context(tenant):
        message = Message.objects.for_tenant(tenant).get(ticket=ticket)
    messages_analyse(tenant=tenant, message_ids=[message.pk])
    with tenant_context(tenant):
        return Ticket.objects.for_tenant(tenant).get(pk=ticket.pk), message


def ticket_with_analysis(
    tenant, customer, at, subject, *, label="", keywords=(), signals=None, channel="email"
) -> Ticket:
    """A ticket from ``customer`` at ``at`` (the subject is its first message); with a ``label``,
    that message gets a stored analysis of that sentiment (no analyser run)."""
    ticket = services.ticket_create(
        tenant=tenant, customer=customer, subject=subject, body=subject, channel=channel, at=at
    )
    with tenant_context(tenant):
        message = Message.objects.for_tenant(tenant).filter(ticket=ticket).first()
        if label:
            MessageAnalysis.objects.create(
                tenant=tenant,
                message=message,
                ticket=ticket,
                customer=customer,
                model_version="test",
                sentiment_label=label,
                sentiment_score=-0.7 if label == "negative" else 0.5,
                signals=signals or {},
                keywords=list(keywords),
                message_created_at=at,
                analysed_at=at,
            )
    return ticket
