"""Shared fixtures. See CONVENTIONS.md section 6.

On PostgreSQL the suite runs as the application role (``helpdesk_app``: no superuser, no
BYPASSRLS, owns no tables) so that row-level security is really enforced; migrations run as the
connecting owner role first.

Skips: tests that need PostgreSQL or Redis skip with a reason under the embedded defaults. With
``CI=true`` or ``HELPDESK_STRICT=1`` (and not ``HELPDESK_ALLOW_SKIPS=1``) any skip is a failure.
"""

from __future__ import annotations

import os

import pytest
from django.conf import settings
from django.db import connections
from rest_framework.test import APIClient

from helpdesk.tenancy.db_roles import app_role_ensure
from helpdesk.tenancy.policy import Role
from tests.factories.tenancy import MembershipFactory, TenantFactory, UserFactory

APP_ROLE = "helpdesk_app"


def _strict() -> bool:
    if os.environ.get("HELPDESK_ALLOW_SKIPS") == "1":
        return False
    return os.environ.get("CI", "").lower() == "true" or os.environ.get("HELPDESK_STRICT") == "1"


def pytest_collection_modifyitems(config, items):
    is_pg = settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"
    for item in items:
        if "postgres_only" in item.keywords and not is_pg:
            item.add_marker(
                pytest.mark.skip(reason="needs PostgreSQL: set DATABASE_URL=postgres://...")
            )
        if "redis_only" in item.keywords and not settings.REDIS_URL:
            item.add_marker(pytest.mark.skip(reason="needs Redis: set REDIS_URL=redis://..."))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.skipped and _strict() and not hasattr(report, "wasxfail"):
        reason = report.longrepr[-1] if isinstance(report.longrepr, tuple) else report.longrepr
        report.outcome = "failed"
        report.longrepr = f"skipped in strict mode (CI=true), which allows no skips: {reason}"


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """On PostgreSQL, switch every connection to the application role after migrating."""
    connection = connections["default"]
    if connection.vendor != "postgresql":
        yield
        return
    with django_db_blocker.unblock():
        # TRUNCATE only for the test runner's flush between transactional tests.
        app_role_ensure(role=APP_ROLE, extra_table_privileges="TRUNCATE")
    options = connection.settings_dict.setdefault("OPTIONS", {})
    options["assume_role"] = APP_ROLE
    connection.close()
    yield
    options.pop("assume_role", None)
    connection.close()


@pytest.fixture
def tenant(db):
    return TenantFactory(name="Acme", slug="acme", reference_prefix="ACME")


@pytest.fixture
def other_tenant(db):
    return TenantFactory(name="Globex", slug="globex", reference_prefix="GLOBEX")


def _member(tenant, role, email):
    return MembershipFactory(tenant=tenant, user=UserFactory(email=email), role=role).user


@pytest.fixture
def agent(tenant):
    return _member(tenant, Role.AGENT, "agent@acme.test")


@pytest.fixture
def admin_user(tenant):
    return _member(tenant, Role.ADMIN, "admin@acme.test")


@pytest.fixture
def other_agent(other_tenant):
    return _member(other_tenant, Role.AGENT, "agent@globex.test")


@pytest.fixture
def other_admin(other_tenant):
    return _member(other_tenant, Role.ADMIN, "admin@globex.test")


@pytest.fixture
def member_factory():
    return _member


@pytest.fixture
def api_client_for():
    def make(user=None) -> APIClient:
        client = APIClient()
        if user is not None:
            client.force_login(user)
        return client

    return make


@pytest.fixture
def real_celery_worker(transactional_db):
    """A real Celery worker (thread, solo pool) consuming from Redis on a queue of its own."""
    if not settings.REDIS_URL:
        pytest.skip("needs Redis: set REDIS_URL=redis://...")
    from celery.contrib.testing.worker import start_worker

    from helpdesk.celery import app

    queue = f"test-{os.getpid()}"
    previous = (app.conf.task_always_eager, app.conf.task_default_queue)
    app.conf.task_always_eager = False
    app.conf.task_default_queue = queue
    try:
        with start_worker(
            app, queues=[queue], pool="solo", perform_ping_check=False, shutdown_timeout=10
        ):
            yield app
    finally:
        app.conf.task_always_eager, app.conf.task_default_queue = previous


@pytest.fixture(autouse=True)
def _fresh_cache_keyspace(settings):
    """Each test gets its own cache key prefix (on Redis too), so cached values never leak
    between tests whose database ids repeat."""
    import uuid

    caches = {alias: dict(config) for alias, config in settings.CACHES.items()}
    for config in caches.values():
        config["KEY_PREFIX"] = f"{config.get('KEY_PREFIX', 'test')}-{uuid.uuid4().hex[:8]}"
    settings.CACHES = caches
