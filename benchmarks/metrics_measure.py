"""Measure the metrics at scale, in-process (the dashboard's data) and over HTTP (the full page).

    HELPDESK_DB_ASSUME_ROLE=helpdesk_app DATABASE_URL=... REDIS_URL=... \\
        .venv/bin/python benchmarks/metrics_measure.py data --slug metricsbench --runs 60
    .venv/bin/python benchmarks/metrics_measure.py page --base http://127.0.0.1:8100 \\
        --cookie "sessionid=..." --runs 60

``data`` times ``dashboard_data()`` (everything the dashboard shows: headline cards of the period
and the one before, sparklines, trend buckets, the four breakdowns, retention, backlog, keywords,
signals with examples) as the application role under row-level security, and a few variants.
``page`` times sequential GETs of the whole page (HTML with the chart data) through the server.
Both print p50, p90, p99 and max in milliseconds (nearest-rank percentiles).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def percentiles(samples: list[float]) -> str:
    ordered = sorted(samples)

    def rank(p: int) -> float:
        return ordered[max(0, -(-p * len(ordered) // 100) - 1)]

    return (
        f"n={len(ordered)} p50={rank(50):.0f} p90={rank(90):.0f} p99={rank(99):.0f} "
        f"max={ordered[-1]:.0f} ms"
    )


def timed(run, runs: int, warmup: int = 3) -> list[float]:
    for _ in range(warmup):
        run()
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        run()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def measure_data(slug: str, runs: int) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "helpdesk.settings.base")
    import django

    django.setup()
    from django.db import connection
    from django.utils import timezone

    from empathy_metrics.periods import Filters, local_day, period_from_preset, zone
    from empathy_metrics.selectors.dashboard import dashboard_data
    from empathy_metrics.services_rollups import metrics_rollup_days, metrics_rollup_update
    from helpdesk.tenancy.context import tenant_context
    from helpdesk.tenancy.models import Membership, Tenant
    from tickets.models import Ticket

    tenant = Tenant.objects.get(slug=slug)
    tz = zone(tenant.time_zone)
    now = timezone.now()
    today = local_day(now, tz)
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_user")
        role = cursor.fetchone()[0]
    with tenant_context(tenant):
        tickets = Ticket.objects.for_tenant(tenant).count()
    agent = Membership.objects.filter(tenant=tenant, role="agent").order_by("pk").first().user_id
    print(f"tenant {slug}: {tickets:,} tickets; queries run as {role}")

    cases = [
        ("dashboard data, 90 days, no filter (the target)", "90d", Filters(), None),
        ("dashboard data, 30 days", "30d", Filters(), None),
        ("dashboard data, 90 days, channel=email", "90d", Filters(channel="email"), None),
        (
            "dashboard data, 90 days, channel+agent",
            "90d",
            Filters(channel="email", agent=agent),
            None,
        ),
        ("dashboard data, 12 months by month", "365d", Filters(), "month"),
    ]
    for label, preset, filters, bucket in cases:
        period = period_from_preset(preset, today=today, tz=tz)
        unit = bucket or period.auto_bucket()

        def run(period=period, filters=filters, unit=unit):
            dashboard_data(tenant=tenant, period=period, filters=filters, bucket_unit=unit, now=now)

        print(
            f"{label}: {percentiles(timed(run, runs if preset == '90d' else max(runs // 3, 10)))}"
        )

    day_samples = timed(lambda: metrics_rollup_days(tenant=tenant, days=[today], now=now), 5, 1)
    print(f"recompute one day (rows of today): {percentiles(day_samples)}")
    update_samples = timed(lambda: metrics_rollup_update(tenant=tenant, now=timezone.now()), 5, 1)
    print(f"incremental run with nothing new: {percentiles(update_samples)}")


def measure_page(base: str, cookie: str, runs: int, path: str) -> None:
    def get():
        request = urllib.request.Request(base + path, headers={"Cookie": cookie})
        with urllib.request.urlopen(request, timeout=30) as response:
            body = response.read()
            if response.status != 200 or b"metrics-data" not in body:
                raise SystemExit(f"unexpected answer {response.status}")
        return body

    size = len(get())
    print(f"GET {path} ({size / 1024:.0f} KiB): {percentiles(timed(get, runs))}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("what", choices=["data", "page"])
    parser.add_argument("--slug", default="metricsbench")
    parser.add_argument("--runs", type=int, default=60)
    parser.add_argument("--base", default="http://127.0.0.1:8100")
    parser.add_argument("--cookie", default=os.environ.get("COOKIE", ""))
    parser.add_argument("--path", default="")
    args = parser.parse_args()
    if args.what == "data":
        measure_data(args.slug, args.runs)
    else:
        measure_page(args.base, args.cookie, args.runs, args.path or f"/t/{args.slug}/dashboards/")


if __name__ == "__main__":
    main()
