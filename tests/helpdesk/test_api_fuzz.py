"""Fuzzing the REST API with Schemathesis against /api/schema/ on a live server.

The real ASGI application runs under uvicorn in a thread (tests/browser/conftest.py's
``asgi_server``) on the test database, with a tenant that has one object of every kind. The
Schemathesis CLI (a separate process, a tool that did not come from us) reads the schema from the
server and sends generated requests to every operation as the tenant's admin (a personal token):
the examples, coverage and fuzzing phases (stateless) and the stateful phase (links between
operations). The inbound email webhook takes an API key with ``ingest:email`` instead (an
``[[operations]]`` entry), so its body is fuzzed too. The run fails on any 5xx, and on any response that does not match the schema
(status code, content type, body).

Marked ``fuzz``: about four minutes on two shared cores. ``HELPDESK_FUZZ_EXAMPLES`` raises the number of
generated cases per operation for a longer run; the report (JUnit XML and a pytest file that
reproduces each failure) goes to ``HELPDESK_FUZZ_REPORT_DIR`` (default: a temporary folder).
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from rest_framework.authtoken.models import Token

from helpdesk.tenancy.context import tenant_context
from helpdesk.tenancy.services import api_key_create
from tests.browser.conftest import asgi_server  # noqa: F401 (the live-server fixture)
from tests.factories.tickets import CustomerFactory, TicketFactory
from tickets.models import InboundEmail

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.fuzz, pytest.mark.django_db(transaction=True)]

CHECKS = ",".join(
    [
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_schema_conformance",
    ]
)


def schemathesis_cli() -> list[str]:
    found = shutil.which("st", path=str(Path(sys.executable).parent))
    if found is None:
        pytest.skip("needs schemathesis (the dev extra)")
    return [found]


class _Lines(logging.Handler):
    def __init__(self):
        super().__init__(level=logging.WARNING)
        self.lines: list[str] = []

    def emit(self, record):
        self.lines.append(record.getMessage())


@pytest.fixture
def request_log():
    """What the live server logs about 4xx/5xx answers (``django.request``)."""
    handler = _Lines()
    logger = logging.getLogger("django.request")
    logger.addHandler(handler)
    yield handler
    logger.removeHandler(handler)


@pytest.fixture
def fuzz_world(tenant, admin_user):
    customer = CustomerFactory(tenant=tenant)
    TicketFactory(tenant=tenant, customer=customer)
    api_key_create(tenant=tenant, actor=admin_user, name="fuzz", scopes=["read"])
    # The inbound email webhook takes only an API key with ingest:email (or a signature), not a
    # person's token: without this key every fuzzed request to it would stop at 401.
    _key, ingest_key = api_key_create(
        tenant=tenant, actor=admin_user, name="fuzz ingest", scopes=["ingest:email"]
    )
    return Token.objects.create(user=admin_user).key, ingest_key


def test_the_api_survives_schemathesis_and_matches_its_schema(
    asgi_server,  # noqa: F811
    fuzz_world,
    tenant,
    tmp_path,
    request_log,
):
    report_dir = Path(os.environ.get("HELPDESK_FUZZ_REPORT_DIR") or tmp_path / "report")
    config = tmp_path / "schemathesis.toml"
    bearer, ingest_key = fuzz_world
    config.write_text(
        f"""
headers = {{ Authorization = "Bearer {bearer}" }}

[parameters]
"path.tenant_slug" = "acme"

[[operations]]
include-path-regex = "/email/inbound/$"
headers = {{ Authorization = "Api-Key {ingest_key}" }}
"""
    )
    examples = os.environ.get("HELPDESK_FUZZ_EXAMPLES", "15")
    command = [
        *schemathesis_cli(),
        "--config-file",
        str(config),
        "run",
        f"{asgi_server}/api/schema/?format=json",
        "--phases",
        "examples,coverage,fuzzing,stateful",
        "--checks",
        CHECKS,
        "--max-examples",
        examples,
        "--workers",
        "1",
        "--seed",
        os.environ.get("HELPDESK_FUZZ_SEED", "9"),
        "--request-timeout",
        "30",
        "--suppress-health-check",
        "all",
        "--report",
        "junit,pytest",
        "--report-dir",
        str(report_dir),
        "--no-color",
    ]
    result = subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=900,
        env={
            **os.environ,
            "SCHEMATHESIS_HOOKS": "tests.helpdesk.schemathesis_hooks",
            "PYTHONPATH": str(ROOT),
        },
        cwd=tmp_path,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-20000:]
    assert "No issues found" in output or "passed" in output, output[-5000:]
    # The email webhook's body was fuzzed past authentication: the server logged its answers to
    # generated bodies (400 and such, or a stored message), never a refused credential.
    server_log = [line for line in request_log.lines if "/email/inbound/" in line]
    with tenant_context(tenant):
        stored = InboundEmail.objects.for_tenant(tenant).count()
    assert server_log or stored, output[-5000:]
    refused = [line for line in server_log if "Unauthorized" in line or "Forbidden" in line]
    assert refused == [], refused[:5]
