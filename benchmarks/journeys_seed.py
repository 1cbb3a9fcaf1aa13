"""Seed the journeys benchmark: one tenant, N customers, M events, positions derived, and what
the customers said along the way. PostgreSQL.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/helpdesk_journeys \
      .venv/bin/python benchmarks/journeys_seed.py --customers 500000 --events 10000000 --days 35 \
      --tickets 50000 --messages 100000 --surveys 20000

Flags: ``--customers``, ``--events``, ``--days`` (the span of the events, back from now), ``--seed``
(random seed); for the voice of the customer ``--tickets`` (default 50,000), ``--messages``
(analysed customer messages on those tickets, default 100,000) and ``--surveys`` (CSAT, NPS and
feedback answers with an analysed comment, default 20,000); 0 leaves them out. A small try:
``--customers 200 --events 5000 --tickets 50 --messages 100 --surveys 40``.

Creates tenant ``jbench`` (admin ``admin@jbench.test`` / ``bench-pass-123``) with the journeys
Onboarding and Purchase (through the services), then writes customers, their external-id keys,
the events and the derived runs and steps with COPY, chunk by chunk, inside the tenant's scope (so
row-level security checks every row as in production). Runs and steps come from the same
``journeys.derive.derive_runs`` the ingestion uses, and runs carry their customer's segment keys
(company, created_at, tags) as ingestion writes them.

Tickets, messages and survey answers go to a share of each chunk's customers, each at a moment just
after the customer reached a stage of one of their runs (so they spread over the period and the
stages, as the voice panel places them), with keywords and a sentiment that depend on the stage
(Payment is the unhappy one). Every message has a stored ``MessageAnalysis`` and every survey
comment an ``extra_answers["_analysis"]``, as the analyser would leave them (it is not run).
Refuses to seed a tenant that has events.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "helpdesk.settings.base")

import django

django.setup()

from django.db import connection  # noqa: E402

from empathy_metrics.management.commands.seed_metrics_bench import (  # noqa: E402
    can_copy,
    write_rows,
)
from empathy_metrics.models import SurveyKind, SurveyResponse  # noqa: E402
from helpdesk.accounts.models import User  # noqa: E402
from helpdesk.tenancy.context import tenant_context  # noqa: E402
from helpdesk.tenancy.models import Tenant, TenantCounter  # noqa: E402
from helpdesk.tenancy.services import tenant_create  # noqa: E402
from journeys import services  # noqa: E402
from journeys.derive import derive_runs  # noqa: E402
from journeys.models import Journey, JourneyEvent, JourneyStage  # noqa: E402
from journeys.services.progress import rules_for  # noqa: E402
from tickets.models import AuthorType, Message, MessageAnalysis, Ticket  # noqa: E402

SLUG = os.environ.get("JOURNEYS_BENCH_SLUG", "jbench")
PASSWORD = "bench-pass-123"  # noqa: S105 (a local benchmark login)
CHUNK = 20_000
NOISE = ["Page viewed", "Search performed", "Feature used", "Settings opened", "Report exported"]
ONBOARDING = [
    ("Sign-up", ("Signed up",)),
    ("Verify email", ("Email verified",)),
    ("Set up profile", ("Profile completed",)),
    ("First project", ("Project created",)),
]
PURCHASE = [
    ("Cart", ("Cart viewed", "Product added")),
    ("Checkout", ("Checkout started",)),
    ("Payment", ("Payment started",)),
    ("Confirmation", ("Order confirmed",)),
]
COMPANIES = [f"Company {i}" for i in range(3000)]
TAGS = ["vip", "trial", "enterprise", "beta", "newsletter"]
# What customers say at each stage (journey, stage position): keywords and the chance that a
# message or comment there is negative.
STAGE_WORDS = {
    ("Onboarding", 0): (["sign up", "welcome email", "password"], 0.2),
    ("Onboarding", 1): (["verification email", "spam folder", "link expired"], 0.45),
    ("Onboarding", 2): (["profile photo", "time zone", "settings"], 0.25),
    ("Onboarding", 3): (["first project", "template", "invite team"], 0.15),
    ("Purchase", 0): (["coupon", "shipping cost", "size guide"], 0.2),
    ("Purchase", 1): (["address form", "delivery date", "guest checkout"], 0.3),
    ("Purchase", 2): (["hidden fee", "card declined", "unclear", "3d secure"], 0.6),
    ("Purchase", 3): (["order confirmation", "invoice", "thanks"], 0.1),
}
SIGNALS = {"negative": ["frustration", "urgency", "churn_risk"], "neutral": ["confusion"]}
SIGNALS["positive"] = ["gratitude"]
CHANNELS = ["email", "chat", "web"]


def setup_tenant() -> tuple[Tenant, dict[str, Journey]]:
    admin = User.objects.filter(email=f"admin@{SLUG}.test").first() or User.objects.create_user(
        email=f"admin@{SLUG}.test", password=PASSWORD, full_name="Bench Admin"
    )
    tenant = Tenant.objects.filter(slug=SLUG).first() or tenant_create(
        name="Journeys bench", slug=SLUG, admin=admin
    )
    journeys = {}
    for name, stages in (("Onboarding", ONBOARDING), ("Purchase", PURCHASE)):
        with tenant_context(tenant):
            journey = Journey.objects.for_tenant(tenant).filter(name=name).first()
        if journey is None:
            journey = services.journey_create(
                tenant=tenant,
                actor=admin,
                name=name,
                stages=[services.StageSpec(s, events) for s, events in stages],
                stuck_after_hours=48,
                dropped_after_days=14,
            )
        journeys[name] = journey
    return tenant, journeys


def customer_events(rng: random.Random, now: datetime, days: int, target: int) -> list:
    """One customer's events: an onboarding, 0-3 purchases, then noise up to ``target``."""
    events: list[tuple[datetime, str]] = []
    window = days * 86400

    def at(seconds: float) -> datetime:
        return now - timedelta(seconds=seconds)

    if rng.random() < 0.6:
        start = rng.uniform(0, window)
        events.append((at(start), "Signed up"))
        t = start
        for name, chance in (
            ("Email verified", 0.8),
            ("Profile completed", 0.7),
            ("Project created", 0.75),
        ):
            if rng.random() > chance:
                break
            t -= rng.uniform(60, 86400 * 2)
            if t <= 0:
                break
            if name != "Profile completed" or rng.random() > 0.1:
                events.append((at(t), name))
    for _ in range(rng.choice((0, 1, 1, 1, 2, 2, 3))):
        start = rng.uniform(0, window)
        events.append((at(start), "Product added"))
        events.append((at(max(0, start - rng.uniform(5, 600))), "Cart viewed"))
        t = start
        for name, chance in (
            ("Checkout started", 0.7),
            ("Payment started", 0.8),
            ("Order confirmed", 0.75),
        ):
            if rng.random() > chance:
                break
            t -= rng.uniform(30, 3600 * 6)
            if t <= 0:
                break
            events.append((at(t), name))
    while len(events) < target:
        events.append((at(rng.uniform(0, window)), rng.choice(NOISE)))
    return events[:target] if len(events) > target else events


class Voice:
    """Tickets, analysed messages and survey answers at moments customers reached a stage."""

    def __init__(self, tenant: Tenant, rng: random.Random, now: datetime, *, copy: bool, names):
        self.tenant, self.rng, self.now, self.copy, self.names = tenant, rng, now, copy, names
        self.number = 0  # ticket numbers

    def _said(self, journey_id: int, stage: int) -> tuple[str, list[str], dict, float]:
        """A sentiment label, keywords, signals and a score for something said at this stage."""
        words, negative = STAGE_WORDS.get((self.names[journey_id], stage), (["question"], 0.3))
        roll = self.rng.random()
        label = "negative" if roll < negative else ("neutral" if roll < 0.8 else "positive")
        keywords = self.rng.sample(words, self.rng.randint(1, min(2, len(words))))
        signals = {}
        if self.rng.random() < 0.4:
            name = self.rng.choice(SIGNALS[label])
            signals[name] = {"score": round(self.rng.uniform(0.5, 1), 2), "phrases": []}
        score = {"negative": -0.6, "neutral": 0.0, "positive": 0.7}[label]
        return label, keywords, signals, round(score + self.rng.uniform(-0.3, 0.3), 3)

    def _moment(self, reached: datetime) -> datetime:
        """Shortly after reaching a stage (within a day), never in the future."""
        at = reached + timedelta(seconds=self.rng.uniform(60, 86400))
        return min(at, self.now - timedelta(seconds=1))

    def write(self, moments: list, *, tickets: int, messages: int, surveys: int) -> dict:
        rng, tenant = self.rng, self.tenant
        if not moments or tickets + messages + surveys <= 0:
            return {"tickets": 0, "messages": 0, "surveys": 0}
        tickets = max(tickets, 1) if messages else tickets
        with tenant_context(tenant):
            raised = []  # (ticket, journey, stage)
            for customer_id, journey_id, stage, reached in rng.choices(moments, k=tickets):
                self.number += 1
                label, _keywords, _signals, _score = self._said(journey_id, stage)
                at = self._moment(reached)
                raised.append(
                    (
                        Ticket(
                            tenant=tenant,
                            number=self.number,
                            subject=f"Question {self.number}",
                            customer_id=customer_id,
                            channel=rng.choice(CHANNELS),
                            status="open",
                            created_at=at,
                            updated_at=at,
                            mood_label=label,
                        ),
                        journey_id,
                        stage,
                    )
                )
            write_rows(Ticket, [t for t, _j, _s in raised], ids=True, copy=self.copy)
            notes, said = [], []
            for index in range(messages):
                # the first message of each ticket, then follow-ups on random tickets
                ticket, journey_id, stage = (
                    raised[index] if index < len(raised) else rng.choice(raised)
                )
                at = ticket.created_at
                if index >= len(raised):
                    at = min(at + timedelta(seconds=rng.uniform(60, 7200)), self.now)
                label, keywords, signals, score = self._said(journey_id, stage)
                notes.append(
                    Message(
                        tenant=tenant,
                        ticket_id=ticket.pk,
                        author_type=AuthorType.CUSTOMER,
                        author_customer_id=ticket.customer_id,
                        body_text=f"About {keywords[0]}",
                        channel=ticket.channel,
                        created_at=at,
                        analysis_state="done",
                    )
                )
                said.append((label, keywords, signals, score))
            write_rows(Message, notes, ids=True, copy=self.copy)
            write_rows(
                MessageAnalysis,
                [
                    MessageAnalysis(
                        tenant=tenant,
                        message_id=message.pk,
                        ticket_id=message.ticket_id,
                        customer_id=message.author_customer_id,
                        model_version="bench",
                        language="en",
                        sentiment_label=label,
                        sentiment_score=score,
                        signals=signals,
                        keywords=keywords,
                        message_created_at=message.created_at,
                        analysed_at=message.created_at,
                    )
                    for message, (label, keywords, signals, score) in zip(notes, said, strict=True)
                ],
                copy=self.copy,
            )
            answers, rated = [], set()
            for _ in range(surveys):
                kind = rng.choice([SurveyKind.CSAT, SurveyKind.NPS, SurveyKind.FEEDBACK])
                if kind == SurveyKind.CSAT and raised:
                    ticket, journey_id, stage = rng.choice(raised)
                    if ticket.pk in rated:  # one answer per ticket
                        kind = SurveyKind.NPS
                    else:
                        rated.add(ticket.pk)
                        customer_id = ticket.customer_id
                        at = min(ticket.created_at + timedelta(hours=rng.uniform(1, 48)), self.now)
                if kind != SurveyKind.CSAT or not raised:
                    kind = SurveyKind.NPS if kind == SurveyKind.CSAT else kind
                    ticket = None
                    customer_id, journey_id, stage, reached = rng.choice(moments)
                    at = self._moment(reached)
                label, keywords, signals, score = self._said(journey_id, stage)
                scale = {"negative": (1, 2, 0, 6), "neutral": (3, 3, 7, 8)}
                low, high, nps_low, nps_high = scale.get(label, (4, 5, 9, 10))
                answers.append(
                    SurveyResponse(
                        tenant=tenant,
                        kind=kind,
                        customer_id=customer_id,
                        ticket_id=ticket.pk if ticket is not None else None,
                        score=(
                            rng.randint(low, high)
                            if kind == SurveyKind.CSAT
                            else rng.randint(nps_low, nps_high)
                            if kind == SurveyKind.NPS
                            else None
                        ),
                        comment=f"About {keywords[0]}",
                        extra_answers={
                            "_analysis": {
                                "model_version": "bench",
                                "language": "en",
                                "sentiment_label": label,
                                "sentiment_score": score,
                                "signals": signals,
                                "keywords": keywords,
                            }
                        },
                        channel="email",
                        created_at=at,
                    )
                )
            write_rows(SurveyResponse, answers, copy=self.copy)
        return {"tickets": len(raised), "messages": len(notes), "surveys": len(answers)}


def reserve_ids(table: str, count: int) -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [table])
        sequence = cursor.fetchone()[0]
        cursor.execute("SELECT nextval(%s)", [sequence])
        first = cursor.fetchone()[0]
        cursor.execute("SELECT setval(%s, %s)", [sequence, first + count])
    return first


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=500_000)
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--days", type=int, default=35)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--tickets", type=int, default=50_000)
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--surveys", type=int, default=20_000)
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        sys.exit("journeys_seed.py needs PostgreSQL (DATABASE_URL=postgres://...)")
    started = time.perf_counter()
    rng = random.Random(args.seed)
    tenant, journeys = setup_tenant()
    with tenant_context(tenant):
        if JourneyEvent.objects.for_tenant(tenant).exists():
            sys.exit(f"tenant {SLUG} already has events; drop the database or the tenant first")
        stages = {
            j.pk: list(JourneyStage.objects.for_tenant(tenant).filter(journey=j))
            for j in journeys.values()
        }
    rules = {j.pk: rules_for(j, stages[j.pk]) for j in journeys.values()}
    now = datetime.now(UTC)
    mean = args.events / args.customers
    customer_id = reserve_ids("tickets_customer", args.customers)
    run_id = reserve_ids("journeys_journeyrun", args.customers * 5)
    written = {"events": 0, "runs": 0, "steps": 0, "tickets": 0, "messages": 0, "surveys": 0}
    voice = Voice(tenant, rng, now, copy=can_copy(), names={j.pk: n for n, j in journeys.items()})
    for chunk_start in range(0, args.customers, CHUNK):
        chunk = range(chunk_start, min(args.customers, chunk_start + CHUNK))
        customers, keys, events, runs, steps = [], [], [], [], []
        moments: list[tuple[int, int, int, datetime]] = []  # customer, journey, stage, reached
        for i in chunk:
            pk = customer_id + i
            remaining = args.events - written["events"] - len(events)
            left = args.customers - i
            target = max(1, min(remaining - (left - 1), round(rng.uniform(0.5, 1.5) * mean)))
            if i == args.customers - 1:
                target = remaining
            history = customer_events(rng, now, args.days, target)
            first = min(t for t, _name in history)
            created = min(first, now - timedelta(days=rng.uniform(0, 180)))
            tags = "[" + ",".join(f'"{t}"' for t in rng.sample(TAGS, k=rng.randint(0, 2))) + "]"
            company = rng.choice(COMPANIES)
            customers.append(
                (
                    pk,
                    tenant.pk,
                    uuid.uuid4(),
                    f"Customer {i}",
                    f"c{i}@bench.test",
                    "",
                    company,
                    tags,
                    "en",
                    "",
                    f"c{i}",
                    created,
                )
            )
            keys.append((tenant.pk, f"c{i}", pk))
            for n, (t, name) in enumerate(history):
                events.append((tenant.pk, pk, f"s{i}-{n}", name, t, t, "{}"))
            for journey_id, journey_rules in rules.items():
                derived = derive_runs(journey_rules, history)
                for index, run in enumerate(derived):
                    rid = run_id
                    run_id += 1
                    runs.append(
                        (
                            rid,
                            tenant.pk,
                            journey_id,
                            pk,
                            run.number,
                            index == len(derived) - 1,
                            run.entered_at,
                            run.stage,
                            run.stage_reached_at,
                            run.completed_at,
                            run.last_event_at,
                            company,
                            created,
                            tags,
                        )
                    )
                    for step in run.steps:
                        if step.observed:
                            moments.append((pk, journey_id, step.stage, step.reached_at))
                        steps.append(
                            (
                                tenant.pk,
                                rid,
                                journey_id,
                                pk,
                                step.stage,
                                run.entered_at,
                                step.reached_at,
                                step.observed,
                                step.seconds_from_previous,
                            )
                        )
        with tenant_context(tenant), connection.cursor() as cursor:
            raw = cursor.cursor
            copies = [
                (
                    "tickets_customer (id, tenant_id, public_id, name, email, phone, company, tags, "
                    "locale, notes, external_id, created_at)",
                    customers,
                ),
                ("journeys_customerkey (tenant_id, external_id, customer_id)", keys),
                (
                    "journeys_journeyevent (tenant_id, customer_id, event_id, name, occurred_at, "
                    "received_at, properties)",
                    events,
                ),
                (
                    "journeys_journeyrun (id, tenant_id, journey_id, customer_id, number, is_latest, "
                    "entered_at, stage, stage_reached_at, completed_at, last_event_at, company, "
                    "customer_since, tags)",
                    runs,
                ),
                (
                    "journeys_journeystep (tenant_id, run_id, journey_id, customer_id, stage, "
                    "entered_at, reached_at, observed, seconds_from_previous)",
                    steps,
                ),
            ]
            for target_table, rows in copies:
                with raw.copy(f"COPY {target_table} FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
        written["events"] += len(events)
        written["runs"] += len(runs)
        written["steps"] += len(steps)
        share = len(chunk) / args.customers

        last = chunk.stop == args.customers

        def quota(total: int, done: int, share: float = share, last: bool = last) -> int:
            if last:
                return total - done  # the last chunk takes the rest
            return min(total - done, round(total * share))

        said = voice.write(
            moments,
            tickets=quota(args.tickets, written["tickets"]),
            messages=quota(args.messages, written["messages"]),
            surveys=quota(args.surveys, written["surveys"]),
        )
        for name, count in said.items():
            written[name] += count
        elapsed = time.perf_counter() - started
        print(
            f"{chunk.stop:>9,} customers  {written['events']:>12,} events  "
            f"{written['runs']:>10,} runs  {written['steps']:>10,} steps  "
            f"{written['tickets']:>7,} tickets  {written['messages']:>8,} messages  "
            f"{written['surveys']:>7,} surveys  {elapsed:7.0f} s",
            flush=True,
        )
    with tenant_context(tenant):
        Journey.objects.for_tenant(tenant).update(rebuilt_version=1)
        TenantCounter.objects.update_or_create(
            tenant=tenant, name="ticket", defaults={"value": voice.number}
        )
    print(f"seeded in {time.perf_counter() - started:.0f} s: {written}")


if __name__ == "__main__":
    main()
