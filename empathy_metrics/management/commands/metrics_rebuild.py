"""Rebuild the metrics rollups from the source tables.

    python manage.py metrics_rebuild                  # every tenant
    python manage.py metrics_rebuild --tenant acme    # one tenant
    python manage.py metrics_rebuild --tenant acme --since 2026-01-01   # days from then on

Beat keeps the rollups current incrementally; this command recomputes them from scratch (after a
bulk import, a restore, or a change of definitions). Safe to run while the helpdesk is in use.
"""

from __future__ import annotations

import time
from datetime import date

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from empathy_metrics.services_rollups import metrics_rollup_rebuild
from helpdesk.tenancy.context import system_context
from helpdesk.tenancy.models import Tenant


class Command(BaseCommand):
    help = "Recompute the metrics rollups from the source tables."

    def add_arguments(self, parser):
        parser.add_argument("--tenant", help="Slug of one tenant (default: every tenant).")
        parser.add_argument("--since", help="Only recompute the days from this date (YYYY-MM-DD).")

    def handle(self, *args, tenant=None, since=None, **options):
        since_day = None
        if since:
            try:
                since_day = date.fromisoformat(since)
            except ValueError as error:
                raise CommandError("--since must be a date like 2026-01-31.") from error
        with system_context(reason="metrics rebuild command"):
            tenants = list(Tenant.objects.order_by("pk"))
        if tenant:
            tenants = [t for t in tenants if t.slug == tenant]
            if not tenants:
                raise CommandError(f"No tenant with the slug {tenant!r}.")
        for each in tenants:
            started = time.monotonic()
            result = metrics_rollup_rebuild(tenant=each, now=timezone.now(), since=since_day)
            self.stdout.write(
                f"{each.slug}: {result['days']} days, {result['rows']} rollup rows, "
                f"{result['retention_days']} retention days, backlog {result['backlog']} "
                f"({time.monotonic() - started:.1f} s)"
            )
