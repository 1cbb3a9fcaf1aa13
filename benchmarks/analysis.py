"""Message analysis: the analyser alone, the pipeline end to end, and a re-analysis run.

    # 1. The analyser alone, one core (no Django, no database): throughput on the median-length
    #    messages of dev.csv, batched as the worker does; per-message latency; memory; components.
    .venv/bin/python benchmarks/analysis.py analyser

    # 2. End to end with real workers: message stored (commit) -> analysis committed (what the
    #    ticket page and the queue read) -> analysis visible on the ticket page (the "analysed"
    #    notice naming the message arrives on an agent's open ticket-page WebSocket, served by one
    #    uvicorn process on the Redis channel layer). Starts its own Celery worker processes
    #    (queue of its own) and its own uvicorn.
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/helpdesk_analysis_bench \\
    REDIS_URL=redis://127.0.0.1:6379/5 HELPDESK_DB_ASSUME_ROLE=helpdesk_app \\
    .venv/bin/python benchmarks/analysis.py pipeline

    # 3. Re-analysis (analysis_reanalyse --enqueue) of N messages with 2 worker processes,
    #    extrapolated to 1,000,000 messages.
    DATABASE_URL=... REDIS_URL=... .venv/bin/python benchmarks/analysis.py reanalyse --messages 20000

The database must be migrated first (``manage.py migrate``); the bench creates a tenant of its
own ("bench-analysis") and, with ``HELPDESK_DB_ASSUME_ROLE=helpdesk_app``, runs as the app role.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEV_CSV = Path(
    os.environ.get(
        "HELPDESK_SENTIMENT_DEV", ROOT.parent / "shared" / "data" / "sentiment" / "dev.csv"
    )
)
QUEUE = os.environ.get("HELPDESK_ANALYSIS_QUEUE", "analysis-bench")

sys.path.insert(0, str(ROOT))


def dev_texts() -> list[str]:
    with open(DEV_CSV, encoding="utf-8") as handle:
        return [row["text"] for row in csv.DictReader(handle)]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def rss_mb() -> float:
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


# --- 1. the analyser alone --------------------------------------------------------------------


def bench_analyser(args) -> None:
    start_rss = rss_mb()
    t0 = time.perf_counter()
    from tickets.analysis import get_analyser

    analyser = get_analyser()
    load_s = time.perf_counter() - t0
    loaded_rss = rss_mb()
    texts = dev_texts()
    lengths = [
        len(ids)
        for start in range(0, len(texts), 256)
        for ids in analyser.encoder.token_ids(texts[start : start + 256])
    ]
    median = statistics.median(lengths)
    median_words = statistics.median(len(t.split()) for t in texts)
    rng = random.Random(7)
    at_median = [t for t, n in zip(texts, lengths, strict=True) if abs(n - median) <= 2]
    rng.shuffle(at_median)
    sample = (at_median * 4)[: args.messages]
    mixed = rng.sample(texts, min(args.messages, len(texts)))
    from threadpoolctl import threadpool_info

    blas = [(i["internal_api"], i["num_threads"], i.get("architecture")) for i in threadpool_info()]
    print(f"model {analyser.model_version}; BLAS {blas}")
    print(f"load: {load_s:.2f} s, RSS {start_rss:.0f} -> {loaded_rss:.0f} MB")
    print(f"dev.csv: median {median:.0f} tokens ({median_words:.0f} words); sample {len(sample)}")
    analyser.analyse_batch(sample[:64])  # warm up
    print(f"load average at start: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    for batch in (1, 16, 32, 64):
        started, cpu = time.perf_counter(), time.process_time()
        for i in range(0, len(sample), batch):
            analyser.analyse_batch(sample[i : i + batch])
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
        print(
            f"median-length messages, batch {batch:>2}: {len(sample) / elapsed:7.1f} msg/s wall, "
            f"{len(sample) / cpu:7.1f} msg/s per CPU-second (one BLAS thread: one core)"
        )
    started = time.perf_counter()
    for i in range(0, len(mixed), 32):
        analyser.analyse_batch(mixed[i : i + 32])
    print(
        f"random dev.csv messages, batch 32: {len(mixed) / (time.perf_counter() - started):.1f} msg/s"
    )
    latencies, cpu_latencies = [], []
    for text in sample[: args.latency]:
        one, cpu = time.perf_counter(), time.process_time()
        analyser.analyse(text)
        latencies.append((time.perf_counter() - one) * 1000)
        cpu_latencies.append((time.process_time() - cpu) * 1000)
    print(
        f"one message at a time: p50 {percentile(latencies, 50):.1f} ms, "
        f"p99 {percentile(latencies, 99):.1f} ms, max {max(latencies):.1f} ms wall; "
        f"CPU p50 {percentile(cpu_latencies, 50):.1f} ms, p99 {percentile(cpu_latencies, 99):.1f} ms"
    )
    long_latencies = []
    longest = sorted(texts, key=len)[-200:]
    for text in longest:
        one = time.perf_counter()
        analyser.analyse(text)
        long_latencies.append((time.perf_counter() - one) * 1000)
    print(
        f"the 200 longest dev.csv messages one at a time: p99 {percentile(long_latencies, 99):.1f} ms"
    )
    # components, on the median-length sample
    from tickets.analysis.keywords import extract_keywords
    from tickets.analysis.language import detect_language
    from tickets.analysis.signals import detect_signals
    from tickets.analysis.text import prepare

    prepared = [prepare(t) for t in sample]
    for name, fn in (
        ("prepare", prepare),
        ("language", detect_language),
        ("signals", detect_signals),
        ("vader (patched)", analyser.vader.scores),
        ("keywords", extract_keywords),
    ):
        started = time.perf_counter()
        for text in prepared:
            fn(text)
        print(f"  {name:16} {len(prepared) / (time.perf_counter() - started):9.0f} msg/s")
    started = time.perf_counter()
    for i in range(0, len(prepared), 32):
        analyser.encoder.encode(prepared[i : i + 32])
    print(f"  {'encoder':16} {len(prepared) / (time.perf_counter() - started):9.0f} msg/s")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"RSS now {rss_mb():.0f} MB, peak {peak:.0f} MB (analyser alone, no Django)")
    installed = subprocess.run(
        [sys.executable, "-m", "pip", "list"], capture_output=True, text=True, check=False
    ).stdout.lower()
    print(f"torch installed: {'torch ' in installed}")


# --- Django-side helpers ------------------------------------------------------------------------


def django_setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "helpdesk.settings.base")
    os.environ["HELPDESK_ANALYSIS_QUEUE"] = QUEUE
    if not os.environ.get("DATABASE_URL") or not os.environ.get("REDIS_URL"):
        sys.exit("needs DATABASE_URL (PostgreSQL, migrated) and REDIS_URL")
    import django

    django.setup()


def bench_tenant():
    from helpdesk.accounts.models import User
    from helpdesk.tenancy.models import Tenant
    from helpdesk.tenancy.services import tenant_create

    tenant = Tenant.objects.filter(slug="bench-analysis").first()
    if tenant is None:
        admin = User.objects.filter(email="admin@bench-analysis.test").first()
        if admin is None:
            admin = User.objects.create_user(email="admin@bench-analysis.test", password="x" * 12)
        tenant = tenant_create(name="Bench Analysis", slug="bench-analysis", admin=admin)
    return tenant


def start_workers(count: int, concurrency: int = 1) -> list[subprocess.Popen]:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "helpdesk.settings.base",
        "HELPDESK_LOG_LEVEL": "WARNING",
    }
    workers = []
    for index in range(count):
        workers.append(
            subprocess.Popen(
                [
                    str(ROOT / ".venv" / "bin" / "celery"),
                    "-A",
                    "helpdesk",
                    "worker",
                    "-Q",
                    QUEUE,
                    "-c",
                    str(concurrency),
                    "-n",
                    f"bench{index}-{os.getpid()}@%h",
                    "--without-gossip",
                    "--without-mingle",
                    "--without-heartbeat",
                    "-l",
                    "WARNING",
                ],
                cwd=ROOT,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
    return workers


def worker_rss(workers: list[subprocess.Popen]) -> list[str]:
    """RSS now / peak RSS (VmHWM) / PSS, in MB, of each worker's pool processes (the ones that
    run the analyser)."""
    import psutil

    sizes = []
    for worker in workers:
        for child in psutil.Process(worker.pid).children(recursive=True):
            with open(f"/proc/{child.pid}/status") as handle:
                peak = next(
                    int(line.split()[1]) / 1024 for line in handle if line.startswith("VmHWM:")
                )
            full = child.memory_full_info()
            sizes.append(f"{full.rss / 2**20:.0f}/{peak:.0f}/{full.pss / 2**20:.0f}")
    return sizes


def worker_cpu_seconds(workers: list[subprocess.Popen]) -> float:
    """User + system CPU time used so far by the workers' pool processes."""
    import psutil

    total = 0.0
    for worker in workers:
        for child in psutil.Process(worker.pid).children(recursive=True):
            times = child.cpu_times()
            total += times.user + times.system
    return total


def stop_workers(workers: list[subprocess.Popen]) -> None:
    for worker in workers:
        worker.terminate()
    for worker in workers:
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()


def warm_up(tenant, customer, workers: int) -> None:
    """One message per worker process, so the model is loaded before the clock runs."""
    from helpdesk.tenancy.context import tenant_context
    from tickets import services
    from tickets.models import Message

    tickets = [
        services.ticket_create(tenant=tenant, customer=customer, subject="warm", body="hello there")
        for _ in range(workers * 2)
    ]
    deadline = time.time() + 120
    while time.time() < deadline:
        with tenant_context(tenant):
            if (
                not Message.objects.filter(ticket__in=tickets)
                .exclude(analysis_state="done")
                .exists()
            ):
                return
        time.sleep(0.2)
    sys.exit("the workers did not analyse the warm-up messages within 120 s")


# --- the agent's ticket pages (WebSockets through a real uvicorn) --------------------------------


def bench_agent_cookie(tenant) -> str:
    """An agent of the bench tenant (created once), signed in: the Cookie header of its session."""
    from django.test import Client

    from helpdesk.accounts.models import User
    from helpdesk.tenancy.models import Membership
    from helpdesk.tenancy.policy import Role
    from helpdesk.tenancy.services import membership_add

    email = "agent@bench-analysis.test"
    user = User.objects.filter(email=email).first()
    if user is None:
        user = User.objects.create_user(email=email, password=None, full_name="Ana Bench")
    if not Membership.objects.filter(tenant=tenant, user=user).exists():
        membership_add(tenant=tenant, actor=None, email=email, role=Role.AGENT)
    client = Client()
    client.force_login(user)  # Django's login: a session row, as the login form makes
    return f"sessionid={client.cookies['sessionid'].value}"


class TicketPages:
    """One agent's open ticket pages: a WebSocket per ticket (``/ws/t/<slug>/tickets/<n>/``),
    read by an asyncio loop in a thread of its own, which notes when the "analysed" notice naming
    each message (public id) arrives: ``time.perf_counter()``, the clock of the commits."""

    def __init__(self, port: int, slug: str, cookie: str, numbers: list[int]) -> None:
        self.port, self.slug, self.cookie = port, slug, cookie
        self.seen: dict[str, float] = {}
        self.notices = 0
        self.lost: list[str] = []  # sockets that closed while the bench ran
        self.changed = threading.Condition()
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.sockets = self.call(self._open_all(numbers), timeout=300)

    def call(self, coroutine, timeout: float):
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    async def _open_all(self, numbers: list[int]) -> list:
        gate = asyncio.Semaphore(10)
        return await asyncio.gather(*(self._open(number, gate) for number in numbers))

    async def _open(self, number: int, gate: asyncio.Semaphore):
        from websockets.asyncio.client import connect

        async with gate:
            socket = await connect(
                f"ws://127.0.0.1:{self.port}/ws/t/{self.slug}/tickets/{number}/",
                origin=f"http://127.0.0.1:{self.port}",
                additional_headers={"Cookie": self.cookie},
                proxy=None,
                open_timeout=60,
            )
            while json.loads(await asyncio.wait_for(socket.recv(), 60))["type"] != "ready":
                pass
        asyncio.get_running_loop().create_task(self._read(number, socket))
        return socket

    async def _read(self, number: int, socket) -> None:
        try:
            async for text in socket:
                arrived = time.perf_counter()
                frame = json.loads(text)
                if frame.get("type") != "analysed":
                    continue
                with self.changed:
                    self.notices += 1
                    for public_id in frame["messages"]:
                        self.seen.setdefault(public_id, arrived)
                    self.changed.notify_all()
        except Exception as error:  # noted and reported: the bench goes on
            self.lost.append(f"ticket {number}: {error!r}")
        else:
            self.lost.append(f"ticket {number}: closed by the server")

    def wait(self, public_ids: set[str], timeout: float) -> dict[str, float]:
        """Arrival times of those notices that came within ``timeout``."""
        deadline = time.perf_counter() + timeout
        with self.changed:
            while not public_ids <= self.seen.keys():
                left = deadline - time.perf_counter()
                if left <= 0:
                    break
                self.changed.wait(left)
            return {pid: self.seen[pid] for pid in public_ids if pid in self.seen}

    def close(self) -> None:
        async def close_all() -> None:
            await asyncio.gather(*(s.close() for s in self.sockets), return_exceptions=True)

        try:
            self.call(close_all(), timeout=30)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(10)


def latency_line(values: list[float], unit: str = "ms") -> str:
    if not values:
        return "none"
    scale, fmt = (1000, ".0f") if unit == "ms" else (1, ".2f")
    return ", ".join(
        f"{name} {value * scale:{fmt}} {unit}"
        for name, value in (
            ("p50", percentile(values, 50)),
            ("p99", percentile(values, 99)),
            ("max", max(values)),
        )
    )


def misses_line(expected: int, seen: int, lost: list[str]) -> str:
    line = f"{seen}/{expected} seen, {expected - seen} missed"
    if lost:
        line += f"; {len(lost)} socket(s) closed: {'; '.join(lost[:3])}"
    return line


# --- 2. end to end ------------------------------------------------------------------------------


def bench_pipeline(args) -> None:
    django_setup()
    from chat_roundtrip import free_port, start_server
    from django.db import connection, transaction

    from helpdesk.tenancy.context import tenant_context
    from tickets import services
    from tickets.models import MessageAnalysis

    tenant = bench_tenant()
    customer, _ = services.customer_get_or_create(tenant=tenant, email="bench@example.com")
    cookie = bench_agent_cookie(tenant)
    texts = dev_texts()
    rng = random.Random(11)
    port = free_port()
    server = start_server(port, workers=1)  # helpdesk.asgi, the Redis channel layer, app role
    workers, pages = [], None
    try:
        workers = start_workers(args.workers)
        warm_up(tenant, customer, args.workers)
        # Messages land on 100 tickets (a conversation has a handful of messages, not 1,000).
        with services.analysis_deferred():
            tickets = [
                services.ticket_create(tenant=tenant, customer=customer, subject="Bench", body="hi")
                for _ in range(100)
            ]
        # The agent has every one of them open: a ticket page's WebSocket each.
        pages = TicketPages(port, tenant.slug, cookie, [t.number for t in tickets])
        missed_total = 0

        def post(text: str) -> tuple[int, str, float]:
            committed = {}
            with transaction.atomic():
                message = services.message_create(
                    tenant=tenant, ticket=rng.choice(tickets), body=text, author_customer=customer
                )
                transaction.on_commit(lambda: committed.setdefault("t", time.perf_counter()))
            return message.pk, str(message.public_id), committed["t"]

        def wait_for(ids: set[int], starts: dict[int, float], timeout: float) -> dict[int, float]:
            seen: dict[int, float] = {}
            deadline = time.perf_counter() + timeout
            while len(seen) < len(ids) and time.perf_counter() < deadline:
                with tenant_context(tenant):
                    done = MessageAnalysis.objects.filter(
                        tenant=tenant, message_id__in=list(ids - set(seen))
                    ).values_list("message_id", flat=True)
                    now = time.perf_counter()
                    for pk in done:
                        seen[pk] = now - starts[pk]
                time.sleep(0.002)
            return seen

        # light load: one message at a time, a pause between
        latencies, visible = [], []
        for _ in range(args.messages):
            pk, public_id, started = post(rng.choice(texts))
            latencies.extend(wait_for({pk}, {pk: started}, 30).values())
            visible.extend(t - started for t in pages.wait({public_id}, 30).values())
            time.sleep(args.pause)
        connection.close()
        missed_total += args.messages - len(visible)
        print(
            f"light load ({args.messages} messages, one at a time, {args.pause * 1000:.0f} ms "
            f"apart, {args.workers} worker process(es)):\n"
            f"  stored -> analysis committed: {latency_line(latencies)} "
            f"({len(latencies)}/{args.messages} analysed)\n"
            f"  stored -> visible on the ticket page: {latency_line(visible)} "
            f"({misses_line(args.messages, len(visible), pages.lost)})",
            flush=True,
        )
        # burst: N messages as fast as one client can store them, while a second thread (its
        # own database connection) watches for the analyses as they are committed and the pages'
        # thread notes the notices as they arrive
        starts: dict[int, float] = {}
        public_ids: dict[str, float] = {}
        found: dict[int, float] = {}
        storing = threading.Event()
        storing.set()

        def watch() -> None:
            deadline = time.perf_counter() + 600
            while (storing.is_set() or len(found) < len(starts)) and (
                time.perf_counter() < deadline
            ):
                waiting = [pk for pk in list(starts) if pk not in found]
                if waiting:
                    with tenant_context(tenant):
                        done = MessageAnalysis.objects.filter(
                            tenant=tenant, message_id__in=waiting
                        ).values_list("message_id", flat=True)
                        now = time.perf_counter()
                        for pk in done:
                            found[pk] = now
                time.sleep(0.005)
            connection.close()

        watcher = threading.Thread(target=watch)
        burst_started = time.perf_counter()
        watcher.start()
        for _ in range(args.burst):
            pk, public_id, started = post(rng.choice(texts))
            starts[pk] = started
            public_ids[public_id] = started
        stored = time.perf_counter() - burst_started
        storing.clear()
        watcher.join(timeout=610)
        arrived = pages.wait(set(public_ids), max(30, 610 - (time.perf_counter() - burst_started)))
        seen = {pk: found[pk] - starts[pk] for pk in found}
        burst = list(seen.values())
        burst_visible = [arrived[pid] - public_ids[pid] for pid in arrived]
        missed_total += args.burst - len(arrived)
        if found:
            total = max(found.values()) - burst_started
            summary = f"all analysed after {total:.1f} s ({len(seen) / total:.0f} msg/s)"
        else:
            summary = "nothing analysed"
        if arrived:
            summary += f", all visible after {max(arrived.values()) - burst_started:.1f} s"
        print(
            f"burst of {args.burst} (stored in {stored:.1f} s): {summary}\n"
            f"  stored -> analysis committed: {latency_line(burst, 's')} "
            f"({len(burst)}/{args.burst} analysed)\n"
            f"  stored -> visible on the ticket page: {latency_line(burst_visible, 's')} "
            f"({misses_line(args.burst, len(arrived), pages.lost)})",
            flush=True,
        )
        sizes = worker_rss(workers)
        print(f"worker pool processes RSS/peak/PSS: {', '.join(sizes)} MB")
        print(
            f"notices received: {pages.notices} on {len(tickets)} open ticket pages; load average "
            f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores at the end"
        )
    finally:
        if pages is not None:
            pages.close()
        stop_workers(workers)
        server.terminate()
        server.wait(timeout=20)
    if missed_total:
        sys.exit(f"{missed_total} message(s) never became visible on their ticket page")


# --- 3. re-analysis -----------------------------------------------------------------------------


def bench_reanalyse(args) -> None:
    django_setup()
    from django.core.management import call_command
    from django.db.models import Max
    from django.utils import timezone

    from helpdesk.tenancy.context import tenant_context
    from tickets import services
    from tickets.models import Message, MessageAnalysis, Ticket

    tenant = bench_tenant()
    customer, _ = services.customer_get_or_create(tenant=tenant, email="bench@example.com")
    texts = dev_texts()
    rng = random.Random(5)
    with tenant_context(tenant):
        existing = Message.objects.for_tenant(tenant).filter(author_type="customer").count()
    if existing < args.messages:
        # Realistic conversations: five customer messages per ticket, on as many tickets.
        missing = args.messages - existing
        now = timezone.now()
        with tenant_context(tenant):
            top = Ticket.objects.for_tenant(tenant).aggregate(top=Max("number"))["top"] or 0
            base = max(top, 1_000_000)  # above the numbers the ticket counter hands out
            tickets = Ticket.objects.bulk_create(
                [
                    Ticket(
                        tenant=tenant,
                        number=base + 1 + i,
                        subject=f"Bulk {i}",
                        customer=customer,
                        created_at=now,
                        updated_at=now,
                    )
                    for i in range(-(-missing // 5))
                ],
                batch_size=2000,
            )
            Message.objects.bulk_create(
                [
                    Message(
                        tenant=tenant,
                        ticket=tickets[i // 5],
                        author_type="customer",
                        author_customer=customer,
                        body_text=rng.choice(texts),
                        channel="email",
                        created_at=now,
                        analysis_state="done",
                    )
                    for i in range(missing)
                ],
                batch_size=2000,
            )
    with tenant_context(tenant):
        ids = list(
            Message.objects.for_tenant(tenant)
            .filter(author_type="customer")
            .order_by("pk")
            .values_list("pk", flat=True)[: args.messages]
        )
        # Every one of them analysed by an "old model": all are outdated now.
        MessageAnalysis.objects.for_tenant(tenant).filter(message_id__in=ids).update(
            analysed_at=timezone.now() - timezone.timedelta(days=1), model_version="old"
        )
    workers = start_workers(args.workers)
    try:
        warm_up(tenant, customer, args.workers)
        from tickets.analysis.head import HEAD_PATH, Head

        current = Head.load(HEAD_PATH).version
        with tenant_context(tenant):  # the warm-up batch may have analysed a few already
            MessageAnalysis.objects.for_tenant(tenant).filter(message_id__in=ids).update(
                model_version="old"
            )
        started, cpu_before = time.perf_counter(), worker_cpu_seconds(workers)
        load_before = os.getloadavg()[0]
        call_command(
            "analysis_reanalyse",
            tenant=tenant.slug,
            enqueue=True,
            outdated=True,
            batch_size=args.batch_size,
            no_progress=True,
        )
        deadline = time.perf_counter() + 3600
        done = 0
        while time.perf_counter() < deadline:
            with tenant_context(tenant):
                outdated = (
                    MessageAnalysis.objects.filter(tenant=tenant, message_id__in=ids)
                    .exclude(model_version=current)
                    .count()
                )
                missing = (
                    len(ids)
                    - MessageAnalysis.objects.filter(tenant=tenant, message_id__in=ids).count()
                )
            done = len(ids) - outdated - missing
            if done >= len(ids):
                break
            time.sleep(0.5)
        elapsed = time.perf_counter() - started
        cpu = worker_cpu_seconds(workers) - cpu_before
        sizes = worker_rss(workers)
    finally:
        stop_workers(workers)
    rate = done / elapsed
    print(
        f"re-analysed {done} messages with {args.workers} worker processes in {elapsed:.0f} s: "
        f"{rate:.0f} msg/s -> 1,000,000 messages in {1_000_000 / rate / 3600:.1f} h"
    )
    print(f"worker pool processes RSS/peak/PSS: {', '.join(sizes)} MB")
    per_cpu = done / cpu
    print(
        f"workers' CPU: {cpu:.0f} s for {done} messages = {per_cpu:.0f} msg per worker "
        f"CPU-second (load average {load_before:.1f} on {os.cpu_count()} cores during the run); "
        f"2 workers on 2 free cores: about {2 * per_cpu:.0f} msg/s -> 1,000,000 in "
        f"{1_000_000 / (2 * per_cpu) / 3600:.1f} h, PostgreSQL's own CPU not included"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)
    one = sub.add_parser("analyser")
    one.add_argument("--messages", type=int, default=2000)
    one.add_argument("--latency", type=int, default=1000)
    two = sub.add_parser("pipeline")
    two.add_argument("--messages", type=int, default=200)
    two.add_argument("--pause", type=float, default=0.2)
    two.add_argument("--burst", type=int, default=1000)
    two.add_argument("--workers", type=int, default=1)
    three = sub.add_parser("reanalyse")
    three.add_argument("--messages", type=int, default=20000)
    three.add_argument("--workers", type=int, default=2)
    three.add_argument("--batch-size", type=int, default=64)
    args = parser.parse_args()
    {"analyser": bench_analyser, "pipeline": bench_pipeline, "reanalyse": bench_reanalyse}[
        args.command
    ](args)


if __name__ == "__main__":
    main()
