"""Seed the journeys benchmark: one tenant, N customers, M events, positions derived. PostgreSQL.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/helpdesk_journeys \
      .venv/bin/python benchmarks/journeys_seed.py --customers 500000 --events 10000000 --days 35

Creates tenant ``jbench`` (admin ``admin@jbench.test`` / ``bench-pass-123``) with the journeys
Onboarding and Purchase (through the services), then writes customers, their external-id keys,
the events and the derived runs and steps with COPY, chunk by chunk, inside the tenant's scope (so
row-level security checks every row as in production). Runs and steps come from the same
``journeys.derive.derive_runs`` the ingestion uses. Refuses to seed a tenant that has events.
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

from helpdesk.accounts.models import User  # noqa: E402
from helpdesk.tenancy.context import tenant_context  # noqa: E402
from helpdesk.tenancy.models import Tenant  # noqa: E402
from helpdesk.tenancy.services import tenant_create  # noqa: E402
from journeys import services  # noqa: E402
from journeys.derive import derive_runs  # noqa: E402
from journeys.models import Journey, JourneyEvent, JourneyStage  # noqa: E402
from journeys.services.progress import rules_for  # noqa: E402

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
    written = {"events": 0, "runs": 0, "steps": 0}
    for chunk_start in range(0, args.customers, CHUNK):
        chunk = range(chunk_start, min(args.customers, chunk_start + CHUNK))
        customers, keys, events, runs, steps = [], [], [], [], []
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
            customers.append(
                (
                    pk,
                    tenant.pk,
                    uuid.uuid4(),
                    f"Customer {i}",
                    f"c{i}@bench.test",
                    "",
                    rng.choice(COMPANIES),
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
                        )
                    )
                    for step in run.steps:
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
                    "entered_at, stage, stage_reached_at, completed_at, last_event_at)",
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
        elapsed = time.perf_counter() - started
        print(
            f"{chunk.stop:>9,} customers  {written['events']:>12,} events  "
            f"{written['runs']:>10,} runs  {written['steps']:>10,} steps  {elapsed:7.0f} s",
            flush=True,
        )
    with tenant_context(tenant):
        Journey.objects.for_tenant(tenant).update(rebuilt_version=1)
    print(f"seeded in {time.perf_counter() - started:.0f} s: {written}")


if __name__ == "__main__":
    main()
