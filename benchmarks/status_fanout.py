"""Fan-out of the live status page: 1,000 status pages on one ASGI server process, against a
bare ``websockets`` server broadcasting through Redis pub/sub, measured in the same run.

What is measured, per round (one change), for each variant:

- **ours**: an agent's status change (``ticket_set_status``, alternating pending/open) on a
  ticket whose status page is open 1,000 times (1,000 sockets on ``/ws/status/<token>/``, one
  uvicorn process, the Redis channel layer). The clock starts when the change commits (the first
  ``on_commit`` callback) and stops when the last of the 1,000 pages has received the event.
  Everything in between is the real path: the customer-safe payload and summary built after
  commit, ``group_send`` to the status group, the consumers' de-duplication and sends.
- **bare**: a ``websockets`` server subscribed to a Redis pub/sub channel, broadcasting each
  message to its 1,000 clients (``websockets.broadcast``); the clock starts right before
  ``PUBLISH`` and stops at the last receipt. The message is the same JSON as ours.

All servers run at once, each with its own 1,000 connected clients, and the rounds are
interleaved (bare, ours, ...; the first variant rotates), so every variant sees the same
background load: on a shared 2-core machine that matters more than anything else. The clients
live in one separate process (uvloop, ``websockets`` client), identical for every variant; they
parse every message and note its arrival time (``time.time()``, the same clock as the driver's).
Reported: p50 and p99 over the rounds of the time to the *last* page, the median time to a page,
delivery completeness, and each server's memory per connection (RSS growth from before its first
connection to after its last, divided by the pages).

Needs PostgreSQL and Redis; run from the repository root:

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/helpdesk_status \\
    REDIS_URL=redis://127.0.0.1:6379/0 \\
    .venv/bin/python benchmarks/status_fanout.py --pages 1000 --rounds 100

``--layers core,pubsub`` also measures channels_redis' ``RedisPubSubChannelLayer`` (a ticket of
its own, a server of its own); ``--ws`` chooses uvicorn's WebSocket implementation (production's
docker-compose runs ``websockets``; ``websockets-sansio`` is uvicorn's ``auto``).
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import multiprocessing
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = Path(__file__).resolve().parent
BARE_CHANNEL = "bench:status-fanout:bare"


# --- helpers -----------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"nothing listens on port {port}")


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(share * (len(ordered) - 1))))
    return ordered[index]


def message_key(text: str):
    message = json.loads(text)
    if message.get("type") == "update" and message.get("events"):
        return message["events"][-1]["cursor"]
    return None


# --- the bare baseline server (a subprocess of this script) --------------------------------------


async def serve_bare(port: int, redis_url: str) -> None:
    import redis.asyncio as aioredis
    from websockets.asyncio.server import broadcast, serve

    clients: set = set()

    async def handler(websocket) -> None:
        clients.add(websocket)
        try:
            await websocket.send(json.dumps({"type": "ready"}))
            await websocket.wait_closed()
        finally:
            clients.discard(websocket)

    redis = aioredis.from_url(redis_url)
    pubsub = redis.pubsub()
    await pubsub.subscribe(BARE_CHANNEL)
    # The library's defaults, like uvicorn's on our side (both ping every 20 s).
    async with serve(handler, "127.0.0.1", port):
        async for message in pubsub.listen():
            if message["type"] == "message":
                broadcast(clients, message["data"].decode())


# --- the clients (a separate process) ------------------------------------------------------------


def clients_main(conn) -> None:
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    asyncio.run(_clients(conn))


async def _clients(conn) -> None:
    from websockets.asyncio.client import connect

    loop = asyncio.get_running_loop()
    inbox: asyncio.Queue = asyncio.Queue()

    def listen() -> None:  # blocking reads in a thread: commands can be larger than the pipe
        while True:
            command = conn.recv()
            loop.call_soon_threadsafe(inbox.put_nowait, command)
            if command[0] == "exit":
                return

    threading.Thread(target=listen, daemon=True).start()
    receipts: dict = defaultdict(list)
    expected: dict = {}
    sockets: list = []
    readers: list = []

    def note(key, at: float) -> None:
        receipts[key].append(at)
        if key in expected and len(receipts[key]) >= expected[key]:
            del expected[key]
            conn.send(("done", key, receipts[key]))

    async def read(websocket) -> None:
        try:
            async for text in websocket:
                at = time.time()
                key = message_key(text)
                if key is not None:
                    note(key, at)
        except Exception:  # noqa: S110 - a dropped socket shows as a missing delivery
            pass

    async def open_one(url: str, origin: str, gate: asyncio.Semaphore) -> None:
        async with gate:
            websocket = await connect(
                url, origin=origin, open_timeout=60, ping_interval=None, max_queue=None
            )
            while True:  # a replay may come first; the page is live once it is "ready"
                first = json.loads(await asyncio.wait_for(websocket.recv(), 60))
                if first.get("type") == "ready":
                    break
            sockets.append(websocket)
            readers.append(asyncio.create_task(read(websocket)))

    while True:
        command = await inbox.get()
        if command[0] == "connect":
            _, urls, origin = command
            gate = asyncio.Semaphore(50)
            results = await asyncio.gather(
                *(open_one(url, origin, gate) for url in urls), return_exceptions=True
            )
            failures = [repr(r) for r in results if isinstance(r, BaseException)]
            conn.send(("connected", len(results) - len(failures), failures[:3]))
        elif command[0] == "expect":
            _, key, count = command
            if len(receipts[key]) >= count:
                conn.send(("done", key, receipts[key]))
            else:
                expected[key] = count
        elif command[0] == "report":
            _, key = command
            expected.pop(key, None)
            conn.send(("partial", key, receipts.get(key, [])))
        elif command[0] == "close":
            for websocket in sockets:
                await websocket.close()
            for task in readers:
                task.cancel()
            sockets.clear()
            readers.clear()
            receipts.clear()
            conn.send(("closed",))
        elif command[0] == "exit":
            conn.send(("bye",))
            return


# --- the driver --------------------------------------------------------------------------------


class Clients:
    def __init__(self) -> None:
        context = multiprocessing.get_context("spawn")
        self.conn, child = context.Pipe()
        self.process = context.Process(target=clients_main, args=(child,), daemon=True)
        self.process.start()

    def ask(self, *command, timeout: float = 120.0):
        self.conn.send(command)
        if not self.conn.poll(timeout):
            raise TimeoutError(f"clients did not answer {command[0]}")
        return self.conn.recv()

    def wait_round(self, key, count: int, timeout: float = 15.0) -> tuple[list[float], bool]:
        self.conn.send(("expect", key, count))
        if self.conn.poll(timeout):
            answer = self.conn.recv()
            return answer[2], True
        answer = self.ask("report", key)
        return answer[2], False

    def stop(self) -> None:
        self.ask("exit")
        self.process.join(10)


def server_env(layer: str) -> dict:
    env = dict(os.environ)
    env["DJANGO_SETTINGS_MODULE"] = "fanout_settings"
    env["HELPDESK_BENCH_CHANNEL_LAYER"] = layer
    env["PYTHONPATH"] = os.pathsep.join([str(BENCH_DIR), str(ROOT), env.get("PYTHONPATH", "")])
    return env


def start_ours(port: int, layer: str, ws: str) -> subprocess.Popen:
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        "helpdesk.asgi:application",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--ws",
        ws,
        "--lifespan",
        "off",
        "--log-level",
        "warning",
        "--no-access-log",
    ]
    return subprocess.Popen(command, cwd=ROOT, env=server_env(layer))


def start_bare(port: int) -> subprocess.Popen:
    command = [sys.executable, __file__, "--serve-bare", str(port)]
    return subprocess.Popen(command, cwd=ROOT, env=server_env("core"))


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(5)


def setup_world(tickets: int):
    """A tenant, an agent, and ``tickets`` tickets (one per variant of ours)."""
    from django.core.management import call_command

    from helpdesk.accounts.models import User
    from helpdesk.tenancy.models import Membership, Tenant
    from helpdesk.tenancy.policy import Role
    from tickets import services

    call_command("migrate", verbosity=0)
    tenant, _ = Tenant.objects.get_or_create(
        slug="bench-status",
        defaults={
            "name": "Bench Status",
            "reference_prefix": "BENCH",
            "time_zone": "Europe/Berlin",
        },
    )
    agent, _ = User.objects.get_or_create(
        email="agent@bench-status.test", defaults={"full_name": "Dana Bench"}
    )
    Membership.objects.get_or_create(tenant=tenant, user=agent, defaults={"role": Role.AGENT})
    customer, _ = services.customer_get_or_create(
        tenant=tenant, email="customer@bench-status.test", name="Grace Bench"
    )
    made = []
    for _ in range(tickets):
        ticket = services.ticket_create(
            tenant=tenant,
            customer=customer,
            subject="Fan-out benchmark",
            body="How fast does a change reach a thousand pages?",
        )
        services.message_create(
            tenant=tenant, ticket=ticket, body="Dana here, looking into it.", author_user=agent
        )
        made.append(ticket)
    return tenant, agent, made


def sample_payload(tenant, ticket) -> str:
    """The JSON our pages receive for a status change (the bare baseline sends the same)."""
    from helpdesk.tenancy.context import tenant_context
    from tickets import selectors_status
    from tickets.services.status import status_group_message, status_summary_for

    with tenant_context(tenant):
        ticket = selectors_status.status_ticket_get(tenant=tenant, ticket_id=ticket.pk)
        entries = selectors_status.status_timeline(tenant=tenant, ticket=ticket)
        summary = status_summary_for(tenant=tenant, ticket=ticket)
    update = next(e for e in reversed(entries) if e.kind == "update")
    return status_group_message(group="", events=[update.as_dict()], summary=summary)["text"]


def mark(times: list[float]) -> None:
    times.append(time.time())


def layer_config(layer: str) -> dict:
    backend = {
        "core": "channels_redis.core.RedisChannelLayer",
        "pubsub": "channels_redis.pubsub.RedisPubSubChannelLayer",
    }[layer]
    return {
        "default": {
            "BACKEND": backend,
            "CONFIG": {
                "hosts": [os.environ["REDIS_URL"]],
                "prefix": f"{os.environ['HELPDESK_KEY_PREFIX']}:asgi",
            },
        }
    }


class Variant:
    """One server with its pages connected; ``change()`` makes one change, returns (key, t0)."""

    name = ""

    def __init__(self, clients: Clients, pages: int) -> None:
        self.clients, self.pages = clients, pages
        self.latencies: list[float] = []
        self.medians: list[float] = []
        self.delivered = self.complete = self.rounds = 0
        self.server: subprocess.Popen | None = None
        self.rss = (0, 0)

    def connect(self, port: int, urls: list[str]) -> None:
        wait_for_port(port)
        time.sleep(1.0)
        before = rss_kib(self.server.pid)
        answer = self.clients.ask("connect", urls, f"http://127.0.0.1:{port}", timeout=900)
        if answer[1] != len(urls):
            raise RuntimeError(f"{self.name}: {answer[1]} of {len(urls)} connected: {answer[2]}")
        time.sleep(1.0)
        self.rss = (before, rss_kib(self.server.pid))

    def round(self, measured: bool) -> None:
        key, started = self.change()
        times, done = self.clients.wait_round(key, self.pages)
        if not measured:
            return
        self.rounds += 1
        self.delivered += len(times)
        self.complete += done
        if times:
            self.latencies.append(max(times) - started)
            self.medians.append(statistics.median(times) - started)

    def result(self) -> dict:
        return {
            "variant": self.name,
            "latencies": self.latencies,
            "medians": self.medians,
            "delivered": self.delivered,
            "expected": self.pages * self.rounds,
            "complete_rounds": self.complete,
            "rss_before_kib": self.rss[0],
            "rss_after_kib": self.rss[1],
        }

    def stop(self) -> None:
        if self.server is not None:
            stop(self.server)


class Bare(Variant):
    name = "bare websockets + Redis pub/sub"

    def __init__(self, clients: Clients, pages: int, payload: str) -> None:
        import redis

        super().__init__(clients, pages)
        port = free_port()
        self.server = start_bare(port)
        self.publisher = redis.Redis.from_url(os.environ["REDIS_URL"])
        self.template = json.loads(payload)
        self.next_key = 10**12
        self.connect(port, [f"ws://127.0.0.1:{port}/" for _ in range(pages)])

    def change(self) -> tuple[int, float]:
        self.next_key += 1
        self.template["events"][-1]["cursor"] = self.next_key
        text = json.dumps(self.template)
        started = time.time()
        self.publisher.publish(BARE_CHANNEL, text)
        return self.next_key, started


class Ours(Variant):
    def __init__(self, clients: Clients, pages: int, layer: str, ws: str, world, ticket) -> None:
        from helpdesk.tenancy.context import tenant_context
        from tickets import selectors_status
        from tickets.services.status import status_viewer_token

        super().__init__(clients, pages)
        self.name = f"ours ({layer} layer, uvicorn --ws {ws})"
        self.layer = layer
        self.tenant, self.agent, _ = world
        self.ticket = ticket
        self.flip = 0
        with tenant_context(self.tenant):
            link = selectors_status.status_link_active_for(tenant=self.tenant, ticket_id=ticket.pk)
            cursor = selectors_status.status_latest_cursor(tenant=self.tenant, ticket=ticket)
        port = free_port()
        self.server = start_ours(port, layer, ws)
        # Pages open with the cursor of the newest event they show (the replay finds nothing).
        urls = [
            f"ws://127.0.0.1:{port}/ws/status/{status_viewer_token(link=link)}/?cursor={cursor}"
            for _ in range(pages)
        ]
        self.connect(port, urls)

    def change(self) -> tuple[int, float]:
        from django.db import transaction
        from django.test import override_settings

        from helpdesk.tenancy.context import tenant_context
        from tickets import services
        from tickets.models import TicketEvent

        self.flip += 1
        committed: list[float] = []
        with override_settings(CHANNEL_LAYERS=layer_config(self.layer)):
            with transaction.atomic():
                transaction.on_commit(functools.partial(mark, committed))
                services.ticket_set_status(
                    tenant=self.tenant,
                    actor=self.agent,
                    ticket=self.ticket,
                    status="pending" if self.flip % 2 else "open",
                )
        with tenant_context(self.tenant):
            key = TicketEvent.objects.filter(ticket=self.ticket).latest("pk").pk
        return key, committed[0]


def report(result: dict, pages: int) -> dict:
    ms = [v * 1000 for v in result["latencies"]]
    per_page = [v * 1000 for v in result["medians"]]
    summary = {
        "variant": result["variant"],
        "p50_last_ms": round(percentile(ms, 0.50), 1),
        "p99_last_ms": round(percentile(ms, 0.99), 1),
        "max_last_ms": round(max(ms), 1) if ms else None,
        "median_page_ms": round(statistics.median(per_page), 1) if per_page else None,
        "delivered": f"{result['delivered']}/{result['expected']}",
        "complete_rounds": result["complete_rounds"],
        "rss_per_connection_kib": round(
            (result["rss_after_kib"] - result["rss_before_kib"]) / pages, 1
        ),
        "rss_kib": [result["rss_before_kib"], result["rss_after_kib"]],
    }
    print(json.dumps(summary), flush=True)
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=100)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--gap", type=float, default=0.2, help="seconds between rounds")
    parser.add_argument("--layers", default="core", help="core, pubsub or core,pubsub")
    parser.add_argument("--ws", default="websockets", help="uvicorn --ws implementation")
    parser.add_argument("--serve-bare", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.serve_bare:
        try:
            import uvloop

            uvloop.install()
        except ImportError:
            pass
        asyncio.run(serve_bare(args.serve_bare, os.environ["REDIS_URL"]))
        return

    if not os.environ.get("DATABASE_URL", "").startswith("postgres") or not os.environ.get(
        "REDIS_URL"
    ):
        sys.exit("Set DATABASE_URL=postgres://... and REDIS_URL=redis://... (see the docstring).")
    os.environ.setdefault("HELPDESK_KEY_PREFIX", f"bench-fanout-{os.getpid()}")
    os.environ.setdefault("DJANGO_DEBUG", "false")
    os.environ["DJANGO_SETTINGS_MODULE"] = "fanout_settings"
    sys.path[:0] = [str(BENCH_DIR), str(ROOT)]
    import django

    django.setup()

    layers = [layer.strip() for layer in args.layers.split(",") if layer.strip()]
    world = setup_world(len(layers))
    payload = sample_payload(world[0], world[2][0])
    print(
        json.dumps(
            {
                "pages": args.pages,
                "rounds": args.rounds,
                "payload_bytes": len(payload.encode()),
                "cpus": os.cpu_count(),
                "loadavg_start": os.getloadavg(),
            }
        ),
        flush=True,
    )
    clients = Clients()
    variants: list[Variant] = []
    try:
        variants.append(Bare(clients, args.pages, payload))
        for layer, ticket in zip(layers, world[2], strict=True):
            variants.append(Ours(clients, args.pages, layer, args.ws, world, ticket))
        # Interleaved rounds (the starting variant rotates): every variant sees the same
        # background load, which matters on a shared 2-core machine.
        for round_ in range(args.warmup + args.rounds):
            for offset in range(len(variants)):
                variants[(round_ + offset) % len(variants)].round(round_ >= args.warmup)
                time.sleep(args.gap)
        results = [report(variant.result(), args.pages) for variant in variants]
    finally:
        for variant in variants:
            variant.stop()
        clients.stop()
    print(json.dumps({"loadavg_end": os.getloadavg()}), flush=True)
    bare = results[0]
    for result in results[1:]:
        print(
            json.dumps(
                {
                    "variant": result["variant"],
                    "p99_vs_bare": round(result["p99_last_ms"] / bare["p99_last_ms"], 2),
                    "p99_target_ms": round(2 * bare["p99_last_ms"], 1),
                    "p50_target_ms": 125,
                    "meets_targets": result["p99_last_ms"] <= 2 * bare["p99_last_ms"]
                    and result["p50_last_ms"] <= 125
                    and result["delivered"].split("/")[0] == result["delivered"].split("/")[1],
                }
            ),
            flush=True,
        )


if __name__ == "__main__":
    main()
