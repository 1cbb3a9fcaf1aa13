"""Time the journeys reads on the benchmark tenant (seeded by benchmarks/journeys_seed.py).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/helpdesk_journeys \
      HELPDESK_DB_ASSUME_ROLE=helpdesk_app DJANGO_DEBUG=false \
      .venv/bin/python benchmarks/journeys_funnel.py [--runs 7] [--explain]

Runs as the application role, so row-level security is on as in production. For each journey and
a 30-day period it times: the funnel (stage counts, medians, stuck/dropped now), the previous
period's funnel, the segment breakdowns, the voice of the customer, the list headlines, a
customer's position at a moment (the ticket-page tag), and the whole funnel page over HTTP
(Django's test client, session of the tenant's admin). Prints min / median / max in ms.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "helpdesk.settings.base")

import django

django.setup()

from django.db import connection  # noqa: E402
from django.db.models import Count, Q  # noqa: E402
from django.test import Client  # noqa: E402
from django.utils import timezone  # noqa: E402

from helpdesk.accounts.models import User  # noqa: E402
from helpdesk.tenancy.context import tenant_context  # noqa: E402
from helpdesk.tenancy.models import Tenant  # noqa: E402
from journeys import selectors  # noqa: E402
from journeys.models import JourneyRun, JourneyStep  # noqa: E402
from journeys.selectors.funnels import Median  # noqa: E402

SLUG = os.environ.get("JOURNEYS_BENCH_SLUG", "jbench")


def timed(label: str, runs: int, fn) -> float:
    fn()  # warm-up (plans, caches)
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1000)
    median = statistics.median(samples)
    print(
        f"  {label:<46} min {min(samples):8.1f}  median {median:8.1f}  max {max(samples):8.1f} ms"
    )
    return median


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--explain", action="store_true")
    args = parser.parse_args()
    tenant = Tenant.objects.get(slug=SLUG)
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_user")
        role = cursor.fetchone()[0]
    period = selectors.period_last_days(days=30)
    with tenant_context(tenant):
        journeys = selectors.journey_list(tenant=tenant)
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM journeys_journeyevent WHERE tenant_id = %s", [tenant.pk]
            )
            events = cursor.fetchone()[0]
            cursor.execute(
                "SELECT count(*) FROM tickets_customer WHERE tenant_id = %s", [tenant.pk]
            )
            customers = cursor.fetchone()[0]
        runs = JourneyRun.objects.for_tenant(tenant).count()
        steps = JourneyStep.objects.for_tenant(tenant).count()
    print(
        f"tenant {SLUG}: {events:,} events, {customers:,} customers, {runs:,} runs, "
        f"{steps:,} steps; role {role}; period {period.start:%Y-%m-%d} .. {period.end:%Y-%m-%d}"
    )
    results = {}
    for journey in journeys:
        with tenant_context(tenant):
            stages = selectors.journey_stages(tenant=tenant, journey=journey)
            funnel = selectors.journey_funnel(
                tenant=tenant, journey=journey, period=period, stages=stages
            )
        print(
            f"{journey.name}: entered {funnel.entered:,}, reached "
            + " / ".join(f"{s.reached:,}" for s in funnel.stages)
        )

        def run(fn):
            def inner():
                with tenant_context(tenant):
                    return fn()

            return inner

        results[journey.name] = timed(
            "funnel, 30 days (counts, medians, now)",
            args.runs,
            run(
                lambda journey=journey, stages=stages: selectors.journey_funnel(
                    tenant=tenant, journey=journey, period=period, stages=stages
                )
            ),
        )
        timed(
            "funnel, previous 30 days (for insights)",
            args.runs,
            run(
                lambda journey=journey, stages=stages: selectors.journey_funnel(
                    tenant=tenant,
                    journey=journey,
                    period=period.previous(),
                    stages=stages,
                    with_now=False,
                )
            ),
        )
        for by in ("tag", "company", "signup_month"):
            timed(
                f"breakdown by {by}",
                max(3, args.runs // 2),
                run(
                    lambda journey=journey, by=by: selectors.journey_breakdown(
                        tenant=tenant, journey=journey, period=period, by=by, stage_count=4
                    )
                ),
            )
        timed(
            "voice of the customer (tickets, messages and survey answers of the period)",
            args.runs,
            run(
                lambda journey=journey, stages=stages: selectors.journey_voice(
                    tenant=tenant, journey=journey, period=period, stages=stages
                )
            ),
        )
        if args.explain:
            with tenant_context(tenant), connection.cursor() as cursor:
                steps_qs = (
                    JourneyStep.objects.for_tenant(tenant)
                    .filter(
                        journey=journey,
                        entered_at__gte=period.start,
                        entered_at__lt=period.end,
                        reached_at__lt=period.end,
                    )
                    .values("stage")
                    .annotate(
                        reached=Count("*"),
                        skipped=Count("stage", filter=Q(observed=False)),
                        timed=Count("seconds_from_previous"),
                        median=Median("seconds_from_previous"),
                    )
                )
                sql, params = steps_qs.query.sql_with_params()
                cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}", params)
                print("\n".join("    " + row[0] for row in cursor.fetchall()))
    with tenant_context(tenant):
        customer_id = (
            JourneyRun.objects.for_tenant(tenant)
            .order_by("-id")
            .values_list("customer_id", flat=True)[0]
        )
    timed(
        "list headlines (all journeys)",
        args.runs,
        lambda: _in(
            tenant,
            lambda: selectors.journey_headlines(
                tenant=tenant, period=period, journeys=dict.fromkeys(journeys, 3)
            ),
        ),
    )
    timed(
        "a customer's positions at a moment (ticket tag)",
        args.runs,
        lambda: _in(
            tenant,
            lambda: selectors.journey_positions_for_customer(
                tenant=tenant, customer_id=customer_id, at=timezone.now()
            ),
        ),
    )
    client = Client()
    client.force_login(User.objects.get(email=f"admin@{SLUG}.test"))
    for journey in journeys:
        url = f"/t/{SLUG}/journeys/{journey.public_id}/?days=30"
        timed(
            f"funnel page over HTTP: {journey.name}",
            max(3, args.runs // 2),
            lambda url=url: _ok(client.get(url)),
        )
    print("funnel medians (ms): " + ", ".join(f"{k} {v:.0f}" for k, v in results.items()))


def _in(tenant, fn):
    with tenant_context(tenant):
        return fn()


def _ok(response):
    assert response.status_code == 200, response.status_code
    return response


if __name__ == "__main__":
    main()
