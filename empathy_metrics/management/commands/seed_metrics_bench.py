"""Build the metrics benchmark data set in one tenant, with bulk inserts.

    python manage.py seed_metrics_bench --tickets 1000000 --csat 300000 --nps 100000

A year of support: tickets on working days, mostly in opening hours, in every state (old ones
closed, a realistic backlog of recent ones), first responses and resolutions, reopens, repeats,
escalations to tier 2, an SLA policy with breaches, tags; CSAT answers on solved tickets, NPS
answers, and analysed customer messages (sentiment, signals, keywords). Refuses to seed a tenant
that already has tickets. Prints the manager login the benchmark scripts use. Then run
``manage.py metrics_rebuild``.

Rows are written with COPY (ids reserved from the tables' sequences first) when the database role
may: PostgreSQL refuses ``COPY FROM`` into a table with row-level security for a role that is
subject to it, so as the application role the command falls back to multi-row INSERTs inside the
tenant's scope (row-level security checks every row), several times slower. Seed as the owner
(the default ``DATABASE_URL`` role) for speed.
"""

from __future__ import annotations

import bisect
import math
import random
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.utils import timezone
from tqdm import tqdm

from empathy_metrics.models import SurveyKind, SurveyResponse
from helpdesk.accounts.models import User
from helpdesk.tenancy.context import tenant_context
from helpdesk.tenancy.models import Membership, Tenant, TenantCounter
from helpdesk.tenancy.policy import Role
from helpdesk.tenancy.services import tenant_create
from tickets.models import (
    AuthorType,
    Customer,
    Group,
    Message,
    MessageAnalysis,
    SlaPolicy,
    Tag,
    Ticket,
    TicketEvent,
    TicketTag,
)

BATCH = 5000
PASSWORD = "bench-pass-123"  # noqa: S105 (a local benchmark login)
CHANNELS = (["email", "web", "chat", "api", "phone"], [40, 25, 25, 5, 5])
TAGS = [
    "billing",
    "invoice",
    "login",
    "password",
    "export",
    "api",
    "refund",
    "bug",
    "feature-request",
    "onboarding",
    "mobile",
    "integration",
]
KEYWORDS = [
    "invoice",
    "refund",
    "password reset",
    "login",
    "export",
    "csv export",
    "api key",
    "webhook",
    "billing address",
    "vat number",
    "subscription",
    "credit card",
    "two factor",
    "mobile app",
    "dark mode",
    "slow loading",
    "error message",
    "account deletion",
    "data import",
    "integration",
    "calendar sync",
    "notification",
    "email delivery",
    "pricing",
    "trial",
    "upgrade",
    "downgrade",
    "team member",
    "permissions",
    "report",
]
MESSAGES = {
    "negative": [
        "I have been charged twice and nobody answers, this is the third time I write.",
        "The export keeps failing with an error message, I need it today.",
        "I still cannot log in after the password reset, this is really frustrating.",
    ],
    "neutral": [
        "How do I change the billing address on my invoice?",
        "Where can I find my API key? I don't understand the settings page.",
        "Can you tell me when the mobile app gets dark mode?",
    ],
    "positive": [
        "Thanks a lot, the refund arrived. Great help!",
        "Perfect, the import works now. Thank you for the quick answer.",
    ],
}
SIGNALS_FOR = {
    "negative": ["frustration", "urgency", "churn_risk"],
    "neutral": ["confusion"],
    "positive": ["gratitude"],
}


def can_copy() -> bool:
    """Whether ``COPY FROM`` works here: PostgreSQL, as a role that row-level security skips."""
    if connection.vendor != "postgresql":
        return False
    with connection.cursor() as cursor:
        cursor.execute("SELECT rolsuper OR rolbypassrls FROM pg_roles WHERE rolname = current_user")
        row = cursor.fetchone()
    return bool(row and row[0])


def write_rows(model, objs: list, *, ids: bool = False, copy: bool = False) -> list:
    """Insert ``objs`` (unsaved instances of ``model``); with ``ids``, their primary keys are set.

    With ``copy``, the rows go through COPY, their ids reserved from the table's sequence first;
    otherwise through ``bulk_create`` (multi-row INSERTs).
    """
    if not objs:
        return objs
    if not copy:
        return model.objects.bulk_create(objs, batch_size=BATCH)
    table = model._meta.db_table
    fields = [f for f in model._meta.concrete_fields if ids or not f.primary_key]
    with connection.cursor() as cursor:
        if ids:
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
                [table, len(objs)],
            )
            for obj, (pk,) in zip(objs, cursor.fetchall(), strict=True):
                obj.pk = pk
        columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
        with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as stream:
            for obj in objs:
                stream.write_row(
                    [f.get_db_prep_save(getattr(obj, f.attname), connection) for f in fields]
                )
    return objs


def lognormal_minutes(rng: random.Random, median: float, sigma: float) -> float:
    return median * math.exp(rng.gauss(0, sigma))


class Command(BaseCommand):
    help = "Seed a large tenant for the metrics benchmark (bulk inserts)."

    def add_arguments(self, parser):
        parser.add_argument("--slug", default="metricsbench")
        parser.add_argument("--tickets", type=int, default=1_000_000)
        parser.add_argument("--csat", type=int, default=300_000)
        parser.add_argument("--nps", type=int, default=100_000)
        parser.add_argument("--messages", type=int, default=200_000)
        parser.add_argument("--customers", type=int, default=100_000)
        parser.add_argument("--agents", type=int, default=30)
        parser.add_argument("--days", type=int, default=365)
        parser.add_argument("--seed", type=int, default=7)

    def handle(
        self, *args, slug, tickets, csat, nps, messages, customers, agents, days, seed, **options
    ):
        if csat > tickets:
            raise CommandError("--csat cannot exceed --tickets (one answer per ticket here).")
        rng = random.Random(seed)
        self.copy = can_copy()
        self.stdout.write(
            "writing with COPY" if self.copy else "writing with INSERTs (row-level security on)"
        )
        admin = User.objects.filter(email=f"admin@{slug}.test").first() or User.objects.create_user(
            email=f"admin@{slug}.test", password=PASSWORD, full_name="Bench Admin"
        )
        tenant = Tenant.objects.filter(slug=slug).first() or tenant_create(
            name=slug.title(), slug=slug, admin=admin
        )
        if tenant.time_zone != "Europe/Berlin":
            tenant.time_zone = "Europe/Berlin"
            tenant.save(update_fields=["time_zone"])
        with tenant_context(tenant):
            if Ticket.objects.for_tenant(tenant).exists():
                raise CommandError(f"Tenant {slug} already has tickets; use another --slug.")
        manager = User.objects.filter(email=f"manager@{slug}.test").first() or (
            User.objects.create_user(
                email=f"manager@{slug}.test", password=PASSWORD, full_name="Bench Manager"
            )
        )
        Membership.objects.get_or_create(
            tenant=tenant, user=manager, defaults={"role": Role.MANAGER}
        )
        staff = []
        for i in range(agents):
            user = User.objects.filter(email=f"agent{i}@{slug}.test").first() or (
                User.objects.create_user(
                    email=f"agent{i}@{slug}.test", password=PASSWORD, full_name=f"Agent {i:02d}"
                )
            )
            Membership.objects.get_or_create(
                tenant=tenant, user=user, defaults={"role": Role.AGENT}
            )
            staff.append(user.pk)
        now = timezone.now()
        tz = ZoneInfo(tenant.time_zone)
        with tenant_context(tenant):
            groups = [
                Group.objects.get_or_create(tenant=tenant, name=name, defaults={"tier": tier})[0].pk
                for name, tier in [
                    ("Front line", 1),
                    ("Billing", 1),
                    ("Technical", 1),
                    ("Specialists", 2),
                ]
            ]
            tags = [Tag.objects.get_or_create(tenant=tenant, name=name)[0].pk for name in TAGS]
            policy = SlaPolicy.objects.get_or_create(
                tenant=tenant,
                name="Standard",
                defaults={
                    "first_response_minutes": 240,
                    "next_response_minutes": 480,
                    "resolution_minutes": 2400,
                },
            )[0].pk
        people = self._customers(tenant, rng, customers, now, days)
        solved = self._tickets(
            tenant, rng, tickets, people, staff, groups, tags, policy, now, tz, days
        )
        self._csat(tenant, rng, csat, solved, now)
        self._nps(tenant, rng, nps, people, now, days)
        self._messages(tenant, rng, messages, tickets, now)
        self.stdout.write(
            self.style.SUCCESS(
                f"Seeded {slug}: {tickets} tickets, {csat} CSAT, {nps} NPS answers, "
                f"{messages} analysed messages, {customers} customers."
            )
        )
        self.stdout.write(f"  login: manager@{slug}.test / {PASSWORD}")

    # --- customers ----------------------------------------------------------------------------

    def _customers(self, tenant, rng, count, now, days) -> list[tuple[int, datetime]]:
        # Customers arrive over two years; the ones of the last year get their tickets later.
        people = []
        with tenant_context(tenant):
            for start in tqdm(range(0, count, BATCH), desc="customers", unit="batch"):
                rows = [
                    Customer(
                        tenant=tenant,
                        name=f"Customer {i}",
                        email=f"c{i}@bench.example",
                        company=rng.choice(["", "Northwind", "Contoso", "Initech", "Umbrella"]),
                        created_at=now - timedelta(days=rng.uniform(0, 2 * days)),
                    )
                    for i in range(start, min(start + BATCH, count))
                ]
                dates = [c.created_at for c in rows]
                write_rows(Customer, rows, ids=True, copy=self.copy)
                if not self.copy:  # ``auto_now_add`` replaced the dates on insert: restore them
                    for customer, at in zip(rows, dates, strict=True):
                        customer.created_at = at
                    Customer.objects.bulk_update(rows, ["created_at"])
                people += [(c.pk, at) for c, at in zip(rows, dates, strict=True)]
        return people

    # --- tickets --------------------------------------------------------------------------------

    def _created_at(self, rng, now, tz, days) -> datetime:
        while True:
            day = (now - timedelta(days=rng.uniform(0, days))).astimezone(tz)
            if day.weekday() >= 5 and rng.random() < 0.8:
                continue  # fewer tickets at the weekend
            hour = rng.gauss(12.5, 3.2)
            if not 0 <= hour < 24:
                continue
            created = day.replace(hour=int(hour), minute=rng.randint(0, 59), second=0)
            if created < now:
                return created

    def _tickets(self, tenant, rng, count, people, staff, groups, tags, policy, now, tz, days):
        solved: list[tuple[int, int, int, datetime]] = []
        number = 0
        people = sorted(people, key=lambda person: person[1])
        since = [at for _pk, at in people]
        with tenant_context(tenant):
            for start in tqdm(range(0, count, BATCH), desc="tickets", unit="batch"):
                size = min(BATCH, count - start)
                batch, extras = [], []
                for _ in range(size):
                    number += 1
                    created = self._created_at(rng, now, tz, days)
                    # a customer who already existed when the ticket came in
                    customer_id = people[rng.randrange(max(bisect.bisect(since, created), 1))][0]
                    age = (now - created).days
                    if age > 14:
                        status = rng.choices(
                            ["closed", "solved", "open", "pending"], [90, 5, 3, 2]
                        )[0]
                    else:
                        status = rng.choices(
                            ["new", "open", "pending", "on_hold", "solved", "closed"],
                            [6, 14, 8, 2, 30, 40],
                        )[0]
                    responded = status != "new" and rng.random() < 0.97
                    first_response = (
                        created + timedelta(minutes=lognormal_minutes(rng, 90, 1.0))
                        if responded
                        else None
                    )
                    solved_at = None
                    if status in ("solved", "closed"):
                        solved_at = created + timedelta(minutes=lognormal_minutes(rng, 1200, 1.1))
                        solved_at = min(solved_at, now)
                    group = rng.choices(groups, [40, 25, 25, 10])[0]
                    breached = rng.random() < 0.1
                    batch.append(
                        Ticket(
                            tenant=tenant,
                            number=number,
                            subject=f"Request {number}",
                            customer_id=customer_id,
                            channel=rng.choices(*CHANNELS)[0],
                            status=status,
                            priority=rng.choices(
                                ["low", "normal", "high", "urgent"], [15, 60, 18, 7]
                            )[0],
                            assignee_id=None if status == "new" else rng.choice(staff),
                            group_id=group,
                            tier=2 if group == groups[-1] else 1,
                            created_at=created,
                            updated_at=solved_at or first_response or created,
                            first_response_at=first_response,
                            solved_at=solved_at,
                            closed_at=solved_at if status == "closed" else None,
                            reopen_count=rng.choices([0, 1, 2], [93, 6, 1])[0],
                            sla_policy_id=policy,
                            sla_breached_at=created + timedelta(hours=4) if breached else None,
                            mood_label=rng.choices(
                                ["", "negative", "neutral", "positive"], [40, 20, 25, 15]
                            )[0],
                        )
                    )
                    extras.append((rng.random() < 0.08, rng.sample(tags, rng.choice([0, 1, 1, 2]))))
                with transaction.atomic():
                    saved = write_rows(Ticket, batch, ids=True, copy=self.copy)
                    events, links = [], []
                    for ticket, (escalated, ticket_tags) in zip(saved, extras, strict=True):
                        if escalated:
                            events.append(
                                TicketEvent(
                                    tenant=tenant,
                                    ticket_id=ticket.pk,
                                    kind="ticket.escalated",
                                    from_value="1",
                                    to_value="2",
                                    data={"reason": "bench"},
                                    created_at=ticket.created_at + timedelta(hours=2),
                                )
                            )
                        links += [
                            TicketTag(tenant=tenant, ticket_id=ticket.pk, tag_id=tag)
                            for tag in ticket_tags
                        ]
                        if ticket.solved_at is not None:
                            solved.append(
                                (
                                    ticket.pk,
                                    ticket.customer_id,
                                    ticket.assignee_id,
                                    ticket.solved_at,
                                )
                            )
                    write_rows(TicketEvent, events, copy=self.copy)
                    write_rows(TicketTag, links, copy=self.copy)
                    # a few repeats of an earlier ticket of this batch
                    repeats = [
                        Ticket(pk=ticket.pk, tenant=tenant, repeat_of_id=saved[i - 1].pk)
                        for i, ticket in enumerate(saved)
                        if i and rng.random() < 0.05
                    ]
                    Ticket.objects.bulk_update(repeats, ["repeat_of"])
            TenantCounter.objects.update_or_create(
                tenant=tenant, name="ticket", defaults={"value": number}
            )
        return solved

    # --- answers ------------------------------------------------------------------------------

    def _csat(self, tenant, rng, count, solved, now):
        chosen = rng.sample(solved, min(count, len(solved)))
        with tenant_context(tenant):
            for start in tqdm(range(0, len(chosen), BATCH), desc="csat", unit="batch"):
                rows = []
                for ticket_id, customer_id, agent_id, solved_at in chosen[start : start + BATCH]:
                    score = rng.choices([1, 2, 3, 4, 5], [6, 5, 9, 25, 55])[0]
                    rows.append(
                        SurveyResponse(
                            tenant=tenant,
                            kind=SurveyKind.CSAT,
                            ticket_id=ticket_id,
                            customer_id=customer_id,
                            agent_id=agent_id,
                            resolution=0,
                            score=score,
                            comment=rng.choice(["Thanks!", "Too slow.", "Very kind."])
                            if rng.random() < 0.1
                            else "",
                            channel="email",
                            created_at=min(solved_at + timedelta(hours=rng.uniform(1, 48)), now),
                        )
                    )
                write_rows(SurveyResponse, rows, copy=self.copy)

    def _nps(self, tenant, rng, count, people, now, days):
        with tenant_context(tenant):
            for start in tqdm(range(0, count, BATCH), desc="nps", unit="batch"):
                rows = [
                    SurveyResponse(
                        tenant=tenant,
                        kind=SurveyKind.NPS,
                        customer_id=rng.choice(people)[0],
                        score=rng.choices(range(11), [3, 2, 2, 3, 3, 5, 7, 12, 18, 22, 23])[0],
                        channel="email",
                        created_at=now - timedelta(days=rng.uniform(0, days)),
                    )
                    for _ in range(min(BATCH, count - start))
                ]
                write_rows(SurveyResponse, rows, copy=self.copy)

    def _messages(self, tenant, rng, count, tickets, now):
        with tenant_context(tenant):
            first = Ticket.objects.for_tenant(tenant).order_by("pk").values_list("pk", flat=True)[0]
            for start in tqdm(range(0, count, BATCH), desc="messages", unit="batch"):
                size = min(BATCH, count - start)
                picks = [first + rng.randrange(tickets) for _ in range(size)]
                info = dict(
                    Ticket.objects.for_tenant(tenant)
                    .filter(pk__in=picks)
                    .values_list("pk", "created_at")
                )
                customers = dict(
                    Ticket.objects.for_tenant(tenant)
                    .filter(pk__in=picks)
                    .values_list("pk", "customer_id")
                )
                rows, labels = [], []
                for ticket_id in picks:
                    label = rng.choices(["negative", "neutral", "positive"], [35, 45, 20])[0]
                    at = min(info[ticket_id] + timedelta(minutes=rng.uniform(0, 600)), now)
                    rows.append(
                        Message(
                            tenant=tenant,
                            ticket_id=ticket_id,
                            author_type=AuthorType.CUSTOMER,
                            author_customer_id=customers[ticket_id],
                            body_text=rng.choice(MESSAGES[label]),
                            channel="email",
                            created_at=at,
                            analysis_state="done",
                        )
                    )
                    labels.append(label)
                with transaction.atomic():
                    saved = write_rows(Message, rows, ids=True, copy=self.copy)
                    analyses = []
                    for message, label in zip(saved, labels, strict=True):
                        signals = {}
                        if rng.random() < 0.35:
                            name = rng.choice(SIGNALS_FOR[label])
                            signals[name] = {"score": round(rng.uniform(0.5, 1), 2), "phrases": []}
                        analyses.append(
                            MessageAnalysis(
                                tenant=tenant,
                                message_id=message.pk,
                                ticket_id=message.ticket_id,
                                customer_id=message.author_customer_id,
                                model_version="bench",
                                language="en",
                                sentiment_label=label,
                                sentiment_score=round(
                                    {"negative": -0.6, "neutral": 0.0, "positive": 0.7}[label]
                                    + rng.uniform(-0.3, 0.3),
                                    3,
                                ),
                                signals=signals,
                                keywords=rng.sample(KEYWORDS, rng.randint(1, 3)),
                                message_created_at=message.created_at,
                                analysed_at=message.created_at,
                            )
                        )
                    write_rows(MessageAnalysis, analyses, copy=self.copy)
