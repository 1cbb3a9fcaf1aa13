from __future__ import annotations

import factory
from django.utils import timezone

from helpdesk.tenancy.services import counter_next
from tests.factories.tenancy import TenantOwnedFactory
from tickets.models import Channel, Customer, Group, Message, Tag, Ticket


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
