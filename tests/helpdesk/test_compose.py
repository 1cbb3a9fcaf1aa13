"""docker-compose.yml is valid (Debian's docker-compose validates it without an engine)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
SECRETS = {
    "DJANGO_SECRET_KEY": "x" * 50,
    "POSTGRES_PASSWORD": "pg",
    "HELPDESK_DB_OWNER_PASSWORD": "owner",
    "HELPDESK_DB_APP_PASSWORD": "app",
}


def compose(*args: str, **env: str) -> subprocess.CompletedProcess:
    if shutil.which("docker-compose") is None:
        pytest.skip("docker-compose is not installed (apt-get install docker-compose)")
    clean = {k: v for k, v in os.environ.items() if k not in SECRETS}
    clean.update(env)
    return subprocess.run(
        ["docker-compose", "-f", "docker-compose.yml", *args],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_compose_file_is_valid():
    result = compose("config", "-q", **SECRETS)
    assert result.returncode == 0, result.stderr


def test_compose_refuses_to_start_without_secrets():
    result = compose("config", "-q")
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY" in result.stderr or "POSTGRES_PASSWORD" in result.stderr


def test_compose_runs_every_part_of_the_stack_from_one_image():
    result = compose("config", **SECRETS)
    services = yaml.safe_load(result.stdout)["services"]
    assert {"postgres", "redis", "web", "realtime", "worker", "beat", "proxy", "migrate"} <= set(
        services
    )
    for name in ("web", "realtime", "worker", "beat", "migrate"):
        assert services[name]["image"] == "helpdesk:latest"
    assert "gunicorn" in services["web"]["command"]
    assert "uvicorn" in services["realtime"]["command"]
    assert services["web"]["environment"]["HELPDESK_ENV"] == "production"
    assert services["web"]["environment"]["DATABASE_URL"].startswith("postgres://helpdesk_app:")
    assert services["migrate"]["environment"]["DATABASE_URL"].startswith(
        "postgres://helpdesk_owner:"
    )
    for name in ("postgres", "redis", "web"):
        assert "healthcheck" in services[name]
