"""Seed demo journeys (Onboarding, Purchase) and their events for the demo tenants. Idempotent.

Run after ``seed_demo``. Events go through the real ingestion service (customer matching,
idempotent ids, incremental positions). The demo customers' journeys line up with the tickets they
wrote: a customer who wrote about a payment problem was at Payment when they wrote, one who could
not log in was at "Verify email", and so on, so the voice-of-the-customer panel tells the story.
Site users who never wrote give the funnels their volume. In the last 30 days fewer customers get
past Payment than in the 30 days before, so the funnel page shows an insight.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from django.core.management.base import BaseCommand
from django.utils import timezone
from tqdm import tqdm

from helpdesk.tenancy.context import tenant_context
from helpdesk.tenancy.models import Tenant
from journeys import services
from journeys.models import Journey, JourneyEvent
from journeys.services import StageSpec
from tickets import services as ticket_services
from tickets.demo.conversations import COMPANIES, FIRST_NAMES, LAST_NAMES, TOPICS
from tickets.models import Customer, Ticket

JOURNEYS = {
    "Onboarding": {
        "description": "From sign-up to the first project.",
        "stuck_after_hours": 48,
        "dropped_after_days": 14,
        "stages": [
            ("Sign-up", ["Signed up"], None),
            ("Verify email", ["Email verified"], 24),
            ("Set up profile", ["Profile completed"], None),
            ("First project", ["Project created"], None),
        ],
    },
    "Purchase": {
        "description": "From the cart to the order confirmation.",
        "stuck_after_hours": 24,
        "dropped_after_days": 7,
        "stages": [
            ("Cart", ["Cart viewed", "Product added"], 72),
            ("Checkout", ["Checkout started"], None),
            ("Payment", ["Payment started"], 12),
            ("Confirmation", ["Order confirmed"], None),
        ],
    },
}
DAYS = 60
BATCH = 500
SUBJECT_TOPIC = {subject: name for name, topic in TOPICS.items() for subject in topic.subjects}


class Command(BaseCommand):
    help = "Create demo journeys and events for the demo tenants (run after seed_demo)."

    def add_arguments(self, parser):
        parser.add_argument("--tenants", default="acme,globex")
        parser.add_argument("--site-users", type=int, default=600)
        parser.add_argument("--seed", type=int, default=42)
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args, tenants, site_users, seed, no_progress, **options):
        for slug in [s.strip() for s in tenants.split(",") if s.strip()]:
            tenant = Tenant.objects.filter(slug=slug).first()
            if tenant is None:
                self.stdout.write(f"{slug}: no such tenant (run seed_demo first), skipped.")
                continue
            with tenant_context(tenant):
                seeded = (
                    JourneyEvent.objects.for_tenant(tenant)
                    .filter(event_id__startswith=f"demo-{slug}-")
                    .exists()
                )
            self._journeys(tenant)
            if seeded:
                self.stdout.write(f"{slug}: journeys already seeded, reusing them.")
                continue
            rng = random.Random(f"{seed}-journeys-{slug}")
            events = _Events(slug, timezone.now(), rng)
            self._site_users(tenant, events, rng, site_users)
            self._ticket_writers(tenant, events, rng)
            total = self._ingest(tenant, events.rows, no_progress)
            self.stdout.write(
                f"{slug}: {total:,} journey events for {len(events.customers):,} customers."
            )

    def _journeys(self, tenant: Tenant) -> None:
        for name, spec in JOURNEYS.items():
            with tenant_context(tenant):
                if Journey.objects.for_tenant(tenant).filter(name=name).exists():
                    continue
            services.journey_create(
                tenant=tenant,
                actor=None,
                name=name,
                description=spec["description"],
                stuck_after_hours=spec["stuck_after_hours"],
                dropped_after_days=spec["dropped_after_days"],
                stages=[
                    StageSpec(stage, tuple(events), hours)
                    for stage, events, hours in spec["stages"]
                ],
            )

    def _site_users(self, tenant: Tenant, events: _Events, rng: random.Random, count: int) -> None:
        """People who use the product and never wrote: they give the funnels their volume."""
        for i in range(count):
            first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
            email = f"{first}.{last}.site{i}@example.net".lower().replace("ü", "ue")
            signed_up = events.now - timedelta(days=rng.uniform(0.2, DAYS))
            customer, _ = ticket_services.customer_get_or_create(
                tenant=tenant,
                email=email,
                name=f"{first} {last}",
                company=rng.choice(COMPANIES) if rng.random() < 0.7 else "",
                tags=rng.sample(["trial", "beta", "newsletter", "vip"], k=rng.randint(0, 2)),
                at=signed_up,
            )
            events.onboarding(customer, signed_up)
            start = signed_up + timedelta(hours=rng.uniform(1, 96))
            for _ in range(rng.choice([0, 1, 1, 1, 2, 2, 3])):
                if start >= events.now:
                    break
                start = events.purchase(customer, start) + timedelta(days=rng.uniform(1, 12))

    def _ticket_writers(self, tenant: Tenant, events: _Events, rng: random.Random) -> None:
        """The demo customers: place them in the journeys where their tickets say they were."""
        since = events.now - timedelta(days=DAYS)
        with tenant_context(tenant):
            tickets = list(
                Ticket.objects.for_tenant(tenant)
                .filter(created_at__gte=since, merged_into=None)
                .select_related("customer")
                .order_by("customer_id", "created_at")
            )
        busy_until: dict[tuple[int, str], datetime] = {}
        for ticket in tickets:
            topic = SUBJECT_TOPIC.get(ticket.subject, "")
            customer, at = ticket.customer, ticket.created_at
            journey = "Onboarding" if topic in {"login", "onboarding"} else "Purchase"
            if busy_until.get((customer.pk, journey), since) > at - timedelta(days=6):
                continue
            if topic == "payment":
                end = events.purchase(
                    customer, at - timedelta(days=rng.uniform(1.2, 4)), hold=2, at=at
                )
            elif topic == "checkout":
                end = events.purchase(
                    customer, at - timedelta(days=rng.uniform(1.2, 3)), hold=1, at=at
                )
            elif topic == "login":
                end = events.onboarding(
                    customer, at - timedelta(days=rng.uniform(1.1, 3)), hold=0, at=at
                )
            elif topic == "onboarding":
                end = events.onboarding(
                    customer, at - timedelta(days=rng.uniform(1.5, 4)), hold=2, at=at
                )
            else:  # bugs, cancellations, praise: after an order went through
                end = events.purchase(
                    customer, at - timedelta(days=rng.uniform(2, 15)), complete=True
                )
            busy_until[(customer.pk, journey)] = end

    def _ingest(self, tenant: Tenant, rows: list[dict], no_progress: bool) -> int:
        rows.sort(key=lambda row: row["timestamp"])  # mostly in order, like a live site
        total = 0
        for start in tqdm(
            range(0, len(rows), BATCH),
            desc=f"{tenant.slug}: journey events",
            disable=no_progress,
            unit="batch",
        ):
            result = services.events_ingest(tenant=tenant, events=rows[start : start + BATCH])
            total += result.accepted
        return total


class _Events:
    """Builds event dicts with stable ids (demo-<slug>-<n>), so a re-run stores nothing new."""

    def __init__(self, slug: str, now: datetime, rng: random.Random):
        self.slug, self.now, self.rng = slug, now, rng
        self.rows: list[dict] = []
        self.customers: set[int] = set()

    def add(self, customer: Customer, name: str, at: datetime, **properties) -> None:
        if at >= self.now:
            return
        self.customers.add(customer.pk)
        self.rows.append(
            {
                "id": f"demo-{self.slug}-{len(self.rows)}",
                "name": name,
                "customer_id": f"user-{customer.pk}",
                "email": customer.email,
                "timestamp": at.isoformat(),
                "properties": properties,
            }
        )

    def _gap(self, low_minutes: float, high_minutes: float) -> timedelta:
        return timedelta(minutes=self.rng.uniform(low_minutes, high_minutes))

    def _steps(
        self,
        customer: Customer,
        start: datetime,
        steps: list[tuple[str, float]],
        *,
        hold: int | None,
        at: datetime | None,
        after: float,
        complete: bool = False,
        skip: str = "",
    ) -> datetime:
        """Events of the stages after the first, each reached with its chance. ``hold``: the
        stage the customer had reached when they wrote at ``at`` (they may go on ``after``)."""
        rng = self.rng
        t = start
        for index, (name, chance) in enumerate(steps, start=1):
            if complete or (hold is not None and index <= hold):
                t += self._gap(3, 150)  # reached (before writing, when holding)
            elif hold is not None and index == hold + 1:
                if rng.random() > after:
                    break
                t = max(t, at) + self._gap(60, 60 * 48)  # went on after writing
            elif rng.random() > chance:
                break
            else:
                t += self._gap(5, 60 * 20)
            if name == skip and not complete and rng.random() < 0.15:
                continue  # no event for this stage: a later one implies it
            self.add(customer, name, t, total=rng.choice([19, 49, 99, 149]))
        return t

    def onboarding(
        self,
        customer: Customer,
        start: datetime,
        hold: int | None = None,
        at: datetime | None = None,
    ) -> datetime:
        """Sign-up onwards. ``hold``: the stage the customer is at when they write at ``at``."""
        self.add(customer, "Signed up", start, source=self.rng.choice(["ads", "search", "friend"]))
        self.add(customer, "Page viewed", start + self._gap(1, 5), path="/welcome")
        steps = [("Email verified", 0.82), ("Profile completed", 0.72), ("Project created", 0.78)]
        return self._steps(
            customer, start, steps, hold=hold, at=at, after=0.6, skip="Profile completed"
        )

    def purchase(
        self,
        customer: Customer,
        start: datetime,
        hold: int | None = None,
        at: datetime | None = None,
        complete: bool = False,
    ) -> datetime:
        """Cart onwards. Fewer orders go through at Payment in the last 30 days than before."""
        rng = self.rng
        recent = start > self.now - timedelta(days=30)
        self.add(customer, "Product added", start, sku=f"SKU-{rng.randint(100, 999)}")
        self.add(customer, "Cart viewed", start + self._gap(1, 30))
        if rng.random() < 0.3:
            self.add(customer, "Cart viewed", start + self._gap(40, 600))  # a repeat
        steps = [
            ("Checkout started", 0.72),
            ("Payment started", 0.8),
            ("Order confirmed", 0.58 if recent else 0.86),
        ]
        return self._steps(
            customer,
            start + self._gap(30, 60),
            steps,
            hold=hold,
            at=at,
            after=0.45 if recent else 0.7,
            complete=complete,
        )
