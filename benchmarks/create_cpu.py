"""CPU per ticket created through the API or the public contact form, in-process (the web
worker's share of the cost).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/helpdesk_bench REDIS_URL=redis://127.0.0.1:6379/3 \
      .venv/bin/python benchmarks/create_cpu.py [--path api|form] [--n 300] [--profile] [--sql]

Runs against the workspace data set (``manage.py seed_bench``, tenant ``bench``) as the
application role, with DEBUG off, through Django's test client (no network, no server): the
figure is the CPU time of this process per request (``time.process_time``), which is what one
gunicorn worker spends; PostgreSQL's own CPU is not in it. ``--sql`` prints the statements of one
request and their count by kind; ``--profile`` the top of a cProfile.

``--path api`` (the default) posts JSON to ``/api/v1/t/<slug>/tickets/`` with an API key;
``--path form`` posts the help centre's contact form (``/t/<slug>/help/contact/``) as a browser
does: anonymous, with the CSRF cookie and token of one GET of the form (CSRF checks on), the
per-address limit raised for the run (``HELPDESK_WEBFORM_MAX_PER_IP``), and expects the redirect
to the confirmation.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import re
import sys
import time
import uuid
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "helpdesk.settings.base")
os.environ.setdefault("HELPDESK_DB_ASSUME_ROLE", "helpdesk_app")
os.environ.setdefault("DJANGO_DEBUG", "false")
os.environ.setdefault("DJANGO_ALLOWED_HOSTS", "testserver")
os.environ.setdefault("HELPDESK_LOG_LEVEL", "WARNING")
os.environ.setdefault("HELPDESK_WEBFORM_MAX_PER_IP", "1000000000")

import django

django.setup()

from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from helpdesk.tenancy.models import Membership, Tenant  # noqa: E402
from helpdesk.tenancy.services import api_key_create  # noqa: E402


def statement_kind(sql: str) -> str:
    """SAVEPOINT, RELEASE, set_config, SELECT, INSERT, UPDATE, DELETE, ..."""
    word = sql.lstrip().split(None, 1)[0].upper() if sql.strip() else "?"
    if word == "SELECT" and "set_config" in sql:
        return "set_config"
    if word == "ROLLBACK" and "SAVEPOINT" in sql.upper():
        return "ROLLBACK TO SAVEPOINT"
    return word


def api_creator(args, tenant, run):
    admin = Membership.objects.filter(tenant=tenant, role="admin").first().user
    _key, raw = api_key_create(tenant=tenant, actor=admin, name="cpu run", scopes=["read", "write"])
    client = Client(HTTP_AUTHORIZATION=f"Api-Key {raw}")
    path = f"/api/v1/t/{args.slug}/tickets/"

    def create(i: int):
        body = {
            "subject": f"Checkout fails ({run}-{i})",
            "body": f"I clicked pay and nothing happened. Order {i}.",
            "customer_email": f"load{i % 5000}@bench.example",
        }
        response = client.post(path, body, content_type="application/json")
        assert response.status_code == 201, (response.status_code, response.content[:300])

    return create


def form_creator(args, tenant, run):
    client = Client(enforce_csrf_checks=True)
    path = f"/t/{args.slug}/help/contact/"
    page = client.get(path)
    assert page.status_code == 200, page.status_code
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode())
    assert token, "no CSRF token in the contact form"

    def create(i: int):
        body = {
            "csrfmiddlewaretoken": token.group(1),
            "name": "Load Customer",
            "email": f"load{i % 5000}@bench.example",
            "subject": f"Order {run}-{i} arrived damaged",
            "message": f"My order {run}-{i} arrived today but the box was crushed and the lamp "
            "inside is broken. Could you send a replacement or refund it?",
            "website": "",
        }
        response = client.post(path, body)
        assert response.status_code == 302, (response.status_code, response.content[:300])

    return create


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--slug", default="bench")
    parser.add_argument("--path", choices=("api", "form"), default="api")
    parser.add_argument("--n", type=int, default=300)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--sql", action="store_true")
    args = parser.parse_args()

    tenant = Tenant.objects.get(slug=args.slug)
    run = uuid.uuid4().hex[:6]
    create = (api_creator if args.path == "api" else form_creator)(args, tenant, run)

    for i in range(20):  # warm up
        create(i)
    if args.sql:
        with CaptureQueriesContext(connection) as queries:
            create(10_000)
        for q in queries.captured_queries:
            print(q["sql"][:200])
        kinds = Counter(statement_kind(q["sql"]) for q in queries.captured_queries)
        print(
            f"{len(queries)} statements: " + ", ".join(f"{k} {n}" for k, n in kinds.most_common())
        )
    profiler = cProfile.Profile(time.process_time) if args.profile else None
    started, wall = time.process_time(), time.perf_counter()
    if profiler:
        profiler.enable()
    for i in range(args.n):
        create(20 + i)
    if profiler:
        profiler.disable()
    cpu, elapsed = time.process_time() - started, time.perf_counter() - wall
    print(
        f"{args.path}: {args.n} tickets: {cpu / args.n * 1000:.2f} ms CPU, "
        f"{elapsed / args.n * 1000:.2f} ms wall per ticket"
    )
    if profiler:
        stats = pstats.Stats(profiler).sort_stats("cumulative")
        stats.print_stats(
            r"/work/main/(helpdesk|tickets)|rest_framework/(views|serializers|fields)|django/(forms|template)",
            60,
        )


if __name__ == "__main__":
    main()
