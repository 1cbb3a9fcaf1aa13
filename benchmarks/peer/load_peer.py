"""Load the peer (django-helpdesk) with the same volume as our benchmark tenant.

Run by benchmarks/peer/setup_peer.sh with the peer's own Python, in its generated project:

    PEER_DATABASE_URL=... $PEER_DIR/venv/bin/python load_peer.py --repo /path/to/this/repo

What it creates, mirroring `manage.py seed_bench` (ours) as closely as the peer's model allows:

- one queue `support` (public submissions allowed), a superuser admin@peer.test and 20 staff
  agents agent0..agent19@peer.test (password bench-pass-123), each with the peer's UserSettings;
- 100,000 tickets: created over the last year (skewed to recent, as ours), statuses with our
  weights (new/open/pending/on hold -> Open, on hold flagged; solved -> Resolved; closed ->
  Closed), priorities with our weights, assigned to a random agent unless new;
- 400,000 follow-ups, four per ticket like our four messages: "Ticket Opened" with the
  customer's first message (also the ticket's description), then staff replies and customer
  follow-ups alternating, three hours apart. The texts are our demo conversations
  (tickets/demo/conversations.py, read from the repository), so rows have the same sizes.

Users and the queue go through the peer's ORM (its signals create the user settings); tickets
and follow-ups go in with PostgreSQL COPY, then VACUUM ANALYZE. Refuses to load twice unless
--reload (which empties the peer's ticket tables first).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import random
import secrets
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

PASSWORD = "bench-pass-123"  # noqa: S105 (a local benchmark login)
# ours: new, open, pending, on hold, solved, closed
STATUS_WEIGHTS = [5, 15, 8, 4, 28, 40]
# (peer status, on_hold, assigned) for each of ours; peer: 1 Open, 3 Resolved, 4 Closed
STATUS_MAP = [
    (1, False, False),
    (1, False, True),
    (1, False, True),
    (1, True, True),
    (3, False, True),
    (4, False, True),
]
# ours: low, normal, high, urgent -> peer: 4 Low, 3 Normal, 2 High, 1 Critical
PRIORITIES, PRIORITY_WEIGHTS = [4, 3, 2, 1], [15, 60, 18, 7]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repo", required=True, help="this repository (for the demo texts)")
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--followups", type=int, default=400_000)
    parser.add_argument("--agents", type=int, default=20)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--reload", action="store_true")
    args = parser.parse_args()

    sys.path.insert(0, os.getcwd())
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "peersite.settings")
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.db import connection, transaction

    from helpdesk.models import Queue

    topics = list(_load_topics(Path(args.repo)).values())
    rng = random.Random(args.seed)
    User = get_user_model()

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM helpdesk_ticket")
        existing = cursor.fetchone()[0]
    if existing and not args.reload:
        print(f"peer already has {existing} tickets; nothing loaded (PEER_RELOAD=1 to reload)")
        return
    started = time.monotonic()
    with transaction.atomic():
        if existing:
            with connection.cursor() as cursor:
                cursor.execute("TRUNCATE helpdesk_ticket RESTART IDENTITY CASCADE")
        admin = User.objects.filter(username="admin@peer.test").first()
        if admin is None:
            admin = User.objects.create_superuser(
                username="admin@peer.test", email="admin@peer.test", password=PASSWORD
            )
        staff = []
        for i in range(args.agents):
            email = f"agent{i}@peer.test"
            user = User.objects.filter(username=email).first()
            if user is None:
                user = User.objects.create_user(
                    username=email, email=email, password=PASSWORD, is_staff=True
                )
            staff.append(user.pk)
        queue, _ = Queue.objects.get_or_create(
            slug="support",
            defaults={
                "title": "Support",
                "allow_public_submission": True,
                "email_address": "support@peer.test",
            },
        )
        users = time.monotonic() - started
        _copy(connection, rng, topics, queue.pk, staff, args.tickets, args.followups)
    loaded = time.monotonic() - started
    connection.close()
    with connection.cursor() as cursor:
        for table in ("helpdesk_ticket", "helpdesk_followup"):
            cursor.execute(f"VACUUM ANALYZE {table}")
    total = time.monotonic() - started
    print(
        f"peer loaded: users and queue {users:.1f} s (password hashing), {args.tickets} tickets "
        f"and {args.followups} follow-ups {loaded - users:.1f} s (generated and COPY), "
        f"{total:.1f} s in all with VACUUM ANALYZE"
    )


def _load_topics(repo: Path) -> dict:
    """Our demo conversation texts (a plain Python module with no Django imports)."""
    path = repo / "tickets" / "demo" / "conversations.py"
    spec = importlib.util.spec_from_file_location("helpdesk_demo_conversations", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module.TOPICS


def _copy(connection, rng, topics, queue_id, staff, n_tickets, n_followups) -> None:
    now = datetime.now(UTC)
    per_ticket = max(1, n_followups // n_tickets)
    extra = n_followups - per_ticket * n_tickets
    tickets, followups = [], []
    for ticket_id in range(1, n_tickets + 1):
        created = now - timedelta(days=365 * rng.random() ** 2, minutes=rng.randint(0, 600))
        status, on_hold, assigned = STATUS_MAP[
            rng.choices(range(len(STATUS_WEIGHTS)), STATUS_WEIGHTS)[0]
        ]
        topic = rng.choice(topics)
        opener = rng.choice(topic.openers).replace("{first}", "there")
        assignee = rng.choice(staff) if assigned else None
        submitter = f"c{rng.randrange(20_000)}@bench.example"
        tickets.append(
            (
                ticket_id,
                rng.choice(topic.subjects),
                queue_id,
                created,
                created + timedelta(hours=rng.uniform(0, 48)),
                submitter,
                assignee,
                status,
                on_hold,
                opener,
                rng.choices(PRIORITIES, PRIORITY_WEIGHTS)[0],
                secrets.token_hex(18)[:36],
            )
        )
        count = per_ticket + (1 if extra > 0 and rng.random() < extra / n_tickets else 0)
        for k in range(count):
            from_customer = k % 2 == 0
            if k == 0:
                title, body = "Ticket Opened", opener
            elif from_customer:
                title = f"E-Mail Received from {submitter}"
                body = rng.choice(topic.follow_ups).replace("{first}", "there")
            else:
                title = "Comment"
                body = rng.choice(topic.replies).replace("{first}", "there")
            followups.append(
                (
                    ticket_id,
                    created + timedelta(hours=k * 3),
                    title,
                    body,
                    True,
                    None if from_customer else (assignee or staff[0]),
                )
            )
    with connection.cursor() as cursor:
        raw = cursor.cursor  # the psycopg 3 cursor under Django's wrapper
        with raw.copy(
            "COPY helpdesk_ticket (id, title, queue_id, created, modified, submitter_email, "
            "assigned_to_id, status, on_hold, description, priority, secret_key) FROM STDIN"
        ) as copy:
            for row in tickets:
                copy.write_row(row)
        with raw.copy(
            "COPY helpdesk_followup (ticket_id, date, title, comment, public, user_id) FROM STDIN"
        ) as copy:
            for row in followups:
                copy.write_row(row)
        cursor.execute(
            "SELECT setval(pg_get_serial_sequence('helpdesk_ticket', 'id'), "
            "(SELECT max(id) FROM helpdesk_ticket))"
        )


if __name__ == "__main__":
    main()
