"""Drill: PostgreSQL is restarted while the web processes are under load.

A private PostgreSQL cluster (the machine's own is shared) holds a migrated helpdesk database.
Two real web processes serve it, as deployed: gunicorn (WSGI: pages and the API) and uvicorn
(ASGI). Clients keep reading the API, reading a page and creating tickets while the cluster is
stopped for a few seconds and started again. During the outage every answer is a clean 503 (JSON
with a message for the API, a page for HTML), never a 500 or a dropped connection; afterwards
the same processes (same PIDs, no restart) serve again, and every ticket that was acknowledged
with a 201 is stored, once.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections import Counter

import psutil
import pytest
import requests

from helpdesk.tenancy.services import api_key_create
from tests.reliability.services import app_env, copy_test_database, wait_until

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]

OUTAGE_SECONDS = 4


class Load:
    """Client threads against one web process; every answer is recorded with its phase."""

    def __init__(self, base: str, key: str, name: str) -> None:
        self.base, self.key, self.name = base, key, name
        self.phase = "before"
        self.answers: list[tuple[str, str, int, str, str]] = []  # phase, kind, status, ctype, body
        self.created: list[str] = []
        self._stop = threading.Event()
        self._numbers = itertools.count()
        self._threads = [
            threading.Thread(target=self._run, args=(kind,), daemon=True)
            for kind in ("api-read", "page", "api-write")
        ]

    def _request(self, kind: str) -> tuple[requests.Response, str]:
        headers = {"Authorization": f"Api-Key {self.key}"}
        if kind == "api-read":
            url = f"{self.base}/api/v1/t/acme/tickets/"
            return requests.get(url, headers=headers, timeout=30), ""
        if kind == "page":
            return requests.get(f"{self.base}/t/acme/help/", timeout=30), ""
        subject = f"{self.name}-{next(self._numbers)}"
        response = requests.post(
            f"{self.base}/api/v1/t/acme/tickets/",
            json={"subject": subject, "body": "Still there?", "customer_email": "a@b.test"},
            headers=headers,
            timeout=30,
        )
        return response, subject

    def _run(self, kind: str) -> None:
        while not self._stop.is_set():
            phase = self.phase
            try:
                response, subject = self._request(kind)
            except requests.RequestException as exc:
                self.answers.append((phase, kind, 0, "", repr(exc)))
            else:
                ctype = response.headers.get("Content-Type", "")
                self.answers.append((phase, kind, response.status_code, ctype, response.text))
                if response.status_code == 201:
                    self.created.append(subject)
            time.sleep(0.05)

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=60)

    def ok_since(self, index: int) -> bool:
        """Every kind of request succeeded at least once after answer number ``index``."""
        good = {kind for _p, kind, status, _c, _b in self.answers[index:] if status in (200, 201)}
        return good == {"api-read", "page", "api-write"}


def _worker_pids(process) -> set[int]:
    parent = psutil.Process(process.pid)
    return {parent.pid, *(child.pid for child in parent.children(recursive=True))}


def test_requests_during_a_postgres_restart_get_503_and_the_processes_recover(
    tenant, admin_user, private_cluster, processes
):
    _key, key = api_key_create(
        tenant=tenant, actor=admin_user, name="drill", scopes=["read", "write"]
    )
    cluster = private_cluster
    env = app_env(database_url=copy_test_database(cluster, "restart_drill"))
    servers = [processes.gunicorn(env), processes.web(env, name="uvicorn")]
    pids = {server.name: _worker_pids(server) for server in servers}
    loads = [Load(server.url, key, server.name) for server in servers]
    for load in loads:
        load.start()
    try:
        wait_until(lambda: all(load.ok_since(0) for load in loads), timeout=60, what="warm-up")
        cluster.stop("fast")
        for load in loads:
            load.phase = "outage"
        time.sleep(OUTAGE_SECONDS)
        marks = [len(load.answers) for load in loads]
        cluster.start()
        for load in loads:
            load.phase = "after"
        wait_until(
            lambda: all(load.ok_since(mark) for load, mark in zip(loads, marks, strict=True)),
            timeout=60,
            what="the web processes to serve again",
        )
        time.sleep(1)
    finally:
        for load in loads:
            load.stop()

    for server, load in zip(servers, loads, strict=True):
        assert server.alive() and _worker_pids(server) == pids[server.name], server.output()
        statuses = Counter((phase, status) for phase, _k, status, _c, _b in load.answers)
        assert not [key for key in statuses if key[1] not in (200, 201, 503)], (
            server.name,
            statuses,
            [a for a in load.answers if a[2] not in (200, 201, 503)][:3],
        )
        outage = [a for a in load.answers if a[0] == "outage"]
        assert {kind for _p, kind, status, _c, _b in outage if status == 503} == {
            "api-read",
            "page",
            "api-write",
        }, (server.name, statuses)
        for _phase, kind, status, ctype, body in load.answers:
            if status != 503:
                continue
            if kind == "page":
                assert ctype.startswith("text/html") and "Back in a moment" in body
            else:
                assert ctype == "application/json" and "database cannot be reached" in body

    # Every acknowledged ticket is stored, once.
    subjects = cluster.psql("SELECT subject FROM tickets_ticket", dbname="restart_drill").split()
    created = [subject for load in loads for subject in load.created]
    assert created and Counter(subjects) >= Counter(created)
    assert max(Counter(subjects).values()) == 1
