"""CPU time of one inbound email webhook request, in-process (no HTTP server, no wrk).

Runs ``--requests`` POSTs of the same ~1.6 KB multipart emails as ``email_webhook.lua`` (each
with its own Message-ID) through Django's test ``Client``, i.e. the whole middleware and DRF
stack, on PostgreSQL as the application role (row-level security on) with Redis as the Celery
broker, and prints the CPU milliseconds per message of this process (``time.process_time``) and
of its PostgreSQL backend (from ``/proc``), plus the database round trips per request.
``--profile`` prints a cProfile (CPU time) of the same loop instead (cumulative, top 60).

Prepare the database once as the owner (``migrate``; ``db_app_role``), then:

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/helpdesk_email \\
    REDIS_URL=redis://127.0.0.1:6379/5 HELPDESK_DB_ASSUME_ROLE=helpdesk_app \\
    .venv/bin/python benchmarks/email_webhook_cpu.py --requests 500

The queued processing tasks are purged from the Celery queue of ``REDIS_URL`` at the end (use a
Redis database of its own). This measures cost, not throughput: run ``email_webhook.sh`` for the
latter.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "helpdesk.settings.base")
os.environ.setdefault("DJANGO_DEBUG", "false")
os.environ.setdefault("DJANGO_ALLOWED_HOSTS", "testserver,127.0.0.1,localhost")
os.environ.setdefault("HELPDESK_LOG_LEVEL", "WARNING")
os.environ.setdefault("HELPDESK_MEDIA_ROOT", tempfile.mkdtemp(prefix="helpdesk-bench-media-"))

SLUG = "mailcpu"
TEMPLATE = "\r\n".join(
    [
        "Return-Path: <customer{n}@load.example>",
        "Received: from mail.load.example (mail.load.example [198.51.100.7])",
        "\tby mx.helpdesk.example with ESMTPS; Mon, 10 Jun 2024 09:58:12 +0000",
        "From: Load Customer {n} <customer{n}@load.example>",
        "To: Support <support@helpdesk.example>",
        "Subject: Order {order} arrived damaged",
        "Date: Mon, 10 Jun 2024 11:58:03 +0200",
        "Message-ID: <cpu-{run}-{i}@load.example>",
        "MIME-Version: 1.0",
        'Content-Type: multipart/alternative; boundary="0000000000001234abcd"',
        "",
        "--0000000000001234abcd",
        'Content-Type: text/plain; charset="UTF-8"',
        "Content-Transfer-Encoding: quoted-printable",
        "",
        "Hello,",
        "",
        "my order {order} arrived today but the box was crushed and the lamp inside is broken.",
        "Could you send a replacement or refund it? Photos on request.",
        "",
        "Thanks,",
        "A customer",
        "",
        "--0000000000001234abcd",
        'Content-Type: text/html; charset="UTF-8"',
        "Content-Transfer-Encoding: quoted-printable",
        "",
        '<div dir=3D"ltr">Hello,<br><br>my order {order} arrived today but the box was crushed =',
        "and the lamp inside is broken.<br>Could you send a replacement or refund it? =",
        "Photos on request.<br><br>Thanks,<br>A customer</div>",
        "",
        "--0000000000001234abcd--",
        "",
    ]
)


def backend_cpu_ms(pid: int) -> float:
    """User + system CPU of a PostgreSQL backend, in ms (0 when /proc cannot tell)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) * 1000 / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--warmup", type=int, default=50)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--profile-out", help="also write the profile here (for pstats/snakeviz)")
    args = parser.parse_args()

    import django

    django.setup()
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from helpdesk.accounts.models import User
    from helpdesk.celery import app as celery_app
    from helpdesk.tenancy.models import Tenant
    from helpdesk.tenancy.services import api_key_create, api_key_revoke, tenant_create

    if connection.vendor != "postgresql":
        sys.exit("Set DATABASE_URL to a PostgreSQL database (see the docstring).")
    tenant = Tenant.objects.filter(slug=SLUG).first()
    if tenant is None:
        admin, _ = User.objects.get_or_create(email=f"admin@{SLUG}.test")
        tenant = tenant_create(name="Mail CPU", slug=SLUG, admin=admin)
    key, raw_key = api_key_create(
        tenant=tenant, actor=None, name="cpu run", scopes=["ingest:email"]
    )
    client = Client(HTTP_AUTHORIZATION=f"Api-Key {raw_key}")
    path = f"/api/v1/t/{SLUG}/email/inbound/"
    run = uuid.uuid4().hex[:12]
    counter = iter(range(10**9))

    def post() -> None:
        i = next(counter)
        n = i % 5000
        body = TEMPLATE.format(n=n, order=10000 + i, run=run, i=i).encode()
        response = client.post(path, data=body, content_type="message/rfc822")
        if response.status_code != 202:
            sys.exit(f"unexpected {response.status_code}: {response.content[:300]!r}")

    for _ in range(args.warmup):
        post()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        backend = cursor.fetchone()[0]
    with CaptureQueriesContext(connection) as queries:
        post()
    round_trips = len(queries.captured_queries)

    if args.profile:
        profiler = cProfile.Profile(
            time.process_time
        )  # CPU time: waits on the database are not ours
        profiler.enable()
        for _ in range(args.requests):
            post()
        profiler.disable()
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(60)
        if args.profile_out:
            profiler.dump_stats(args.profile_out)
    else:
        db_before = backend_cpu_ms(backend)
        cpu_before, wall_before = time.process_time(), time.perf_counter()
        for _ in range(args.requests):
            post()
        cpu = (time.process_time() - cpu_before) * 1000 / args.requests
        wall = (time.perf_counter() - wall_before) * 1000 / args.requests
        db = (backend_cpu_ms(backend) - db_before) / args.requests
        print(
            f"{args.requests} webhook requests: {cpu:.2f} ms CPU per message in Django, "
            f"{db:.2f} ms in its PostgreSQL backend; {wall:.2f} ms wall; "
            f"{round_trips} database round trips per request"
        )
    celery_app.control.purge()
    api_key_revoke(tenant=tenant, actor=None, key=key)


if __name__ == "__main__":
    main()
