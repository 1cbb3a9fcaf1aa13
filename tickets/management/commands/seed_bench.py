"""Build the benchmark data set: one tenant with N tickets and M messages, inserted in bulk.

    python manage.py seed_bench --tickets 100000 --messages 400000

Idempotent per slug (refuses to seed a tenant that already has tickets). Uses bulk inserts inside
the tenant's scope, so row-level security applies as in production. Prints the logins and the API
key that the load scripts in benchmarks/ use.
"""

from __future__ import annotations

import random
from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone
from tqdm import tqdm

from helpdesk.accounts.models import User
from helpdesk.tenancy.context import tenant_context
from helpdesk.tenancy.models import Membership, Tenant, TenantCounter
from helpdesk.tenancy.policy import Role
from helpdesk.tenancy.services import api_key_create, tenant_create
from tickets.demo.conversations import FIRST_NAMES, LAST_NAMES, TOPICS
from tickets.models import AuthorType, Customer, Group, Message, Status, Ticket, TicketEvent
from tickets.sanitize import text_to_html

BATCH = 5000
PASSWORD = "bench-pass-123"  # noqa: S105 (a local benchmark login)
STATUSES = [Status.NEW, Status.OPEN, Status.PENDING, Status.ON_HOLD, Status.SOLVED, Status.CLOSED]
STATUS_WEIGHTS = [5, 15, 8, 4, 28, 40]


class Command(BaseCommand):
    help = "Seed a large tenant for benchmarks (bulk inserts)."

    def add_arguments(self, parser):
        parser.add_argument("--slug", default="bench")
        parser.add_argument("--tickets", type=int, default=100_000)
        parser.add_argument("--messages", type=int, default=400_000)
        parser.add_argument("--customers", type=int, default=20_000)
        parser.add_argument("--agents", type=int, default=20)
        parser.add_argument("--seed", type=int, default=7)

    def handle(self, *args, slug, tickets, messages, customers, agents, seed, **options):
        rng = random.Random(seed)
        admin = User.objects.filter(email=f"admin@{slug}.test").first() or User.objects.create_user(
            email=f"admin@{slug}.test", password=PASSWORD, full_name="Bench Admin"
        )
        tenant = Tenant.objects.filter(slug=slug).first() or tenant_create(
            name=slug.title(), slug=slug, admin=admin
        )
        with tenant_context(tenant):
            if Ticket.objects.for_tenant(tenant).exists():
                raise CommandError(
                    f"Tenant {slug} already has tickets; drop it or choose another --slug."
                )
        staff = [admin]
        for i in range(agents):
            user = User.objects.filter(
                email=f"agent{i}@{slug}.test"
            ).first() or User.objects.create_user(
                email=f"agent{i}@{slug}.test", password=PASSWORD, full_name=f"Agent {i}"
            )
            Membership.objects.get_or_create(
                tenant=tenant, user=user, defaults={"role": Role.AGENT}
            )
            staff.append(user)
        now = timezone.now()
        with tenant_context(tenant):
            group, _ = Group.objects.get_or_create(
                tenant=tenant, name="Tier 1", defaults={"tier": 1}
            )
            people = self._customers(tenant, rng, customers, now)
            self._tickets(tenant, rng, tickets, messages, people, staff, group, now)
        _key, raw = api_key_create(
            tenant=tenant, actor=admin, name="bench", scopes=["read", "write"]
        )
        self.stdout.write(
            self.style.SUCCESS(f"Seeded {slug}: {tickets} tickets, {messages} messages.")
        )
        self.stdout.write(f"  login: agent0@{slug}.test / {PASSWORD}")
        self.stdout.write(f"  api key: {raw}")

    def _customers(self, tenant, rng, count, now) -> list[int]:
        rows = []
        for i in range(count):
            first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
            rows.append(
                Customer(
                    tenant=tenant,
                    name=f"{first} {last}",
                    email=f"c{i}@bench.example",
                    company=rng.choice(["", "Northwind", "Contoso", "Initech"]),
                    last_contact_at=now - timedelta(days=rng.uniform(0, 180)),
                )
            )
        ids = []
        for start in tqdm(range(0, count, BATCH), desc="customers", unit="batch"):
            with transaction.atomic():
                ids += [c.pk for c in Customer.objects.bulk_create(rows[start : start + BATCH])]
        return ids

    def _tickets(self, tenant, rng, n_tickets, n_messages, people, staff, group, now) -> None:
        topics = list(TOPICS.values())
        per_ticket = max(1, n_messages // n_tickets)
        extra = n_messages - per_ticket * n_tickets
        number = 0
        for start in tqdm(range(0, n_tickets, BATCH), desc="tickets+messages", unit="batch"):
            size = min(BATCH, n_tickets - start)
            batch = []
            for _ in range(size):
                number += 1
                created = now - timedelta(days=365 * rng.random() ** 2, minutes=rng.randint(0, 600))
                status = rng.choices(STATUSES, STATUS_WEIGHTS)[0]
                topic = rng.choice(topics)
                batch.append(
                    Ticket(
                        tenant=tenant,
                        number=number,
                        subject=rng.choice(topic.subjects),
                        customer_id=rng.choice(people),
                        channel=rng.choice(["email", "web", "chat", "api"]),
                        status=status,
                        priority=rng.choices(["low", "normal", "high", "urgent"], [15, 60, 18, 7])[
                            0
                        ],
                        assignee=None if status == Status.NEW else rng.choice(staff),
                        group=group,
                        created_at=created,
                        updated_at=created + timedelta(hours=rng.uniform(0, 48)),
                        first_response_at=None
                        if status == Status.NEW
                        else created + timedelta(hours=rng.uniform(0.1, 8)),
                        solved_at=created + timedelta(days=1)
                        if status in (Status.SOLVED, Status.CLOSED)
                        else None,
                        message_count=per_ticket,
                    )
                )
            with transaction.atomic():
                saved = Ticket.objects.bulk_create(batch)
                msgs, events = [], []
                for ticket in saved:
                    count = per_ticket + (
                        1 if extra > 0 and rng.random() < extra / n_tickets else 0
                    )
                    topic = rng.choice(topics)
                    for k in range(count):
                        from_customer = k % 2 == 0
                        body = rng.choice(
                            topic.openers
                            if k == 0
                            else (topic.follow_ups if from_customer else topic.replies)
                        )
                        body = body.replace("{first}", "there")
                        at = ticket.created_at + timedelta(hours=k * 3)
                        msgs.append(
                            Message(
                                tenant=tenant,
                                ticket_id=ticket.pk,
                                author_type=AuthorType.CUSTOMER
                                if from_customer
                                else AuthorType.STAFF,
                                author_customer_id=ticket.customer_id if from_customer else None,
                                author_user=None if from_customer else ticket.assignee or staff[0],
                                body_text=body,
                                body_html=text_to_html(body),
                                channel=ticket.channel,
                                created_at=at,
                            )
                        )
                    events.append(
                        TicketEvent(
                            tenant=tenant,
                            ticket_id=ticket.pk,
                            kind="ticket.created",
                            to_value="new",
                            is_public=True,
                            created_at=ticket.created_at,
                        )
                    )
                Message.objects.bulk_create(msgs, batch_size=BATCH)
                TicketEvent.objects.bulk_create(events, batch_size=BATCH)
        TenantCounter.objects.update_or_create(
            tenant=tenant, name="ticket", defaults={"value": number}
        )
