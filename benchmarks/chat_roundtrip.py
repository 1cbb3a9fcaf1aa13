"""Live chat round trip between two WebSocket clients through the Redis channel layer.

Starts the ASGI server (uvicorn, one process, like the ``realtime`` service) on PostgreSQL as the
application role and Redis, opens ``--chats`` chats at once, each with a customer socket (the
widget's route) and an agent socket (the agents' page), and measures for ``--rounds`` rounds per
chat:

- message round trip: the customer sends a message, the agent receives it, answers at once, and
  the customer receives the answer (two stored messages, each delivered on commit);
- one way: customer send to agent receive (one stored message);
- typing round trip: a typing signal to the agent and one back (channel layer only, no database).

Usage (see benchmarks/README.md for the database setup):

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/helpdesk_chat \\
    REDIS_URL=redis://127.0.0.1:6379/9 \\
    .venv/bin/python benchmarks/chat_roundtrip.py --chats 10 --rounds 50
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import secrets
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "helpdesk.settings.base")

SLUG = "chatbench"
AGENT_EMAIL = "agent@chatbench.test"


def seed() -> tuple[int, str]:
    """The benchmark tenant and agent (idempotent), and a signed-in session for the agent."""
    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    from helpdesk.accounts.models import User
    from helpdesk.tenancy.models import Membership, Tenant
    from helpdesk.tenancy.policy import Role

    if not settings.IS_POSTGRES or not settings.REDIS_URL:
        sys.exit("Set DATABASE_URL (PostgreSQL) and REDIS_URL: the benchmark needs both.")
    tenant, _ = Tenant.objects.get_or_create(
        slug=SLUG, defaults={"name": "Chat bench", "reference_prefix": "CHB"}
    )
    user, created = User.objects.get_or_create(
        email=AGENT_EMAIL, defaults={"full_name": "Bea Bench"}
    )
    if created:
        user.set_unusable_password()
        user.save()
    Membership.objects.get_or_create(tenant=tenant, user=user, defaults={"role": Role.AGENT})
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.save()
    return tenant.pk, session.session_key


def chat_public_id(tenant_id: int, token: str) -> str:
    from helpdesk.tenancy.context import tenant_context
    from helpdesk.tenancy.models import Tenant
    from tickets.models import ChatSession

    tenant = Tenant.objects.get(pk=tenant_id)
    with tenant_context(tenant):
        digest = hashlib.sha256(token.encode()).hexdigest()
        return str(ChatSession.objects.for_tenant(tenant).get(token_hash=digest).public_id)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(port: int, workers: int) -> subprocess.Popen:
    env = {
        **os.environ,
        "DJANGO_DEBUG": "false",
        "HELPDESK_DB_ASSUME_ROLE": os.environ.get("HELPDESK_DB_ASSUME_ROLE", "helpdesk_app"),
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "HELPDESK_LOG_LEVEL": "WARNING",
        # Abuse limits, not throughput caps: a benchmark chats much faster than people do.
        "HELPDESK_CHAT_NEW_PER_IP": "1000000",
        "HELPDESK_CHAT_FRAMES_PER_10S": "1000000",
    }
    command = [
        str(ROOT / ".venv/bin/uvicorn"),
        "helpdesk.asgi:application",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--ws",
        "websockets-sansio",  # as the realtime service in docker-compose.yml
        "--log-level",
        "warning",
        "--no-access-log",
        "--workers",
        str(workers),
    ]
    process = subprocess.Popen(command, cwd=ROOT, env=env)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return process
        except OSError:
            time.sleep(0.1)
    process.kill()
    sys.exit("uvicorn did not start")


class Peer:
    def __init__(self, connection) -> None:
        self.connection = connection

    async def send(self, **frame) -> None:
        await self.connection.send(json.dumps(frame))

    async def wait(self, predicate, timeout: float = 10) -> dict:
        while True:
            frame = json.loads(await asyncio.wait_for(self.connection.recv(), timeout))
            if predicate(frame):
                return frame


def is_message(body: str):
    return lambda f: f["type"] == "message" and f["message"]["body"] == body


async def one_chat(index: int, port: int, tenant_id: int, cookie: str, rounds: int, warmup: int):
    from asgiref.sync import sync_to_async
    from websockets.asyncio.client import connect

    base = f"ws://127.0.0.1:{port}"
    token = secrets.token_hex(32)
    customer = Peer(
        await connect(f"{base}/ws/chat/{SLUG}/", origin="https://shop.example", proxy=None)
    )
    await customer.send(type="hello", token=token, cursor=0)
    await customer.wait(lambda f: f["type"] == "ready")
    await customer.send(type="message", id=f"c{index:04d}-start", body=f"chat {index}", token=token)
    await customer.wait(is_message(f"chat {index}"))
    chat = await sync_to_async(chat_public_id)(tenant_id, token)

    agent = Peer(
        await connect(
            f"{base}/ws/t/{SLUG}/chat/",
            origin=f"http://127.0.0.1:{port}",
            additional_headers={"Cookie": f"sessionid={cookie}"},
            proxy=None,
        )
    )
    await agent.wait(lambda f: f["type"] == "hello")
    await agent.send(action="open", chat=chat, cursor=0)
    await agent.wait(is_message(f"chat {index}"))

    round_trips, one_way, typing = [], [], []
    for n in range(rounds + warmup):
        question, answer = f"q {index}.{n}", f"a {index}.{n}"
        started = time.perf_counter()
        await customer.send(type="message", id=f"c{index:04d}-{n:06d}", body=question, token=token)
        await agent.wait(is_message(question))
        arrived = time.perf_counter()
        await agent.send(action="message", chat=chat, id=f"a{index:04d}-{n:06d}", body=answer)
        await customer.wait(is_message(answer))
        done = time.perf_counter()

        typing_started = time.perf_counter()
        await customer.send(type="typing", typing=True)
        await agent.wait(lambda f: f["type"] == "typing" and f["typing"])
        await agent.send(action="typing", chat=chat, typing=True)
        await customer.wait(lambda f: f["type"] == "typing" and f["typing"])
        typing_done = time.perf_counter()
        if n >= warmup:
            round_trips.append((done - started) * 1000)
            one_way.append((arrived - started) * 1000)
            typing.append((typing_done - typing_started) * 1000)
    await customer.connection.close()
    await agent.connection.close()
    return round_trips, one_way, typing


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process and its children (Linux), to tell the server's own
    cost per message from time spent waiting for a busy machine."""

    def stat(path: Path) -> list[str]:
        try:
            return path.read_text().rsplit(")", 1)[1].split()
        except OSError:
            return []

    total = 0
    for path in Path("/proc").glob("[0-9]*/stat"):
        fields = stat(path)
        if fields and (path.parent.name == str(pid) or fields[1] == str(pid)):
            total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def summary(name: str, values: list[float]) -> dict:
    ordered = sorted(values)

    def pct(p: float) -> float:
        return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]

    return {
        "measure": name,
        "samples": len(ordered),
        "mean_ms": round(statistics.fmean(ordered), 2),
        "p50_ms": round(pct(50), 2),
        "p95_ms": round(pct(95), 2),
        "p99_ms": round(pct(99), 2),
        "max_ms": round(ordered[-1], 2),
    }


async def run(args, port: int, tenant_id: int, cookie: str, server_pid: int) -> list[dict]:
    cpu_before = cpu_seconds(server_pid)
    started = time.perf_counter()
    results = await asyncio.gather(
        *(one_chat(i, port, tenant_id, cookie, args.rounds, args.warmup) for i in range(args.chats))
    )
    elapsed = time.perf_counter() - started
    cpu = cpu_seconds(server_pid) - cpu_before
    round_trips = [v for r in results for v in r[0]]
    one_way = [v for r in results for v in r[1]]
    typing = [v for r in results for v in r[2]]
    stored = 2 * (args.rounds + args.warmup) * args.chats
    rows = [
        summary("message round trip (customer -> agent -> customer)", round_trips),
        summary("message one way (customer -> agent)", one_way),
        summary("typing round trip (no database)", typing),
    ]
    for row in rows:
        row["chats"] = args.chats
    print(
        f"{args.chats} chats x {args.rounds} rounds in {elapsed:.1f} s, "
        f"{stored / elapsed:.0f} stored messages/s; server CPU {cpu:.1f} s "
        f"({cpu * 1000 / stored:.1f} ms per stored message, typing included); "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--chats", type=int, default=10, help="concurrent chats (2 sockets each)")
    parser.add_argument("--rounds", type=int, default=50, help="measured rounds per chat")
    parser.add_argument("--warmup", type=int, default=3, help="unmeasured rounds per chat first")
    parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()

    tenant_id, cookie = seed()
    port = free_port()
    server = start_server(port, args.workers)
    try:
        rows = asyncio.run(run(args, port, tenant_id, cookie, server.pid))
    finally:
        server.terminate()
        server.wait(timeout=20)
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        for row in rows:
            print(
                f"{row['measure']:<52} n={row['samples']:<5} p50={row['p50_ms']:>7.2f} ms  "
                f"p95={row['p95_ms']:>7.2f} ms  p99={row['p99_ms']:>7.2f} ms  max={row['max_ms']:>7.2f} ms"
            )


if __name__ == "__main__":
    main()
