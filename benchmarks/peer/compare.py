"""Our helpdesk against its Django peer, django-helpdesk, side by side in one run.

    benchmarks/peer/setup_peer.sh          # once: the peer, its project and its data
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/helpdesk_bench REDIS_URL=redis://127.0.0.1:6379/12 \\
      .venv/bin/python benchmarks/peer/compare.py --duration 30 --rounds 2

Serves both with the same server settings: gunicorn, 2 sync workers, DEBUG off, PostgreSQL (ours
through benchmarks/serve.sh, as the row-level-security-bound application role). Signs in to both
through their login forms, then measures with wrk, interleaved (ours, peer, ours, peer, ...) so
that both see the same machine load:

- queue: our queue page (its rows are in the HTML) against one "open" of the peer's ticket list:
  the page plus the data request its DataTables script sends (recorded from a real Chromium, so
  the URL and parameters are exactly the browser's); the peer's page and data request are also
  measured alone;
- ticket page: a random one of the 100,000 tickets on each side;
- creation through the public form (ours: the help centre's contact form; the peer's public
  submission form), anonymous, with a CSRF token, as a browser posts it;
- creation through the API (ours: POST /api/v1/t/<slug>/tickets/ with an API key; the peer's
  REST API, POST /helpdesk/api/tickets/ with a staff session and its CSRF token: the peer ships
  DRF's session and basic authentication only, and basic authentication would hash the password
  on every request);
- dashboard: our manager dashboard (/t/<slug>/dashboards/, signed in as the tenant admin) against
  the peer's dashboard (/helpdesk/dashboard/), with 2 connections (one request per worker, so
  the latency is the time to build the page).

Then (`floor`) the least a request of each kind costs on our stack, from the same server
settings: an empty signed-in tenant page, the same with the page's frame (base.html), an
anonymous form post and an API-key post that each store one row (benchmarks/peer/floor_urls.py,
served with benchmarks/peer/floor_settings.py; the row goes into a table `bench_floor` that the
run creates and drops). Beside each target it prints the floor's own ratio to the peer: no page
or creation of ours can pass the ratio of the empty request of its kind.

Then (unless --no-layouts) our two HTTP layouts for the queue and ticket pages: gunicorn (2 sync
workers, the `web` service of docker-compose.yml) against a single ASGI process (uvicorn with 2
workers, the ASGI application that also serves the WebSockets).

It prints every run (requests/s, p50, p99, non-2xx, errors, load average before and after), the
medians per side, and the ratios against the targets of the issue: queue >= 100x, ticket page
>= 8x, creation >= 3x, dashboard time <= 1/10 of the peer's.

Writes to our database only what a run adds: the tickets created by the creation runs, an API
key named "peer comparison" (kept in $PEER_DIR/ours-api-key-<slug> and reused by later runs),
and, when the bench tenant has none yet (unless --no-build-rollups), the dashboard's rollups,
which the dashboard itself asks a worker to build. No Celery worker runs:
at the end the script removes from REDIS_URL's queues the tasks its servers enqueued (and only
those). Our cache is in REDIS_URL too: give the run a Redis database that no other helpdesk
server uses.
"""

from __future__ import annotations

import argparse
import http.cookiejar
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
# Our code: this tree, or OURS_DIR (e.g. `git archive HEAD | tar -x -C DIR` plus a .venv link)
# to measure a committed state while the tree is being edited.
OURS = Path(os.environ.get("OURS_DIR", ROOT)).resolve()
PASSWORD = "bench-pass-123"  # noqa: S105 (local benchmark logins)
TARGETS = {"queue": 100.0, "ticket": 8.0, "form": 3.0, "api": 3.0, "dashboard": 0.1}
# The floor figure (the empty request of the kind) that bounds each target from above.
FLOOR_OF = {"queue": "chrome page", "ticket": "chrome page", "form": "form post", "api": "api post"}


# --- servers ------------------------------------------------------------------------------------


@dataclass
class Server:
    name: str
    cmd: list[str]
    env: dict[str, str]
    port: int
    ready_path: str
    cwd: Path = OURS
    database_url: str = ""
    process: subprocess.Popen | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        log = open(f"/tmp/peer-compare-{self.name}.log", "w")  # noqa: SIM115, S108
        self.process = subprocess.Popen(
            self.cmd,
            cwd=self.cwd,
            env={**os.environ, **self.env},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                sys.exit(f"{self.name} exited; see /tmp/peer-compare-{self.name}.log")
            try:
                with urllib.request.urlopen(self.base + self.ready_path, timeout=5) as response:
                    if response.status < 500:
                        return
            except urllib.error.HTTPError as error:
                if error.code < 500:
                    return
            except OSError:
                pass
            time.sleep(0.3)
        sys.exit(f"{self.name} did not answer on {self.base}{self.ready_path}")

    def pids(self) -> set[int]:
        """The server's processes (its process group, which this script started)."""
        found = set()
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if self.process and int(fields[2]) == self.process.pid:  # pgrp
                found.add(int(stat.parent.name))
        return found

    def db_ports(self) -> set[int]:
        """Local ports of the server's connections to PostgreSQL (port 5432)."""
        inodes = set()
        for pid in self.pids():
            try:
                for fd in Path(f"/proc/{pid}/fd").iterdir():
                    link = os.readlink(fd)
                    if link.startswith("socket:["):
                        inodes.add(link[8:-1])
            except OSError:
                continue
        ports = set()
        for table in ("/proc/net/tcp", "/proc/net/tcp6"):
            for line in Path(table).read_text().splitlines()[1:]:
                cols = line.split()
                if cols[9] in inodes and cols[2].endswith(":1538"):  # remote port 5432
                    ports.add(int(cols[1].rsplit(":", 1)[1], 16))
        return ports

    def cpu_ticks(self) -> int:
        return sum(ticks_of(self.pids()).values())

    def backend_pids(self) -> set[int]:
        """PostgreSQL backends serving the server's connections."""
        ports = self.db_ports()
        if not ports:
            return set()
        in_list = ",".join(str(p) for p in sorted(ports))  # integers from /proc
        out = psql_value(
            self.database_url,
            f"SELECT pid FROM pg_stat_activity WHERE client_port IN ({in_list})",  # noqa: S608
        )
        return {int(x) for x in out.split()}

    def drain(self, database_url: str, timeout: float = 300) -> float:
        """Wait until the requests still in flight when wrk stopped are done (a slow page goes on
        in its worker, and the requests wrk left in the listen queue are still served, which
        would slow the next measurement): twice in a row, no CPU in the server's processes for
        a quarter of a second and none of their PostgreSQL sessions busy. Returns the seconds
        waited."""
        started = time.monotonic()
        quiet = 0
        while quiet < 2 and time.monotonic() - started < timeout:
            before = self.cpu_ticks()
            time.sleep(0.25)
            if self.cpu_ticks() - before > 1:
                quiet = 0
                continue
            ports = self.db_ports()
            busy = "0"
            if ports:
                in_list = ",".join(str(p) for p in sorted(ports))  # integers from /proc
                busy = psql_value(
                    database_url,
                    "SELECT count(*) FROM pg_stat_activity WHERE state <> 'idle' "  # noqa: S608
                    f"AND client_port IN ({in_list})",
                )
            quiet = quiet + 1 if busy == "0" else 0
        return time.monotonic() - started

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)  # the group this script started
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)


def ticks_of(pids: set[int]) -> dict[int, int]:
    """CPU time (user + system, in clock ticks) of each process that still exists."""
    found = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        found[pid] = int(fields[11]) + int(fields[12])
    return found


# --- HTTP helpers -------------------------------------------------------------------------------


def opener_with_jar() -> tuple[urllib.request.OpenerDirector, http.cookiejar.CookieJar]:
    jar = http.cookiejar.CookieJar()
    return urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar)), jar


def form_token(html: str) -> str:
    match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
    if not match:
        sys.exit("no CSRF token in the form")
    return match.group(1)


def login(base: str, path: str, email: str, password: str) -> dict[str, str]:
    """Sign in through the real login form; return the cookies (sessionid, csrftoken)."""
    opener, jar = opener_with_jar()
    token = form_token(opener.open(base + path).read().decode())
    data = urllib.parse.urlencode(
        {"username": email, "password": password, "csrfmiddlewaretoken": token}
    ).encode()
    opener.open(urllib.request.Request(base + path, data=data, headers={"Referer": base + path}))
    cookies = {c.name: c.value for c in jar}
    if "sessionid" not in cookies:
        sys.exit(f"login failed: {email} on {base}{path}")
    return cookies


def anonymous_form(base: str, path: str) -> tuple[dict[str, str], str, str]:
    """GET a public form as a browser would: its cookies, its CSRF token and its HTML."""
    opener, jar = opener_with_jar()
    html = opener.open(base + path).read().decode()
    return {c.name: c.value for c in jar}, form_token(html), html


def cookie_header(cookies: dict[str, str]) -> str:
    return "; ".join(f"{k}={v}" for k, v in cookies.items())


def status_of(base: str, path: str, cookies: dict[str, str]) -> int:
    request = urllib.request.Request(base + path, headers={"Cookie": cookie_header(cookies)})
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def record_list_request(base: str, cookies: dict[str, str], page_path: str) -> str:
    """Open the peer's ticket list in Chromium and return the data request its script sends."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium")
        context = browser.new_context()
        context.add_cookies([{"name": k, "value": v, "url": base} for k, v in cookies.items()])
        page = context.new_page()
        with page.expect_response(
            lambda r: "datatables_ticket_list" in r.url, timeout=120_000
        ) as info:
            page.goto(base + page_path)
        response = info.value
        if response.status != 200:
            sys.exit(f"the peer's list data request answered {response.status}")
        rows = len(response.json().get("data", []))
        browser.close()
    parts = urllib.parse.urlsplit(response.url)
    path = parts.path + ("?" + parts.query if parts.query else "")
    print(f"  peer list data request (recorded in Chromium, {rows} rows): {path[:160]}...")
    return path


# --- wrk ----------------------------------------------------------------------------------------

UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 6e4}


def to_ms(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)([a-z]+)", text).groups()
    return float(number) * UNITS[unit]


@dataclass
class Result:
    label: str
    rps: float
    p50: float
    p99: float
    requests: int
    bad: int
    errors: str
    load_before: float
    load_after: float
    extra: dict = field(default_factory=dict)


def loadavg() -> float:
    return float(Path("/proc/loadavg").read_text().split()[0])


def wrk(
    label: str, url: str, script: str, env: dict[str, str], duration: int, connections: int
) -> Result:
    before = loadavg()
    cmd = [
        "wrk",
        f"-t{min(2, connections)}",
        f"-c{connections}",
        f"-d{duration}s",
        "--timeout",
        "60s",
        "--latency",
        "-s",
        str(HERE / script) if "/" not in script else script,
        url,
    ]
    out = subprocess.run(
        cmd, env={**os.environ, **env}, capture_output=True, text=True, check=True
    ).stdout
    after = loadavg()
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p50 = to_ms(re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1))
    p99 = to_ms(re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1))
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: (.*)", out)
    result = Result(
        label,
        rps,
        p50,
        p99,
        requests,
        int(bad.group(1)) if bad else 0,
        errors.group(1) if errors else "",
        before,
        after,
    )
    flag = f"  NON-2xx/3xx: {result.bad}" if result.bad else ""
    flag += f"  socket errors: {result.errors}" if result.errors else ""
    print(
        f"  {label:<44} {rps:9.1f} req/s  p50 {p50:8.1f} ms  p99 {p99:8.1f} ms  "
        f"({requests} requests; load {before:.2f} -> {after:.2f}){flag}",
        flush=True,
    )
    return result


TICK_MS = 1000 / os.sysconf("SC_CLK_TCK")


def http_requests(spec: tuple[str, str, dict], base: str, i: int) -> list[urllib.request.Request]:
    """The request(s) that one wrk request of this spec sends, for the i-th time (one "open" of
    the peer's list is its two requests)."""
    path, script, env = spec
    headers = {"Cookie": env["COOKIE"]} if env.get("COOKIE") else {}
    if script.endswith("random_page.lua"):
        number = (i * 7919) % int(env["MAX_ID"]) + 1  # spread over the tickets
        return [urllib.request.Request(base + env["PATH_TEMPLATE"] % number, headers=headers)]
    if script.endswith("page_and_data.lua"):
        xhr = {**headers, "X-Requested-With": "XMLHttpRequest", "Accept": "application/json"}
        return [
            urllib.request.Request(base + env["PAGE_PATH"], headers=headers),
            urllib.request.Request(base + env["DATA_PATH"], headers=xhr),
        ]
    if script.endswith("post.lua"):
        headers["Content-Type"] = env.get("CONTENT_TYPE", "application/x-www-form-urlencoded")
        if env.get("AUTHORIZATION"):
            headers["Authorization"] = env["AUTHORIZATION"]
        if env.get("CSRF"):
            headers["X-CSRFToken"] = env["CSRF"]
        n = f"{int(time.time())}9{i:07d}"
        body = env["POST_BODY"].replace("__N__", n).replace("__C__", str(i % 5000))
        return [
            urllib.request.Request(base + env["POST_PATH"], data=body.encode(), headers=headers)
        ]
    return [urllib.request.Request(base + path, headers=headers)]


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def cpu_cost(server: Server, spec: tuple, count: int, max_seconds: float) -> dict:
    """One request at a time (so nothing waits in a queue and nothing is left in flight), after up
    to four unmeasured ones: the server's CPU per request, its worker processes plus their
    PostgreSQL backends, and the wall time. CPU is what a request costs whatever the machine's
    load; two free cores serve about 2,000 / cpu_ms requests a second."""
    opener = urllib.request.build_opener(NoRedirect)

    def send(i: int) -> None:
        for request in http_requests(spec, server.base, i):
            try:
                opener.open(request, timeout=120).read()
            except urllib.error.HTTPError as error:
                if error.code >= 400:
                    sys.exit(f"{request.full_url} answered {error.code} in the CPU measurement")

    # Unmeasured first: a worker's first request of a kind pays for imports and caches.
    warm_until = time.monotonic() + 10
    for i in range(4):
        if time.monotonic() > warm_until:
            break
        send(count + 1000 + i)
    server.drain(server.database_url)
    procs, backends = server.pids(), server.backend_pids()
    start = ticks_of(procs | backends)
    walls, done = [], 0
    started = time.monotonic()
    while done < count and time.monotonic() - started < max_seconds:
        t0 = time.monotonic()
        send(done)
        walls.append((time.monotonic() - t0) * 1000)
        done += 1
    backends |= server.backend_pids()
    end = ticks_of(procs | backends)
    used = sum(end[p] - start.get(p, 0) for p in end)
    return {
        "requests": done,
        "cpu_ms": used * TICK_MS / done,
        "wall_p50_ms": statistics.median(walls),
    }


# --- our side -----------------------------------------------------------------------------------


def manage(*args: str, app_role: bool = True) -> str:
    env = {**os.environ, "DJANGO_DEBUG": "false"}
    if app_role:
        env["HELPDESK_DB_ASSUME_ROLE"] = "helpdesk_app"
    return subprocess.run(
        [str(OURS / ".venv/bin/python"), "manage.py", *args],
        cwd=OURS,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def check_migrations() -> None:
    """Our database must be migrated for the code under test (a 500 would be measured)."""
    done = subprocess.run(
        [str(OURS / ".venv/bin/python"), "manage.py", "migrate", "--check", "--plan"],
        cwd=OURS,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        sys.exit(
            f"{os.environ['DATABASE_URL']} lacks migrations of the code in {OURS}:\n"
            f"{done.stdout.strip()}\nApply them as the owner (manage.py migrate) or set OURS_DIR "
            "to a tree whose migrations the database has."
        )


def our_api_key(slug: str, base: str, keep: Path) -> str:
    """API_KEY, or the key an earlier run kept in `keep` if it still works, or a new one (kept
    there, so that runs do not pile up keys in the tenant)."""
    if os.environ.get("API_KEY"):
        return os.environ["API_KEY"]
    if keep.exists():
        raw = keep.read_text().strip()
        request = urllib.request.Request(
            f"{base}/api/v1/t/{slug}/tickets/?page_size=1",
            headers={"Authorization": f"Api-Key {raw}"},
        )
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                if response.status == 200:
                    return raw
        except urllib.error.HTTPError:
            pass
    code = (
        "from helpdesk.tenancy.models import Tenant, Membership\n"
        "from helpdesk.tenancy.services import api_key_create\n"
        f"t = Tenant.objects.get(slug='{slug}')\n"
        "admin = Membership.objects.filter(tenant=t, role='admin').first().user\n"
        "print(api_key_create(tenant=t, actor=admin, name='peer comparison',"
        " scopes=['read', 'write'])[1])"
    )
    raw = manage("shell", "-c", code).strip().splitlines()[-1]
    keep.write_text(raw)
    keep.chmod(0o600)
    return raw


def ensure_rollups(slug: str) -> None:
    code = (
        "from helpdesk.tenancy.models import Tenant\n"
        "from helpdesk.tenancy.context import tenant_context\n"
        "from empathy_metrics.selectors.rollup import rollup_state\n"
        f"t = Tenant.objects.get(slug='{slug}')\n"
        "with tenant_context(t):\n"
        "    s = rollup_state(tenant=t)\n"
        "print('yes' if s is not None and s.last_rebuild_at else 'no')"
    )
    if manage("shell", "-c", code).strip().splitlines()[-1] == "yes":
        return
    print(f"  building the dashboard's rollups of tenant {slug} (metrics_rebuild, once)...")
    started = time.monotonic()
    manage("metrics_rebuild", "--tenant", slug)
    print(f"  rollups built in {time.monotonic() - started:.0f} s")


def drop_our_tasks(pids: set[int]) -> None:
    """Remove from REDIS_URL's Celery queues the tasks that our servers of this run enqueued (no
    worker runs here), and only those: the Redis database may hold other people's queues."""
    import redis

    client = redis.Redis.from_url(os.environ["REDIS_URL"])
    origins = {f"gen{pid}@".encode() for pid in pids}
    dropped = 0
    for queue in (b"default", b"analysis", b"celery"):
        if client.type(queue) != b"list":
            continue
        for item in client.lrange(queue, 0, -1):
            head = json.loads(item).get("headers", {})
            if any(str(head.get("origin", "")).encode().startswith(o) for o in origins):
                dropped += client.lrem(queue, 1, item)
    print(f"removed the {dropped} Celery tasks that the creation runs enqueued")


def psql_value(url: str, sql: str) -> str:
    return subprocess.run(
        ["psql", url, "-tAc", sql], capture_output=True, text=True, check=True
    ).stdout.strip()


# --- the run ------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description="Our helpdesk against django-helpdesk.")
    parser.add_argument("--duration", type=int, default=30, help="seconds per wrk run")
    parser.add_argument(
        "--rounds", type=int, default=2, help="interleaved wrk rounds per figure (0: CPU only)"
    )
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--dashboard-connections", type=int, default=2)
    parser.add_argument("--slug", default="bench")
    parser.add_argument("--port", type=int, default=8120, help="ours; +1 the peer, +2 uvicorn")
    parser.add_argument(
        "--only",
        default="queue,ticket,form,api,dashboard,floor,layouts",
        help="comma-separated subset of queue,ticket,form,api,dashboard,floor,layouts",
    )
    parser.add_argument("--no-layouts", action="store_true")
    parser.add_argument("--no-build-rollups", action="store_true")
    parser.add_argument(
        "--cpu-requests", type=int, default=20, help="sequential requests per side (0: none)"
    )
    parser.add_argument("--cpu-seconds", type=float, default=60, help="at most, per side")
    parser.add_argument("--json", help="also write every run here")
    args = parser.parse_args()
    only = set(args.only.split(","))
    if args.no_layouts:
        only.discard("layouts")
    for name in ("DATABASE_URL", "REDIS_URL"):
        if not os.environ.get(name):
            sys.exit(f"set {name} (our benchmark database and a Redis database of its own)")
    peer_dir = Path(os.environ.get("PEER_DIR", "/tmp/helpdesk-peer"))  # noqa: S108
    peer_db = os.environ.get(
        "PEER_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/helpdesk_peer"
    )
    args.peer_dir = str(peer_dir)
    if not (peer_dir / "venv/bin/gunicorn").exists():
        sys.exit(f"no peer in {peer_dir}: run benchmarks/peer/setup_peer.sh first")
    slug = args.slug
    print(f"load average at the start: {Path('/proc/loadavg').read_text().strip()}")
    print(
        "peer: "
        + subprocess.run(
            [
                str(peer_dir / "venv/bin/python"),
                "-c",
                "import importlib.metadata as m; print('django-helpdesk', m.version('django-helpdesk'),"
                " 'on Django', m.version('django'))",
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    )

    # Abuse limits are for people; a benchmark posts faster (as chat_roundtrip.py does).
    ours_env = {"HELPDESK_WEBFORM_MAX_PER_IP": "1000000000"}
    ours = Server(
        "ours-gunicorn",
        ["benchmarks/serve.sh", str(args.port)],
        ours_env,
        args.port,
        "/healthz",
        database_url=os.environ["DATABASE_URL"],
    )
    peer = Server(
        "peer-gunicorn",
        [
            str(peer_dir / "venv/bin/gunicorn"),
            "peersite.wsgi:application",
            "--bind",
            f"127.0.0.1:{args.port + 1}",
            "--workers",
            "2",
            "--worker-class",
            "sync",
            "--log-level",
            "warning",
        ],
        {"PEER_DATABASE_URL": peer_db},
        args.port + 1,
        "/helpdesk/login/",
        cwd=peer_dir / "site",
        database_url=peer_db,
    )
    servers = [ours, peer]
    uvicorn = None
    if "layouts" in only:
        uvicorn = Server(
            "ours-uvicorn",
            [
                str(OURS / ".venv/bin/uvicorn"),
                "helpdesk.asgi:application",
                "--host",
                "127.0.0.1",
                "--port",
                str(args.port + 2),
                "--workers",
                "2",
                "--ws",
                "websockets-sansio",
                "--log-level",
                "warning",
            ],
            {
                **ours_env,
                "DJANGO_DEBUG": "false",
                "HELPDESK_DB_ASSUME_ROLE": "helpdesk_app",
                "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
                "HELPDESK_LOG_LEVEL": "WARNING",
            },
            args.port + 2,
            "/healthz",
            database_url=os.environ["DATABASE_URL"],
        )
        servers.append(uvicorn)
    floor = None
    if "floor" in only:
        floor = Server(
            "ours-floor",
            ["benchmarks/serve.sh", str(args.port + 3)],
            {**ours_env, "DJANGO_SETTINGS_MODULE": "benchmarks.peer.floor_settings"},
            args.port + 3,
            "/healthz",
            database_url=os.environ["DATABASE_URL"],
        )
        servers.append(floor)
        floor_table(create=True)

    print(f"ours: the code in {OURS}")
    check_migrations()
    results: list[Result] = []
    our_pids: set[int] = set()
    try:
        if "dashboard" in only and not args.no_build_rollups:
            ensure_rollups(slug)
        for server in servers:
            server.start()
        for server in servers:
            server.wait_ready()
        print("servers up: " + ", ".join(f"{s.name} {s.base}" for s in servers))
        our_pids = ours.pids() | (uvicorn.pids() if uvicorn else set())
        results = measure(args, only, slug, ours, peer, uvicorn, peer_db, floor)
    finally:
        our_pids |= ours.pids() | (uvicorn.pids() if uvicorn else set())
        for server in servers:
            server.stop()
        if floor is not None:
            floor_table(create=False)
        if {"form", "api"} & only:
            drop_our_tasks(our_pids)
    if args.json:
        Path(args.json).write_text(json.dumps([r.__dict__ for r in results], indent=2))
    print(f"load average at the end: {Path('/proc/loadavg').read_text().strip()}")


def floor_table(create: bool) -> None:
    """The table the floor's posts store their row in: created (as the owner, with the
    application role's grants) before the run, dropped after it."""
    if create:
        sql = (
            "CREATE TABLE IF NOT EXISTS bench_floor (id bigserial PRIMARY KEY, body text NOT NULL,"
            " created_at timestamptz NOT NULL DEFAULT now()); GRANT SELECT, INSERT ON bench_floor"
            " TO helpdesk_app; GRANT USAGE ON SEQUENCE bench_floor_id_seq TO helpdesk_app"
        )
    else:
        sql = "DROP TABLE IF EXISTS bench_floor"
    psql_value(os.environ["DATABASE_URL"], sql)


def measure(args, only, slug, ours, peer, uvicorn, peer_db, floor) -> list[Result]:
    d, c = args.duration, args.connections
    # Sign in. Our agent for the workspace, our tenant admin for the dashboard (agents do not
    # see it); the peer's staff agent for everything (its dashboard is every agent's page).
    ours_agent = login(ours.base, "/accounts/login/", f"agent0@{slug}.test", PASSWORD)
    ours_admin = login(ours.base, "/accounts/login/", f"admin@{slug}.test", PASSWORD)
    peer_agent = login(peer.base, "/helpdesk/login/", "agent0@peer.test", PASSWORD)
    max_ours = int(psql_value(os.environ["DATABASE_URL"], "SELECT count(*) FROM tickets_ticket"))
    max_peer = 100_000

    queue_path = f"/t/{slug}/queue/"
    ticket_tpl = f"/t/{slug}/tickets/%d/"
    peer_list = "/helpdesk/tickets/"
    specs = {}
    if "queue" in only or "layouts" in only:
        specs["ours-queue"] = (queue_path, "cookie_get.lua", {"COOKIE": cookie_header(ours_agent)})
    if "ticket" in only or "layouts" in only:
        specs["ours-ticket"] = (
            "/",
            "random_page.lua",
            {
                "COOKIE": cookie_header(ours_agent),
                "PATH_TEMPLATE": ticket_tpl,
                "MAX_ID": str(min(max_ours, 100_000)),
            },
        )
    if "queue" in only:
        data_path = record_list_request(peer.base, peer_agent, peer_list)
        cookie = {"COOKIE": cookie_header(peer_agent)}
        specs["peer-open"] = (
            "/",
            "page_and_data.lua",
            {**cookie, "PAGE_PATH": peer_list, "DATA_PATH": data_path},
        )
        specs["peer-list-page"] = (peer_list, "cookie_get.lua", cookie)
        specs["peer-list-data"] = (
            "/",
            "page_and_data.lua",
            {**cookie, "PAGE_PATH": data_path, "DATA_PATH": data_path},
        )
    if "ticket" in only:
        specs["peer-ticket"] = (
            "/",
            "random_page.lua",
            {
                "COOKIE": cookie_header(peer_agent),
                "PATH_TEMPLATE": "/helpdesk/tickets/%d/",
                "MAX_ID": str(max_peer),
            },
        )
    if "form" in only:
        path = f"/t/{slug}/help/contact/"
        cookies, token, _html = anonymous_form(ours.base, path)
        body = urllib.parse.urlencode(
            {
                "csrfmiddlewaretoken": token,
                "name": "Load Customer",
                "email": "load__C__@bench.example",
                "subject": "Order __N__ arrived damaged",
                "message": "My order __N__ arrived today but the box was crushed and the lamp "
                "inside is broken. Could you send a replacement or refund it?",
                "website": "",
            }
        )
        specs["ours-form"] = (
            path,
            "post.lua",
            {"POST_PATH": path, "POST_BODY": body, "COOKIE": cookie_header(cookies)},
        )
        path = "/helpdesk/tickets/submit/"
        cookies, token, html = anonymous_form(peer.base, path)
        fields = sorted(set(re.findall(r'name="([a-z_]+)"', html)) - {"csrfmiddlewaretoken"})
        print(f"  peer public form fields: {', '.join(fields)}")
        body = urllib.parse.urlencode(
            {
                "csrfmiddlewaretoken": token,
                "title": "Order __N__ arrived damaged",
                "submitter_email": "load__C__@bench.example",
                "body": "My order __N__ arrived today but the box was crushed and the lamp "
                "inside is broken. Could you send a replacement or refund it?",
            }
        )
        specs["peer-form"] = (
            path,
            "post.lua",
            {"POST_PATH": path, "POST_BODY": body, "COOKIE": cookie_header(cookies)},
        )
    if "api" in only:
        path = f"/api/v1/t/{slug}/tickets/"
        body = json.dumps(
            {
                "subject": "Checkout fails (__N__)",
                "body": "I clicked pay and nothing happened. Order __N__.",
                "customer_email": "load__C__@bench.example",
            }
        )
        specs["ours-api"] = (
            path,
            "post.lua",
            {
                "POST_PATH": path,
                "POST_BODY": body,
                "CONTENT_TYPE": "application/json",
                "AUTHORIZATION": f"Api-Key {our_api_key(slug, ours.base, Path(args.peer_dir) / f'ours-api-key-{slug}')}",
            },
        )
        queue_id = psql_value(peer_db, "SELECT id FROM helpdesk_queue WHERE slug = 'support'")
        path = "/helpdesk/api/tickets/"
        body = json.dumps(
            {
                "queue": int(queue_id),
                "title": "Checkout fails (__N__)",
                "description": "I clicked pay and nothing happened. Order __N__.",
                "submitter_email": "load__C__@bench.example",
                "priority": 3,
            }
        )
        specs["peer-api"] = (
            path,
            "post.lua",
            {
                "POST_PATH": path,
                "POST_BODY": body,
                "CONTENT_TYPE": "application/json",
                "COOKIE": cookie_header(peer_agent),
                "CSRF": peer_agent["csrftoken"],
            },
        )
    if "floor" in only:
        cookie = {"COOKIE": cookie_header(ours_agent)}
        specs["floor-empty"] = (f"/t/{slug}/floor/empty/", "cookie_get.lua", cookie)
        specs["floor-chrome"] = (f"/t/{slug}/floor/chrome/", "cookie_get.lua", cookie)
        cookies, token, _html = anonymous_form(ours.base, f"/t/{slug}/help/contact/")
        body = urllib.parse.urlencode(
            {
                "csrfmiddlewaretoken": token,
                "message": "My order __N__ arrived today but the box was crushed and the lamp "
                "inside is broken. Could you send a replacement or refund it?",
            }
        )
        specs["floor-form"] = (
            "/floor/form/",
            "post.lua",
            {"POST_PATH": "/floor/form/", "POST_BODY": body, "COOKIE": cookie_header(cookies)},
        )
        path = f"/api/v1/t/{slug}/floor/"
        specs["floor-api"] = (
            path,
            "post.lua",
            {
                "POST_PATH": path,
                "POST_BODY": json.dumps({"body": "I clicked pay and nothing happened. __N__"}),
                "CONTENT_TYPE": "application/json",
                "AUTHORIZATION": f"Api-Key {our_api_key(slug, ours.base, Path(args.peer_dir) / f'ours-api-key-{slug}')}",
            },
        )
    if "dashboard" in only:
        path = f"/t/{slug}/dashboards/"
        specs["ours-dashboard"] = (path, "cookie_get.lua", {"COOKIE": cookie_header(ours_admin)})
        specs["peer-dashboard"] = (
            "/helpdesk/dashboard/",
            "cookie_get.lua",
            {"COOKIE": cookie_header(peer_agent)},
        )

    # Every GET answers 200 before anything is timed (a 302 to a login page would be fast).
    probes = {
        "ours-queue": queue_path,
        "ours-ticket": ticket_tpl % 1,
        "peer-open": specs.get("peer-open", ("", "", {}))[2].get("DATA_PATH"),
        "peer-list-page": peer_list,
        "peer-ticket": "/helpdesk/tickets/1/",
        "ours-dashboard": f"/t/{slug}/dashboards/",
        "peer-dashboard": "/helpdesk/dashboard/",
        "floor-empty": f"/t/{slug}/floor/empty/",
        "floor-chrome": f"/t/{slug}/floor/chrome/",
    }
    bases = {"ours": ours, "peer": peer, "floor": floor}
    for name, (_path, _script, env) in specs.items():
        if name not in probes:
            continue
        base = bases[name.split("-", 1)[0]].base
        cookies = dict(x.split("=", 1) for x in env["COOKIE"].split("; "))
        status = status_of(base, probes[name], cookies)
        if status != 200:
            sys.exit(f"{name}: GET {probes[name]} answered {status}, not 200")

    def run(label, server, key, conns=c, duration=d):
        path, script, env = specs[key]
        script = str(ROOT / "benchmarks" / script) if script == "cookie_get.lua" else script
        table = "tickets_ticket" if server is not peer else "helpdesk_ticket"
        if key.startswith("floor"):
            table = "bench_floor"
        count_sql = f"SELECT count(*) FROM {table}"  # noqa: S608 (a fixed name)
        creates = key.endswith(("form", "api"))
        before = int(psql_value(server.database_url, count_sql)) if creates else 0
        result = wrk(label, server.base + path, script, env, duration, conns)
        waited = server.drain(server.database_url)
        if waited > 1:
            print(f"    (then waited {waited:.1f} s for the requests still in flight)")
        result.extra["drain_s"] = round(waited, 1)
        if creates:
            # A form that fails validation answers 200 (the peer) or 400 (ours): count tickets.
            created = int(psql_value(server.database_url, count_sql)) - before
            result.extra["created"] = created
            note = "" if created >= result.requests else "  FEWER TICKETS THAN RESPONSES"
            print(f"    ({created} tickets created, {result.requests} responses counted){note}")
        return result

    print(f"\nwarm-up (3 s each; wrk -c{c}; fills our row and page caches as in steady use)")
    for key in specs:
        if key.endswith(("form", "api")):
            continue
        run(f"warm-up {key}", bases[key.split("-", 1)[0]], key, duration=3)
    if uvicorn is not None:
        for key in ("ours-queue", "ours-ticket"):
            run(f"warm-up uvicorn {key}", uvicorn, key, duration=3)

    results: list[Result] = []
    plan = []
    if "queue" in only:
        plan.append(
            (
                "queue",
                [
                    ("ours", ours, "ours-queue"),
                    ("peer", peer, "peer-open"),
                    ("peer page alone", peer, "peer-list-page"),
                    ("peer data alone", peer, "peer-list-data"),
                ],
                c,
            )
        )
    if "ticket" in only:
        plan.append(("ticket", [("ours", ours, "ours-ticket"), ("peer", peer, "peer-ticket")], c))
    if "form" in only:
        plan.append(("form", [("ours", ours, "ours-form"), ("peer", peer, "peer-form")], c))
    if "api" in only:
        plan.append(("api", [("ours", ours, "ours-api"), ("peer", peer, "peer-api")], c))
    if "dashboard" in only:
        plan.append(
            (
                "dashboard",
                [("ours", ours, "ours-dashboard"), ("peer", peer, "peer-dashboard")],
                args.dashboard_connections,
            )
        )
    if "floor" in only:
        plan.append(
            (
                "floor",
                [
                    ("empty page", floor, "floor-empty"),
                    ("chrome page", floor, "floor-chrome"),
                    ("form post", floor, "floor-form"),
                    ("api post", floor, "floor-api"),
                ],
                c,
            )
        )
    if "layouts" in only:
        plan.append(
            (
                "layout queue",
                [("gunicorn", ours, "ours-queue"), ("uvicorn", uvicorn, "ours-queue")],
                c,
            )
        )
        plan.append(
            (
                "layout ticket",
                [("gunicorn", ours, "ours-ticket"), ("uvicorn", uvicorn, "ours-ticket")],
                c,
            )
        )

    summary = {}
    for figure, sides, conns in plan if args.rounds else []:
        print(f"\n== {figure} (wrk -c{conns}, {d} s, {args.rounds} interleaved rounds)")
        runs: dict[str, list[Result]] = {label: [] for label, _, _ in sides}
        for round_no in range(1, args.rounds + 1):
            for label, server, key in sides:
                result = run(f"{figure} / {label} (round {round_no})", server, key, conns)
                result.extra.update({"figure": figure, "side": label, "round": round_no})
                runs[label].append(result)
                results.append(result)
        summary[figure] = {
            label: (
                statistics.median(r.rps for r in rs),
                statistics.median(r.p50 for r in rs),
                statistics.median(r.p99 for r in rs),
                sum(r.bad for r in rs),
            )
            for label, rs in runs.items()
        }

    costs: dict[str, dict[str, dict]] = {}
    if args.cpu_requests:
        print(
            f"\n== server CPU per request, one request at a time (up to {args.cpu_requests} "
            f"requests or {args.cpu_seconds} s per side; workers + their PostgreSQL backends)"
        )
        for figure, sides, _conns in plan:
            for label, server, key in sides:
                if label in ("peer page alone", "peer data alone"):
                    continue
                cost = cpu_cost(server, specs[key], args.cpu_requests, args.cpu_seconds)
                costs.setdefault(figure, {})[label] = cost
                unit = "open" if key == "peer-open" else "request"
                print(
                    f"  {figure:<14} {label:<10} {cost['cpu_ms']:8.1f} ms CPU per {unit:<8} "
                    f"(~{2000 / cost['cpu_ms']:7.1f}/s on 2 free cores)  wall p50 "
                    f"{cost['wall_p50_ms']:8.1f} ms  ({cost['requests']} sequential)",
                    flush=True,
                )
                results.append(
                    Result(f"cpu {figure} / {label}", 0, 0, 0, cost["requests"], 0, "",
                           loadavg(), loadavg(), {"figure": figure, "side": label, **cost})
                )  # fmt: skip
    report(summary, costs)
    return results


def report(summary: dict, costs: dict) -> None:
    if summary:
        report_wrk(summary)
    report_cpu(costs)
    for figure in ("layout queue", "layout ticket"):
        if figure in summary:
            g, u = summary[figure]["gunicorn"], summary[figure]["uvicorn"]
            if g[0] and u[0]:
                print(
                    f"  {figure:<14} uvicorn / gunicorn throughput = {u[0] / g[0]:.2f}  "
                    f"(p50 {u[1]:.0f} vs {g[1]:.0f} ms, p99 {u[2]:.0f} vs {g[2]:.0f} ms)"
                )


def report_wrk(summary: dict) -> None:
    print("\n== summary (median of the rounds)")
    for figure, sides in summary.items():
        for label, (rps, p50, p99, bad) in sides.items():
            unit = "opens/s" if figure == "queue" and label == "peer" else "req/s"
            value = rps / 2 if unit == "opens/s" else rps
            note = f"  ({bad} non-2xx/3xx: NOT VALID)" if bad else ""
            if unit == "opens/s":
                note += "  (latencies: page and data requests mixed)"
            print(
                f"  {figure:<14} {label:<16} {value:9.2f} {unit:<8} p50 {p50:8.1f} ms  "
                f"p99 {p99:8.1f} ms{note}"
            )
    print("\n== against the targets of the issue")
    for figure in ("queue", "ticket", "form", "api"):
        if figure not in summary:
            continue
        ours, peer = summary[figure]["ours"], summary[figure]["peer"]
        peer_rate = peer[0] / 2 if figure == "queue" else peer[0]
        target = TARGETS[figure]
        if not peer_rate or not ours[0]:
            print(f"  {figure:<10} n/a: a side completed no request (use a longer --duration)")
            continue
        ratio = ours[0] / peer_rate
        verdict = "met" if ratio >= target else "NOT met"
        extra = ""
        if figure == "queue":
            page, data = summary["queue"]["peer page alone"], summary["queue"]["peer data alone"]
        if figure == "queue" and page[0] and data[0]:
            extra = (
                f"; peer open p50 ~{page[1] + data[1]:.0f} ms (page {page[1]:.0f} + data "
                f"{data[1]:.0f}) vs ours {ours[1]:.0f} ms"
            )
        print(
            f"  {figure:<10} ours / peer throughput = {ratio:7.2f}x  (target >= {target:g}x: "
            f"{verdict}){extra}"
        )
        if "floor" in summary:
            side = FLOOR_OF[figure]
            rate = summary["floor"][side][0]
            print(
                f"  {'':<10} our floor, {side} ({rate:.0f} req/s) / peer = {rate / peer_rate:7.2f}x;"
                f" the target needs {target * peer_rate:.0f} req/s, ours is at "
                f"{ours[0] / rate:.0%} of the floor"
            )
    if "dashboard" in summary:
        ours, peer = summary["dashboard"]["ours"], summary["dashboard"]["peer"]
        if not peer[1] or not ours[1]:
            print("  dashboard  n/a: a side completed no request (use a longer --duration)")
        else:
            ratio = ours[1] / peer[1]
            verdict = "met" if ratio <= TARGETS["dashboard"] else "NOT met"
            print(
                f"  dashboard  ours / peer time (p50) = {ratio:.3f}  (target <= 0.1: {verdict}); "
                f"p99 {ours[2] / peer[2]:.3f}"
            )


def report_cpu(costs: dict) -> None:
    if costs:
        print("\n== the same targets from the server's CPU per request (independent of the load)")
    for figure in ("queue", "ticket", "form", "api"):
        if figure in costs:
            ours, peer = costs[figure]["ours"]["cpu_ms"], costs[figure]["peer"]["cpu_ms"]
            ratio = peer / ours
            verdict = "met" if ratio >= TARGETS[figure] else "NOT met"
            print(
                f"  {figure:<10} peer / ours CPU = {ratio:7.2f}x  (target >= {TARGETS[figure]:g}x:"
                f" {verdict}; {ours:.1f} vs {peer:.1f} ms)"
            )
    if "dashboard" in costs:
        ours, peer = costs["dashboard"]["ours"], costs["dashboard"]["peer"]
        ratio = ours["wall_p50_ms"] / peer["wall_p50_ms"]
        verdict = "met" if ratio <= TARGETS["dashboard"] else "NOT met"
        print(
            f"  dashboard  ours / peer time, one at a time (p50) = {ratio:.3f}  (target <= 0.1: "
            f"{verdict}; {ours['wall_p50_ms']:.0f} vs {peer['wall_p50_ms']:.0f} ms; CPU "
            f"{ours['cpu_ms']:.0f} vs {peer['cpu_ms']:.0f} ms)"
        )
    for figure in ("layout queue", "layout ticket"):
        if figure in costs:
            g, u = costs[figure]["gunicorn"]["cpu_ms"], costs[figure]["uvicorn"]["cpu_ms"]
            print(f"  {figure:<14} CPU per request: gunicorn {g:.1f} ms, uvicorn {u:.1f} ms")


if __name__ == "__main__":
    main()
