"""Both modes boot from the environment alone; production refuses unsafe configurations."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PROBE = (
    "import json, django; django.setup(); from django.conf import settings as s; "
    "print(json.dumps({'db': s.DATABASES['default']['ENGINE'], "
    "'layer': s.CHANNEL_LAYERS['default']['BACKEND'], 'cache': s.CACHES['default']['BACKEND'], "
    "'eager': s.CELERY_TASK_ALWAYS_EAGER, 'broker': s.CELERY_BROKER_URL, 'debug': s.DEBUG, "
    "'conn_max_age': s.DATABASES['default'].get('CONN_MAX_AGE'), "
    "'sqlite_options': s.DATABASES['default'].get('OPTIONS', {})}))"
)
SERVICE_VARS = ("DATABASE_URL", "REDIS_URL", "HELPDESK_ENV", "DJANGO_SECRET_KEY", "DJANGO_DEBUG")


def run_python(code: str, **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in SERVICE_VARS}
    clean["DJANGO_SETTINGS_MODULE"] = "helpdesk.settings.base"
    clean.update(env)
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
    )


def run_manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in SERVICE_VARS}
    clean["DJANGO_SETTINGS_MODULE"] = "helpdesk.settings.base"
    clean.update(env)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_embedded_defaults_need_no_service():
    result = run_python(PROBE)
    assert result.returncode == 0, result.stderr
    config = json.loads(result.stdout)
    assert config["db"] == "django.db.backends.sqlite3"
    assert "journal_mode=WAL" in config["sqlite_options"]["init_command"]
    assert config["sqlite_options"]["transaction_mode"] == "IMMEDIATE"
    assert config["layer"] == "channels.layers.InMemoryChannelLayer"
    assert config["cache"].endswith("LocMemCache")
    assert config["eager"] is True
    assert config["debug"] is True


def test_service_urls_switch_to_postgres_redis_and_real_workers():
    result = run_python(
        PROBE,
        DATABASE_URL="postgres://u:p@db.example:5432/helpdesk",
        REDIS_URL="redis://cache:6379/0",
    )
    assert result.returncode == 0, result.stderr
    config = json.loads(result.stdout)
    assert config["db"] == "django.db.backends.postgresql"
    assert config["conn_max_age"] == 60
    assert config["layer"] == "channels_redis.core.RedisChannelLayer"
    assert config["cache"] == "helpdesk.cache.ResilientRedisCache"
    assert config["eager"] is False
    assert config["broker"] == "redis://cache:6379/0"


@pytest.mark.postgres_only
def test_the_application_s_postgresql_sessions_run_without_jit(db):
    """JIT compilation costs the dashboards' and journeys' reads more than it saves."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW jit")
        assert cursor.fetchone()[0] == "off"


def test_jit_stays_on_where_asked_and_other_connection_options_are_kept():
    probe = (
        "import json, django; django.setup(); from django.conf import settings as s; "
        "print(json.dumps(s.DATABASES['default'].get('OPTIONS', {})))"
    )
    url = "postgres://u:p@db.example:5432/helpdesk?options=-c%20statement_timeout%3D5000"
    off = json.loads(run_python(probe, DATABASE_URL=url).stdout)
    assert off["options"] == "-c statement_timeout=5000 -c jit=off"
    on = json.loads(run_python(probe, DATABASE_URL=url, HELPDESK_DB_JIT="true").stdout)
    assert on["options"] == "-c statement_timeout=5000"


def test_production_without_secret_key_refuses_with_a_clear_message():
    result = run_python(PROBE, HELPDESK_ENV="production")
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY is not set" in result.stderr


def test_production_with_debug_on_refuses():
    result = run_python(
        PROBE, HELPDESK_ENV="production", DJANGO_SECRET_KEY="s" * 50, DJANGO_DEBUG="true"
    )
    assert result.returncode != 0
    assert "DJANGO_DEBUG is on" in result.stderr


def test_production_debug_is_off_by_default():
    result = run_python(
        PROBE,
        HELPDESK_ENV="production",
        DJANGO_SECRET_KEY="s" * 50,
        DATABASE_URL="postgres://u:p@db.example:5432/helpdesk",
        REDIS_URL="redis://cache:6379/0",
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["debug"] is False


def test_production_on_demo_infrastructure_fails_the_system_check():
    result = run_manage("check", HELPDESK_ENV="production", DJANGO_SECRET_KEY="s" * 50)
    assert result.returncode != 0
    assert "helpdesk.E001" in result.stderr
    assert "helpdesk.E002" in result.stderr


@pytest.mark.postgres_only
@pytest.mark.redis_only
@pytest.mark.django_db
def test_production_settings_pass_the_deploy_check():
    # The check connects (drf-spectacular builds the schema): point it at the test database, so it
    # does not depend on the non-test database named in DATABASE_URL existing.
    from tests.reliability.services import database_url_for_tests

    database_url, _role = database_url_for_tests()
    result = run_manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        HELPDESK_ENV="production",
        DJANGO_SECRET_KEY="a-long-random-production-secret-key-" + "x" * 40,
        DJANGO_ALLOWED_HOSTS="helpdesk.example.com",
        DJANGO_SECURE_HSTS_SECONDS="31536000",
        DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS="true",
        DJANGO_SECURE_HSTS_PRELOAD="true",
        DATABASE_URL=database_url,
        REDIS_URL=os.environ["REDIS_URL"],
    )
    assert result.returncode == 0, result.stdout + result.stderr
