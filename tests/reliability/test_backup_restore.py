"""Backups: the pg_dump / pg_restore procedure of docs/operations.md, end to end.

Two tenants' tickets are committed to the test database, which is dumped with ``pg_dump -Fc``
and restored with ``pg_restore --no-owner --role=<owner>`` into a fresh database of a unique
name. On the restored database ``migrate --check`` finds nothing to apply and ``db_app_role``
re-grants the application role; then a real web process, connected as the application role
(row-level security on), serves one tenant's tickets through the API: all of them, and none of
the other tenant's. The database is dropped at the end.
"""

from __future__ import annotations

import subprocess
import sys
import uuid
from urllib.parse import urlsplit, urlunsplit

import pytest
import requests

from helpdesk.tenancy.services import api_key_create
from tests.factories.tickets import CustomerFactory
from tests.reliability.services import (
    ROOT,
    WebProcess,
    app_env,
    database_url_for_tests,
)
from tickets import services

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]

CHECK_AND_GRANT = """
import django
django.setup()
from django.core.management import call_command
call_command("migrate", check_unapplied=True, verbosity=0)
call_command("db_app_role", role="helpdesk_app")
print("restored database: migrations complete, app role granted")
"""


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


def _psql(url: str, sql: str) -> None:
    subprocess.run(
        ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", url, "-c", sql],
        check=True,
        capture_output=True,
        timeout=120,
    )


@pytest.fixture
def fresh_database():
    """A new, empty database with a unique name on the test cluster; dropped afterwards."""
    source, _role = database_url_for_tests()
    name = f"helpdesk_restore_{uuid.uuid4().hex[:10]}"
    admin = _with_database(source, "postgres")
    _psql(admin, f'CREATE DATABASE "{name}"')
    try:
        yield _with_database(source, name)
    finally:
        _psql(admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_a_dump_restored_into_a_fresh_database_runs_the_app(
    tenant, other_tenant, admin_user, fresh_database, processes, tmp_path
):
    subjects = {"Printer on fire", "Refund for March", "Löschen meiner Daten"}
    for subject in subjects:
        services.ticket_create(
            tenant=tenant, customer=CustomerFactory(tenant=tenant), subject=subject, body="Hello"
        )
    services.ticket_create(
        tenant=other_tenant,
        customer=CustomerFactory(tenant=other_tenant),
        subject="Globex secret",
        body="Not for Acme",
    )
    _key, key = api_key_create(tenant=tenant, actor=admin_user, name="restore", scopes=["read"])

    source, role = database_url_for_tests()
    owner = urlsplit(source).username or "postgres"
    dump = tmp_path / "helpdesk.dump"
    subprocess.run(
        ["pg_dump", "-Fc", "-f", str(dump), "-d", source],
        check=True,
        capture_output=True,
        timeout=300,
    )
    restored = subprocess.run(
        ["pg_restore", "--no-owner", f"--role={owner}", "-d", fresh_database, str(dump)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert restored.returncode == 0, restored.stderr[-3000:]

    env = app_env(database_url=fresh_database, assume_role=role)
    web = processes.start(WebProcess, env)
    checked = subprocess.run(
        [sys.executable, "-c", CHECK_AND_GRANT],
        cwd=ROOT,
        env=app_env(database_url=fresh_database),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert checked.returncode == 0, checked.stderr[-3000:]
    web.wait_ready()

    response = requests.get(
        f"{web.url}/api/v1/t/acme/tickets/",
        headers={"Authorization": f"Api-Key {key}"},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    assert {row["subject"] for row in response.json()["results"]} == subjects
    assert "Globex secret" not in response.text
    assert requests.get(f"{web.url}/healthz", timeout=10).json()["database"] == "ok"
