"""Soak: minutes of mixed traffic against real processes; nothing lost, nothing duplicated,
memory flat.

Starts the ASGI server (uvicorn: pages, API and WebSockets) and a Celery worker (prefork, queues
``default`` and ``analysis``) on PostgreSQL and Redis, seeds a fresh tenant, then for
``--minutes`` runs at once:

- customers writing: tickets through the API (some requests sent twice with the same
  ``Idempotency-Key``), the help centre's contact form, raw email through the inbound webhook
  (new tickets and replies to open ones; some deliveries sent twice with the same Message-ID);
- agents working: public replies through the API, the ticket list through the API, the queue
  and ticket pages with a signed-in session;
- customers' status pages connected over WebSocket for the whole run (reconnecting with their
  cursor if dropped);
- journey events ingested in batches (some batches sent twice).

Every message carries a unique marker and every event a unique id. At the end (after the worker
has drained the email) it counts what is stored: each marker exactly once, each event exactly
once, each agent reply seen by its ticket's open status page. The resident memory of the server
and worker process trees is sampled throughout; after a warm-up, the median of the last third of
the samples must be within ``--max-growth`` of the first third's.

Exit status 0 only if nothing was lost or duplicated, no request got a 5xx and memory was flat.

Usage (see benchmarks/README.md, "Soak"):

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/helpdesk_soak \\
    REDIS_URL=redis://127.0.0.1:6379/9 \\
    .venv/bin/python benchmarks/soak.py --minutes 30
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import re
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "helpdesk.settings.base")

MARKER = re.compile(r"soak-[0-9a-f]{12}")
CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
PAGES_PER_RUN = 5


def marker() -> str:
    return f"soak-{secrets.token_hex(6)}"


# --- Seeding (in this process, as the owner) ---------------------------------------------------


@dataclass
class Seed:
    slug: str
    prefix: str
    tenant_id: int
    customer_key: str
    relay_key: str
    site_key: str
    agent_token: str
    agent_session: str
    watched: list[dict] = field(default_factory=list)  # public_id, number, reference, email, token


def seed(pages: int) -> Seed:
    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore
    from rest_framework.authtoken.models import Token

    from helpdesk.accounts.models import User
    from helpdesk.tenancy.context import tenant_context
    from helpdesk.tenancy.models import Membership, Tenant
    from helpdesk.tenancy.policy import Role
    from helpdesk.tenancy.services import api_key_create
    from tickets import selectors_status, services
    from tickets.services.status import status_viewer_token

    if not settings.IS_POSTGRES or not settings.REDIS_URL:
        sys.exit("Set DATABASE_URL (PostgreSQL, migrated) and REDIS_URL: the soak needs both.")
    run = secrets.token_hex(3)
    tenant = Tenant.objects.create(
        name=f"Soak {run}", slug=f"soak-{run}", reference_prefix=f"SK{run.upper()}"
    )
    admin = User.objects.create(email=f"admin-{run}@soak.test", full_name="Ada Admin")
    agent = User.objects.create(email=f"agent-{run}@soak.test", full_name="Abe Agent")
    for user in (admin, agent):
        user.set_unusable_password()
        user.save()
    Membership.objects.create(tenant=tenant, user=admin, role=Role.ADMIN)
    Membership.objects.create(tenant=tenant, user=agent, role=Role.AGENT)
    keys = {
        name: api_key_create(tenant=tenant, actor=admin, name=name, scopes=scopes)[1]
        for name, scopes in (
            ("customer", ["write"]),
            ("relay", ["ingest:email"]),
            ("site", ["ingest:events"]),
        )
    }
    session = SessionStore()
    session[SESSION_KEY] = str(agent.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = agent.get_session_auth_hash()
    session.save()
    result = Seed(
        slug=tenant.slug,
        prefix=tenant.reference_prefix,
        tenant_id=tenant.pk,
        customer_key=keys["customer"],
        relay_key=keys["relay"],
        site_key=keys["site"],
        agent_token=Token.objects.create(user=agent).key,
        agent_session=session.session_key,
    )
    from tickets.models import Customer

    for i in range(pages):
        with tenant_context(tenant):
            customer = Customer.objects.create(
                tenant=tenant, name=f"Watcher {i}", email=f"watcher{i}-{run}@customer.test"
            )
        ticket = services.ticket_create(
            tenant=tenant, customer=customer, subject=f"Watched {i}", body="Opening message."
        )
        with tenant_context(tenant):
            link = selectors_status.status_link_active_for(tenant=tenant, ticket_id=ticket.pk)
            cursor = selectors_status.status_latest_cursor(tenant=tenant, ticket=ticket)
        result.watched.append(
            {
                "public_id": str(ticket.public_id),
                "number": ticket.number,
                "reference": ticket.reference_with(tenant.reference_prefix),
                "email": customer.email,
                "token": status_viewer_token(link=link),
                "cursor": cursor,
            }
        )
    return result


def stored(seed_: Seed) -> tuple[Counter, Counter, dict]:
    """Markers in the tenant's messages, stored event ids, inbound email states."""
    from helpdesk.tenancy.context import tenant_context
    from helpdesk.tenancy.models import Tenant
    from journeys.models import JourneyEvent
    from tickets.models import InboundEmail, Message

    tenant = Tenant.objects.get(pk=seed_.tenant_id)
    markers: Counter = Counter()
    with tenant_context(tenant):
        for body in Message.objects.for_tenant(tenant).values_list("body_text", flat=True):
            markers.update(set(MARKER.findall(body)))
        events = Counter(JourneyEvent.objects.for_tenant(tenant).values_list("event_id", flat=True))
        states = Counter(InboundEmail.objects.for_tenant(tenant).values_list("state", flat=True))
    return markers, events, dict(states)


# --- Processes ---------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def server_env(app_role: str) -> dict:
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="helpdesk.settings.base",
        DJANGO_DEBUG="0",
        HELPDESK_LOG_LEVEL="WARNING",
        # A soak writes faster than people do: the abuse limits must not refuse it.
        HELPDESK_WEBFORM_MAX_PER_IP="1000000",
        HELPDESK_EMAIL_RATE_LIMIT="1000000",
        HELPDESK_RATE_EVENTS="1000000/minute",
        HELPDESK_RATE_EMAIL_INBOUND="1000000/minute",
    )
    if app_role:
        env["HELPDESK_DB_ASSUME_ROLE"] = app_role
    return env


def start(args: list[str], env: dict, log: Path) -> subprocess.Popen:
    return subprocess.Popen(
        args, cwd=ROOT, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT,
        start_new_session=True,
    )  # fmt: skip


def wait_http(url: str, timeout: float = 120) -> None:
    import requests

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            requests.get(url, timeout=2)
            return
        except requests.RequestException:
            time.sleep(0.3)
    sys.exit(f"the server at {url} did not answer")


def wait_log(path: Path, text: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if text in path.read_text(errors="replace"):
            return
        time.sleep(0.3)
    sys.exit(f"{path.name} never said {text!r}")


def tree_rss(pid: int) -> int:
    import psutil

    try:
        parent = psutil.Process(pid)
        return sum(p.memory_info().rss for p in [parent, *parent.children(recursive=True)])
    except psutil.Error:
        return 0


# --- Traffic -----------------------------------------------------------------------------------


class Ledger:
    """What was sent and what came back, shared by the traffic threads."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.markers: dict[str, str] = {}  # marker -> kind
        self.events: set[str] = set()
        self.replies: dict[str, set[str]] = defaultdict(set)  # ticket public_id -> markers
        self.seen: dict[str, set[str]] = defaultdict(set)  # ticket public_id -> markers on page
        self.statuses: Counter = Counter()  # (kind, status)
        self.errors: list[str] = []
        self.resent = Counter()

    def sent(self, kind: str, status: int, ok: tuple[int, ...], text: str = "") -> bool:
        with self.lock:
            self.statuses[(kind, status)] += 1
            if status not in ok and len(self.errors) < 30:
                self.errors.append(f"{kind}: {status} {text[:200]}")
        return status in ok

    def record(self, kind: str, mark: str) -> None:
        with self.lock:
            self.markers[mark] = kind


def paced(stop: threading.Event, per_second: float, step) -> None:
    """Call ``step(i)`` about ``per_second`` times a second until ``stop``."""
    interval = 1.0 / per_second
    next_at = time.monotonic()
    for i in itertools.count():
        if stop.is_set():
            return
        try:
            step(i)
        except Exception as exc:  # a failed request is counted, never stops the soak
            with LEDGER.lock:
                LEDGER.statuses[(step.__name__, "exception")] += 1
                if len(LEDGER.errors) < 30:
                    LEDGER.errors.append(f"{step.__name__}: {exc!r}")
        next_at += interval
        time.sleep(max(0.0, next_at - time.monotonic()))


LEDGER = Ledger()


def traffic(base: str, s: Seed, stop: threading.Event, rate: float) -> list[threading.Thread]:
    import requests

    api = f"{base}/api/v1/t/{s.slug}"
    customer = {"Authorization": f"Api-Key {s.customer_key}"}
    relay = {"Authorization": f"Api-Key {s.relay_key}", "Content-Type": "message/rfc822"}
    site = {"Authorization": f"Api-Key {s.site_key}"}
    agent = {"Authorization": f"Bearer {s.agent_token}"}
    pages = requests.Session()
    pages.cookies.set("sessionid", s.agent_session)

    def customer_api(i: int) -> None:
        mark = marker()
        body = {
            "subject": f"API {i}",
            "body": f"Order missing {mark}",
            "customer_email": f"api{i % 40}@customer.test",
        }
        headers = {**customer, "Idempotency-Key": mark}
        response = requests.post(f"{api}/tickets/", json=body, headers=headers, timeout=60)
        if LEDGER.sent("api-ticket", response.status_code, (201,), response.text):
            LEDGER.record("api-ticket", mark)
            if i % 10 == 0:  # a client retry with the same key: replayed, not stored again
                again = requests.post(f"{api}/tickets/", json=body, headers=headers, timeout=60)
                LEDGER.sent("api-ticket-retry", again.status_code, (201,), again.text)
                LEDGER.resent["api-ticket"] += 1

    def customer_form(i: int) -> None:
        mark = marker()
        browser = requests.Session()
        url = f"{base}/t/{s.slug}/help/contact/"
        form = browser.get(url, timeout=60)
        token = CSRF_INPUT.search(form.text)
        if not LEDGER.sent("form-get", form.status_code, (200,), form.text) or not token:
            return
        response = browser.post(
            url,
            data={
                "csrfmiddlewaretoken": token.group(1),
                "name": "Casey",
                "email": f"form{i % 40}@customer.test",
                "subject": f"Form {i}",
                "message": f"The invoice PDF is blank {mark}",
                "website": "",
            },
            headers={"Referer": url},
            allow_redirects=False,
            timeout=60,
        )
        if LEDGER.sent("form-post", response.status_code, (302,), response.text):
            LEDGER.record("form", mark)

    def customer_email(i: int) -> None:
        mark = marker()
        message = EmailMessage()
        if i % 3 == 0:  # a reply to an open, watched ticket (threaded by its reference)
            ticket = s.watched[i % len(s.watched)]
            message["From"], subject = ticket["email"], f"Re: Watched [{ticket['reference']}]"
        else:
            message["From"], subject = f"mail{i % 40}@customer.test", f"Mail {i}"
        message["To"] = "support@soak.test"
        message["Subject"] = subject
        message["Date"] = formatdate()
        message["Message-ID"] = f"<{uuid.uuid4().hex}@customer.test>"
        message.set_content(f"Please call me back {mark}\n")
        raw = message.as_bytes()
        response = requests.post(f"{api}/email/inbound/", data=raw, headers=relay, timeout=60)
        if LEDGER.sent("email", response.status_code, (202,), response.text):
            LEDGER.record("email", mark)
            if i % 10 == 0:  # the relay delivers again: answered 200, duplicate
                again = requests.post(f"{api}/email/inbound/", data=raw, headers=relay, timeout=60)
                LEDGER.sent("email-redelivery", again.status_code, (200,), again.text)
                LEDGER.resent["email"] += 1

    def agent_reply(i: int) -> None:
        mark = marker()
        ticket = s.watched[i % len(s.watched)]
        response = requests.post(
            f"{api}/tickets/{ticket['public_id']}/messages/",
            json={"body": f"We are on it {mark}"},
            headers=agent,
            timeout=60,
        )
        if LEDGER.sent("agent-reply", response.status_code, (201,), response.text):
            LEDGER.record("agent-reply", mark)
            with LEDGER.lock:
                LEDGER.replies[ticket["public_id"]].add(mark)

    def agent_reads(i: int) -> None:
        if i % 3 == 0:
            response = requests.get(f"{api}/tickets/", headers=agent, timeout=60)
            LEDGER.sent("agent-api-list", response.status_code, (200,), response.text)
        elif i % 3 == 1:
            response = pages.get(f"{base}/t/{s.slug}/queue/", timeout=60)
            LEDGER.sent("agent-queue-page", response.status_code, (200,), response.text)
        else:
            number = s.watched[i % len(s.watched)]["number"]
            response = pages.get(f"{base}/t/{s.slug}/tickets/{number}/", timeout=60)
            LEDGER.sent("agent-ticket-page", response.status_code, (200,), response.text)

    def events(i: int) -> None:
        batch = [
            {"id": f"soak-evt-{i}-{j}", "name": "Cart viewed", "customer_id": f"u-{(i + j) % 97}"}
            for j in range(20)
        ]
        response = requests.post(f"{api}/events/", json={"events": batch}, headers=site, timeout=60)
        if LEDGER.sent("events", response.status_code, (200,), response.text):
            with LEDGER.lock:
                LEDGER.events.update(e["id"] for e in batch)
            if i % 10 == 0:  # the snippet retries the batch: all duplicates
                again = requests.post(
                    f"{api}/events/", json={"events": batch}, headers=site, timeout=60
                )
                LEDGER.sent("events-retry", again.status_code, (200,), again.text)
                LEDGER.resent["events"] += 1

    plan = [
        (customer_api, 0.5),
        (customer_form, 0.3),
        (customer_email, 0.5),
        (agent_reply, 0.5),
        (agent_reads, 1.0),
        (events, 0.5),
    ]
    return [
        threading.Thread(target=paced, args=(stop, per_second * rate, step), daemon=True)
        for step, per_second in plan
    ]


async def status_pages(ws_base: str, origin: str, s: Seed, stop: threading.Event) -> None:
    """One WebSocket per watched ticket for the whole run; reconnects from its last cursor."""
    import websockets

    async def page(ticket: dict) -> None:
        cursor = ticket["cursor"]
        while not stop.is_set():
            url = f"{ws_base}/ws/status/{ticket['token']}/?cursor={cursor}"
            try:
                async with websockets.connect(url, origin=origin, open_timeout=30) as socket_:
                    LEDGER.statuses[("status-page-connect", 101)] += 1
                    while not stop.is_set():
                        try:
                            raw = await asyncio.wait_for(socket_.recv(), 1.0)
                        except TimeoutError:
                            continue
                        message = json.loads(raw)
                        for event in (
                            message.get("events", []) if message["type"] == "update" else []
                        ):
                            cursor = max(cursor, event.get("cursor", cursor))
                            with LEDGER.lock:
                                LEDGER.seen[ticket["public_id"]].update(
                                    MARKER.findall(event.get("text", ""))
                                )
            except Exception as exc:  # dropped: count it and reconnect from the cursor
                LEDGER.statuses[("status-page-drop", type(exc).__name__)] += 1
                await asyncio.sleep(1)

    await asyncio.gather(*(page(ticket) for ticket in s.watched))


# --- The run -----------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--rate", type=float, default=1.0, help="traffic multiplier")
    parser.add_argument("--pages", type=int, default=PAGES_PER_RUN, help="open status pages")
    parser.add_argument("--sample-every", type=float, default=10.0, help="RSS sample, seconds")
    parser.add_argument("--max-growth", type=float, default=0.10, help="allowed RSS growth")
    parser.add_argument("--app-role", default="helpdesk_app", help="'' to run as the owner")
    parser.add_argument("--json", type=Path, help="write the summary here too")
    args = parser.parse_args()

    s = seed(args.pages)
    env = server_env(args.app_role)
    logdir = Path(os.environ.get("TMPDIR", "/tmp")) / f"soak-{s.slug}"  # noqa: S108
    logdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    base, ws_base = f"http://127.0.0.1:{port}", f"ws://127.0.0.1:{port}"
    web = start(
        [sys.executable, "-m", "uvicorn", "helpdesk.asgi:application", "--host", "127.0.0.1",
         "--port", str(port), "--ws", "websockets-sansio", "--lifespan", "off",
         "--log-level", "warning", "--no-access-log"],
        env, logdir / "web.log",
    )  # fmt: skip
    worker = start(
        [sys.executable, "-m", "celery", "-A", "helpdesk", "worker", "-Q", "default,analysis",
         "-P", "prefork", "-c", "1", "-n", f"soak-{s.slug}@%h", "--loglevel", "WARNING",
         "--without-gossip", "--without-mingle"],
        env, logdir / "worker.log",
    )  # fmt: skip
    try:
        wait_http(f"{base}/healthz")
        time.sleep(5)  # the worker imports the analyser
        stop = threading.Event()
        samples: list[tuple[float, int, int]] = []

        def sample() -> None:
            started = time.monotonic()
            while not stop.is_set():
                samples.append(
                    (time.monotonic() - started, tree_rss(web.pid), tree_rss(worker.pid))
                )
                stop.wait(args.sample_every)

        threads = traffic(base, s, stop, args.rate)
        threads.append(threading.Thread(target=sample, daemon=True))
        pages = threading.Thread(
            target=lambda: asyncio.run(status_pages(ws_base, base, s, stop)), daemon=True
        )
        print(f"soak: tenant {s.slug}, {args.minutes} min, rate x{args.rate}, logs in {logdir}")
        began = time.monotonic()
        pages.start()
        for thread in threads:
            thread.start()
        while time.monotonic() - began < args.minutes * 60:
            time.sleep(min(30, max(0.1, args.minutes * 60 - (time.monotonic() - began))))
            print(
                f"  {int(time.monotonic() - began):>5} s: {len(LEDGER.markers)} messages, "
                f"{len(LEDGER.events)} events, web {samples[-1][1] >> 20} MiB, "
                f"worker {samples[-1][2] >> 20} MiB",
                flush=True,
            )
        stop.set()
        for thread in threads:
            thread.join(timeout=120)
        duration = time.monotonic() - began

        # Drain: every email processed by the worker, every page caught up.
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            markers, events, states = stored(s)
            if not states.get("received") and set(LEDGER.markers) <= set(markers):
                break
            time.sleep(2)
        markers, events, states = stored(s)
        time.sleep(3)
        pages.join(timeout=10)
    finally:
        for process in (web, worker):
            try:
                os.killpg(process.pid, signal.SIGTERM)
                process.wait(timeout=30)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                os.killpg(process.pid, signal.SIGKILL)

    sent = set(LEDGER.markers)
    lost = sorted(sent - set(markers))
    duplicated = sorted(m for m in sent if markers[m] > 1)
    unexpected = sorted(set(markers) - sent)
    events_lost = sorted(LEDGER.events - set(events))
    events_duplicated = sorted(e for e, n in events.items() if n > 1)
    unseen = {
        ticket: sorted(replies - LEDGER.seen[ticket])
        for ticket, replies in LEDGER.replies.items()
        if replies - LEDGER.seen[ticket]
    }
    server_errors = {
        f"{k}:{st}": n
        for (k, st), n in LEDGER.statuses.items()
        if str(st)[0] == "5" or st == "exception"
    }
    after_warmup = [x for x in samples if x[0] >= min(60.0, duration * 0.2)]
    third = max(1, len(after_warmup) // 3)

    def growth(column: int) -> dict:
        first = statistics.median(x[column] for x in after_warmup[:third])
        last = statistics.median(x[column] for x in after_warmup[-third:])
        return {
            "first_mib": round(first / 2**20, 1),
            "last_mib": round(last / 2**20, 1),
            "growth": round((last - first) / first, 3) if first else None,
        }

    memory = {"web": growth(1), "worker": growth(2)} if after_warmup else {}
    flat = all(m["growth"] is not None and m["growth"] <= args.max_growth for m in memory.values())
    by_kind = Counter(LEDGER.markers.values())
    summary = {
        "minutes": round(duration / 60, 2),
        "rate": args.rate,
        "messages_sent": len(sent),
        "messages_by_kind": dict(by_kind),
        "resent_duplicates": dict(LEDGER.resent),
        "messages_stored_once": len(sent) - len(lost) - len(duplicated),
        "lost": lost[:20],
        "duplicated": duplicated[:20],
        "unexpected_markers": unexpected[:20],
        "events_sent": len(LEDGER.events),
        "events_stored": sum(events.values()),
        "events_lost": events_lost[:20],
        "events_duplicated": events_duplicated[:20],
        "inbound_email_states": states,
        "agent_replies_to_watched_tickets": sum(len(v) for v in LEDGER.replies.values()),
        "replies_not_seen_on_status_page": unseen,
        "requests": {f"{k}:{st}": n for (k, st), n in sorted(LEDGER.statuses.items(), key=str)},
        "server_errors": server_errors,
        "first_errors": LEDGER.errors[:10],
        "rss_samples": len(samples),
        "memory": memory,
        "memory_flat": flat,
    }
    ok = (
        not (lost or duplicated or unexpected or events_lost or events_duplicated or unseen)
        and not server_errors
        and flat
    )
    summary["ok"] = ok
    print(json.dumps(summary, indent=2))
    if args.json:
        args.json.write_text(json.dumps({**summary, "rss": samples}, indent=2))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
