"""CPU cost of journey event ingestion through the API, per event, measured in-process.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/helpdesk_journeys \
      .venv/bin/python benchmarks/journeys_ingest_cpu.py --requests 40 [--profile 5]

Needs the tenant seeded by ``benchmarks/journeys_seed.py``. Posts batches like
``benchmarks/journeys_ingest.sh`` (new unique ids, random existing customers ``c<n>``, 30% stage
events of the two journeys, a small ``properties`` object) one request at a time through Django's
test client: the whole stack (middleware, tenant lookup, API key, DRF, validation, customer
matching, the insert, the position update) on PostgreSQL as the application role (row-level
security on), ``DEBUG`` off. Prints the CPU time per stored event of this process
(``time.process_time``) and of its PostgreSQL backend (``/proc/<pid>/stat``, so PostgreSQL must
run on this machine). Unlike a wrk run, the figures hardly depend on what else the machine runs.

``--profile N`` then profiles N more requests with cProfile and prints the top functions.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import random
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "helpdesk.settings.base")
os.environ.setdefault("DJANGO_DEBUG", "false")
os.environ.setdefault("DJANGO_ALLOWED_HOSTS", "testserver")
os.environ.setdefault("HELPDESK_DB_ASSUME_ROLE", "helpdesk_app")
os.environ.setdefault("HELPDESK_DB_CONN_MAX_AGE", "3600")
os.environ.setdefault("HELPDESK_LOG_LEVEL", "WARNING")

import django

django.setup()

from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402

from helpdesk.tenancy.models import Tenant  # noqa: E402
from helpdesk.tenancy.services import api_key_create  # noqa: E402

NAMES = (  # as journeys_ingest.sh: 30 names, 9 of them stage events
    ["Page viewed"] * 10
    + ["Search performed"] * 3
    + ["Feature used"] * 5
    + ["Settings opened", "Report exported", "Report exported"]
    + ["Cart viewed", "Product added", "Checkout started", "Payment started", "Order confirmed"]
    + ["Signed up", "Email verified", "Profile completed", "Project created"]
)


def backend_cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def bodies(count: int, batch: int, customers: int, rng: random.Random) -> list[bytes]:
    run = uuid.uuid4().hex[:8]
    start = datetime.now(UTC) - timedelta(seconds=count)
    result = []
    for r in range(count):
        # One second per request, like a live site: an event is only as old as the customer's
        # last one when a customer comes back within the same second (then positions recompute).
        stamp = (start + timedelta(seconds=r)).strftime("%Y-%m-%dT%H:%M:%SZ")
        events = [
            {
                "id": f"cpu-{run}-{r}-{i}",
                "name": rng.choice(NAMES),
                "customer_id": f"c{rng.randrange(customers)}",
                "timestamp": stamp,
                "properties": {"n": i},
            }
            for i in range(batch)
        ]
        result.append(json.dumps({"events": events}).encode())
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=40)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--customers", type=int, default=500_000)
    parser.add_argument("--slug", default=os.environ.get("JOURNEYS_BENCH_SLUG", "jbench"))
    parser.add_argument("--profile", type=int, default=0, help="profile this many more requests")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        sys.exit("needs PostgreSQL (DATABASE_URL=postgres://...)")
    tenant = Tenant.objects.get(slug=args.slug)
    _key, raw = api_key_create(
        tenant=tenant, actor=None, name="cpu bench", scopes=["ingest:events"]
    )
    client = Client(HTTP_AUTHORIZATION=f"Api-Key {raw}")
    url = f"/api/v1/t/{args.slug}/events/"
    rng = random.Random(args.seed)
    total = args.warmup + args.requests + args.profile
    payloads = bodies(total, args.batch, args.customers, rng)

    def post(body: bytes) -> int:
        response = client.post(url, body, content_type="application/json")
        data = response.json()
        if response.status_code != 200 or data["rejected"]:
            sys.exit(f"status {response.status_code}: {str(data)[:300]}")
        return data["accepted"]

    for body in payloads[: args.warmup]:
        post(body)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    measured = payloads[args.warmup : args.warmup + args.requests]
    stored = 0
    cpu0, pg0, wall0 = time.process_time(), backend_cpu(pid), time.perf_counter()
    for body in measured:
        stored += post(body)
    cpu1, pg1, wall1 = time.process_time(), backend_cpu(pid), time.perf_counter()
    python_us = (cpu1 - cpu0) / stored * 1e6
    pg_us = (pg1 - pg0) / stored * 1e6
    print(
        f"{args.requests} requests of {args.batch} events, {stored:,} stored, "
        f"{(wall1 - wall0) / args.requests * 1000:.1f} ms wall per request"
    )
    print(
        f"CPU per event: Django {python_us:.1f} µs + PostgreSQL {pg_us:.1f} µs = "
        f"{python_us + pg_us:.1f} µs -> {2e6 / (python_us + pg_us):,.0f} events/s on 2 cores"
    )
    print("load average:", " ".join(Path("/proc/loadavg").read_text().split()[:3]))
    if args.profile:
        profiler = cProfile.Profile(time.process_time)
        profiler.enable()
        for body in payloads[args.warmup + args.requests :]:
            post(body)
        profiler.disable()
        stats = pstats.Stats(profiler).strip_dirs()
        stats.sort_stats("tottime").print_stats(30)
        stats.sort_stats("cumulative").print_stats(60)


if __name__ == "__main__":
    main()
