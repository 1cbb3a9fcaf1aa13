"""Throwaway services and app processes for the failure drills.

The machine's PostgreSQL and Redis are shared with other test runs, so a drill that takes a
service down starts its own: a private ``redis-server`` (no persistence) or a private PostgreSQL
cluster (``initdb`` in a temporary directory, run as the ``postgres`` user when the tests run as
root), each on a free port. The app under test runs as real processes: uvicorn serving
``helpdesk.asgi`` and Celery workers, started with the production settings module
(``helpdesk.settings.base``) and the environment a deployment would give them.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import quote

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT = 90  # seconds; two cores shared with other test runs


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(predicate, *, timeout: float, interval: float = 0.2, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


def _tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


# --- Redis ----------------------------------------------------------------------------------


class PrivateRedis:
    """``redis-server`` on a free port, no persistence: ``kill()`` is a crash, ``start()`` a
    restart on the same port (empty, as after a crash without persistence)."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.port = free_port()
        self.proc: subprocess.Popen | None = None

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def ping(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def start(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            return
        binary = shutil.which("redis-server")
        if binary is None:
            pytest.skip("needs redis-server on PATH")
        self.proc = subprocess.Popen(
            [
                binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.workdir),
                "--logfile",
                str(self.workdir / "redis.log"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_until(self.ping, timeout=20, what=f"redis-server on {self.port}")

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        wait_until(lambda: not self.ping(), timeout=10, what="redis-server to go away")

    def flushall(self) -> None:
        import redis

        redis.Redis.from_url(self.url()).flushall()


# --- PostgreSQL -----------------------------------------------------------------------------


def _pg_bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if found:
        return found[-1]
    binary = shutil.which(name)
    if binary is None:
        pytest.skip(f"needs the PostgreSQL server binaries ({name})")
    return binary


class PrivateCluster:
    """A PostgreSQL cluster in a temporary directory, owned by ``postgres`` when run as root
    (``initdb`` refuses root), on a free port, trust authentication on 127.0.0.1 only."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.data = workdir / "data"
        self.port = free_port()
        self._as = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []

    def _run(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
        return subprocess.run(
            [*self._as, *args], check=True, capture_output=True, text=True, timeout=timeout
        )

    def url(self, dbname: str, user: str = "postgres") -> str:
        return f"postgres://{user}@127.0.0.1:{self.port}/{dbname}"

    def init(self) -> None:
        if self._as:
            shutil.chown(self.workdir, user="postgres", group="postgres")
        self._run(
            _pg_bin("initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres",
            "-E", "UTF8", "--no-sync", "--locale=C.UTF-8",
        )  # fmt: skip

    def start(self) -> None:
        options = (
            f"-p {self.port} -k {self.workdir} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=50"
        )
        self._run(
            _pg_bin("pg_ctl"), "-D", str(self.data), "-o", options,
            "-l", str(self.workdir / "postgres.log"), "-w", "-t", "60", "start",
        )  # fmt: skip

    def stop(self, mode: str = "fast") -> None:
        self._run(_pg_bin("pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop")

    def psql(self, sql: str, dbname: str = "postgres") -> str:
        return subprocess.run(
            ["psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", self.url(dbname), "-c", sql],
            check=True,
            capture_output=True,
            text=True,
            timeout=60,
        ).stdout

    def destroy(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError, subprocess.TimeoutExpired):
            self.stop("immediate")
        shutil.rmtree(self.workdir, ignore_errors=True)


# --- The app as processes ---------------------------------------------------------------------


def database_url_for_tests() -> tuple[str, str]:
    """The test database as a URL for a subprocess (connecting as the owner), and the role the
    test run uses for queries (the app role, see tests/conftest.py)."""
    from django.db import connection

    sd = connection.settings_dict
    user = quote(sd.get("USER") or "postgres")
    password = f":{quote(sd['PASSWORD'])}" if sd.get("PASSWORD") else ""
    host = sd.get("HOST") or "127.0.0.1"
    port = sd.get("PORT") or 5432
    url = f"postgres://{user}{password}@{host}:{port}/{sd['NAME']}"
    return url, sd.get("OPTIONS", {}).get("assume_role", "")


def app_env(*, database_url: str, redis_url: str = "", assume_role: str = "", **extra) -> dict:
    """The environment of a deployed process: production's settings module, our services."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "HELPDESK_", "PYTEST", "CELERY"))
        and key not in {"DATABASE_URL", "REDIS_URL"}
    }
    env.update(
        DJANGO_SETTINGS_MODULE="helpdesk.settings.base",
        DJANGO_DEBUG="0",
        DATABASE_URL=database_url,
        HELPDESK_KEY_PREFIX=f"drill-{uuid.uuid4().hex[:8]}",
        HELPDESK_LOG_LEVEL="WARNING",
        PYTHONUNBUFFERED="1",
    )
    if redis_url:
        env["REDIS_URL"] = redis_url
    if assume_role:
        env["HELPDESK_DB_ASSUME_ROLE"] = assume_role
    env.update({key: str(value) for key, value in extra.items()})
    return env


class AppProcess:
    """A subprocess of the app, its output in a log file, stopped with its process group."""

    def __init__(self, name: str, args: list[str], env: dict, logdir: Path) -> None:
        self.name = name
        self.log = logdir / f"{name}-{uuid.uuid4().hex[:6]}.log"
        self._log_file = self.log.open("wb")
        self.proc = subprocess.Popen(
            args,
            cwd=ROOT,
            env=env,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def output(self) -> str:
        return _tail(self.log, 80)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 20) -> None:
        if self.alive():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, sig)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        self._log_file.close()


class WebProcess(AppProcess):
    """uvicorn serving ``helpdesk.asgi`` (HTTP and WebSockets), as the compose ``realtime``
    service and ``make demo`` run it."""

    def __init__(self, env: dict, logdir: Path, name: str = "web") -> None:
        self.port = free_port()
        super().__init__(
            name,
            [
                sys.executable,
                "-m",
                "uvicorn",
                "helpdesk.asgi:application",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--ws",
                "websockets-sansio",
                "--lifespan",
                "off",
                "--log-level",
                "warning",
                "--no-access-log",
            ],
            env,
            logdir,
        )
        self.url = f"http://127.0.0.1:{self.port}"
        self.ws_url = f"ws://127.0.0.1:{self.port}"

    def wait_ready(self) -> WebProcess:
        def answers() -> bool:
            if not self.alive():
                raise AssertionError(f"{self.name} exited:\n{self.output()}")
            try:
                requests.get(f"{self.url}/healthz", timeout=2)
            except requests.RequestException:
                return False
            return True

        wait_until(answers, timeout=START_TIMEOUT, what=f"{self.name} to answer")
        return self


class GunicornProcess(WebProcess):
    """gunicorn serving ``helpdesk.wsgi`` (pages and the API), as the compose ``web`` runs it."""

    def __init__(self, env: dict, logdir: Path, name: str = "gunicorn") -> None:
        self.port = free_port()
        AppProcess.__init__(
            self,
            name,
            [
                sys.executable,
                "-m",
                "gunicorn",
                "helpdesk.wsgi:application",
                "--bind",
                f"127.0.0.1:{self.port}",
                "--workers",
                "1",
                "--threads",
                "4",
                "--timeout",
                "60",
                "--log-level",
                "warning",
            ],
            env,
            logdir,
        )
        self.url = f"http://127.0.0.1:{self.port}"
        self.ws_url = ""


class WorkerProcess(AppProcess):
    """A Celery worker on the default and analysis queues, as the compose ``worker`` runs it."""

    def __init__(
        self,
        env: dict,
        logdir: Path,
        name: str = "worker",
        pool: str = "solo",
        argv0: list[str] | None = None,
    ) -> None:
        self.node = f"{name}-{uuid.uuid4().hex[:6]}@drill"
        super().__init__(
            name,
            [
                *(argv0 or [sys.executable, "-m", "celery"]),
                "-A",
                "helpdesk",
                "worker",
                "-Q",
                "default,analysis",
                "-P",
                pool,
                "-c",
                "1",
                "-n",
                self.node,
                "--loglevel",
                "INFO",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
            ],
            env,
            logdir,
        )

    def wait_ready(self) -> WorkerProcess:
        def ready() -> bool:
            if not self.alive():
                raise AssertionError(f"{self.name} exited:\n{self.output()}")
            return " ready." in self.log.read_text(errors="replace")

        wait_until(ready, timeout=START_TIMEOUT, interval=0.3, what=f"{self.name} to be ready")
        return self


# --- Fixtures -------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def private_redis():
    """A private redis-server for the whole session; drills kill and restart it."""
    workdir = Path(tempfile.mkdtemp(prefix="drill-redis-"))
    server = PrivateRedis(workdir)
    server.start()
    try:
        yield server
    finally:
        server.kill() if server.proc and server.proc.poll() is None else None
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture
def redis_up(private_redis):
    """The private Redis, running and empty at the start of the test."""
    private_redis.start()
    private_redis.flushall()
    return private_redis


@pytest.fixture(scope="session")
def private_cluster():
    """A private PostgreSQL cluster for the whole session (the restart drill restarts it)."""
    workdir = Path(tempfile.mkdtemp(prefix="drill-pg-"))
    cluster = PrivateCluster(workdir)
    try:
        cluster.init()
        cluster.start()
    except subprocess.CalledProcessError as exc:
        cluster.destroy()
        raise AssertionError(f"private PostgreSQL did not start: {exc.stderr}") from exc
    try:
        yield cluster
    finally:
        cluster.destroy()


class Processes:
    """Starts app processes and kills them all at the end (before the test database is flushed:
    a graceful stop waits for open connections and the worker pool, and nothing of theirs is
    needed afterwards). ``start(...)`` only starts; ``web(...)`` etc. also wait until ready, so
    several processes can boot at once: ``ready(start(web, env), start(worker, env))``."""

    def __init__(self, logdir: Path) -> None:
        self.logdir = logdir
        self.started: list[AppProcess] = []

    def start(self, kind: type[AppProcess], env: dict, name: str | None = None, **kwargs):
        process = kind(env, self.logdir, **({"name": name} if name else {}), **kwargs)
        self.started.append(process)
        return process

    @staticmethod
    def ready(*started):
        for process in started:
            process.wait_ready()
        return started

    def web(self, env: dict, name: str = "web") -> WebProcess:
        return self.start(WebProcess, env, name).wait_ready()

    def gunicorn(self, env: dict, name: str = "gunicorn") -> GunicornProcess:
        return self.start(GunicornProcess, env, name).wait_ready()

    def worker(self, env: dict, name: str = "worker", **kwargs) -> WorkerProcess:
        return self.start(WorkerProcess, env, name, **kwargs).wait_ready()

    def stop_all(self) -> None:
        for process in reversed(self.started):
            process.stop(signal.SIGKILL)
            # Shown by pytest with a failing test's report.
            print(f"--- {process.name} (pid {process.pid}) ---\n{process.output()}")


@pytest.fixture
def processes(tmp_path):
    """App processes for one test (see ``Processes``)."""
    running = Processes(tmp_path)
    try:
        yield running
    finally:
        running.stop_all()


def copy_test_database(cluster: PrivateCluster, dbname: str) -> str:
    """Copy the test database (schema and committed rows) into a new database of the private
    cluster with pg_dump and pg_restore; returns the new database's URL. Ownership and grants
    are left out: the private cluster has only the ``postgres`` role."""
    source, _role = database_url_for_tests()
    cluster.psql(f'CREATE DATABASE "{dbname}"')
    target = cluster.url(dbname)
    dump = subprocess.run(
        ["pg_dump", "-Fc", "--no-owner", "--no-privileges", "-d", source],
        check=True,
        capture_output=True,
        timeout=300,
    )
    subprocess.run(
        ["pg_restore", "--no-owner", "--no-privileges", "--exit-on-error", "-d", target],
        input=dump.stdout,
        check=True,
        capture_output=True,
        timeout=300,
    )
    return target
