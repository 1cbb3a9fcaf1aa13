"""CPU time of the agent workspace pages, in-process (no HTTP server, no wrk).

Requests the queue page, its htmx partial (the rows only) and random ticket pages through
Django's test ``Client`` (the whole middleware stack, sessions from the cache, templates), on
PostgreSQL as the application role (row-level security on) with Redis as the cache, and prints
per page the CPU milliseconds of this process per request (``time.process_time``: the web
worker's share), the wall milliseconds and the SQL statements per request. ``--profile PAGE``
prints a cProfile of that page's loop instead (cumulative, top 60).

Needs the seeded benchmark database (``seed_bench``; see benchmarks/README.md "Agent
workspace"); it only reads (the session row of the signed-in agent aside):

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/helpdesk_bench \\
    REDIS_URL=redis://127.0.0.1:6379/3 HELPDESK_DB_ASSUME_ROLE=helpdesk_app \\
    .venv/bin/python benchmarks/workspace_cpu.py --requests 200

The first requests of each page warm the caches (rows, sessions, templates) as a running server
would have them; they are not counted. This measures cost, not throughput: run ``workspace.sh``
for the latter.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "helpdesk.settings.base")
os.environ.setdefault("DJANGO_DEBUG", "false")
os.environ.setdefault("DJANGO_ALLOWED_HOSTS", "testserver,127.0.0.1,localhost")
os.environ.setdefault("HELPDESK_LOG_LEVEL", "WARNING")

# "ticket" cycles through the same --requests tickets (warm: an agent re-reading tickets as
# live events come); "ticket-cold" opens a ticket not opened before by this run each time (like
# wrk's random tickets over 100,000: the per-ticket caches hardly ever hit).
PAGES = ("queue", "partial", "ticket", "ticket-cold")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=200, help="timed requests per page")
    parser.add_argument("--warmup", type=int, default=30, help="untimed requests per page first")
    parser.add_argument("--slug", default="bench")
    parser.add_argument("--email", default="agent0@bench.test")
    parser.add_argument("--max-ticket", type=int, default=100000)
    parser.add_argument(
        "--pages", default=",".join(PAGES), help="comma-separated: " + ", ".join(PAGES)
    )
    parser.add_argument("--profile", choices=PAGES, help="cProfile this page instead of timing")
    parser.add_argument("--sql", action="store_true", help="print each page's SQL statements")
    parser.add_argument(
        "--rounds", type=int, default=3, help="timed rounds per page (best and median)"
    )
    args = parser.parse_args()

    import django

    django.setup()
    from django.db import connection
    from django.test import Client

    from helpdesk.accounts.models import User

    client = Client()
    client.force_login(User.objects.get(email=args.email))
    rng = random.Random(7)
    # The same random tickets for every run, so runs compare.
    tickets = [rng.randint(1, args.max_ticket) for _ in range(max(args.requests, args.warmup))]
    fresh = iter(random.Random().sample(range(1, args.max_ticket + 1), args.max_ticket))

    def request(page: str, i: int):
        if page == "queue":
            return client.get(f"/t/{args.slug}/queue/")
        if page == "partial":
            return client.get(f"/t/{args.slug}/queue/", headers={"HX-Request": "true"})
        if page == "ticket":
            return client.get(f"/t/{args.slug}/tickets/{tickets[i % len(tickets)]}/")
        return client.get(f"/t/{args.slug}/tickets/{next(fresh)}/")

    statements: list[str] = []

    def count(execute, sql, params, many, context):
        statements.append(sql)
        return execute(sql, params, many, context)

    pages = [p for p in args.pages.split(",") if p]
    if args.profile:
        pages = [args.profile]
    for page in pages:
        for i in range(args.warmup):
            response = request(page, i)
            assert response.status_code == 200, (page, response.status_code)
        statements.clear()
        with connection.execute_wrapper(count):
            request(page, 0)
        if args.sql:
            print(f"--- {page}: {len(statements)} statements")
            for sql in statements:
                print("   ", sql[:160])
        if args.profile:
            profiler = cProfile.Profile(time.process_time)
            profiler.enable()
            for i in range(args.requests):
                request(page, i)
            profiler.disable()
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(60)
            return
        cpu, wall = [], []
        for _ in range(args.rounds):
            c0, w0 = time.process_time(), time.perf_counter()
            for i in range(args.requests):
                response = request(page, i)
                assert response.status_code == 200, (page, response.status_code)
            cpu.append((time.process_time() - c0) * 1000 / args.requests)
            wall.append((time.perf_counter() - w0) * 1000 / args.requests)
        print(
            f"{page:8} cpu {min(cpu):6.2f} ms (median {statistics.median(cpu):6.2f})  "
            f"wall {min(wall):6.2f} ms  {len(statements)} SQL  "
            f"{len(response.content) // 1024} KB"
        )


if __name__ == "__main__":
    main()
