"""Export a tenant's corrections as a labelled set (JSON lines), for evaluation or training.

    python manage.py analysis_export_corrections --tenant acme [--output corrections.jsonl]

One line per correction: the message text as the analyser read it (``prepare``: quoted history
and signature removed, email addresses, links and handles left out), the field (sentiment or a signal), the predicted and the corrected value, the model
version and when. Customer and agent identities are not exported.
"""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError

from helpdesk.tenancy.context import tenant_context
from helpdesk.tenancy.models import Tenant
from tickets.analysis.text import prepare
from tickets.selectors_analysis import corrections_labelled_set


class Command(BaseCommand):
    help = "Export a tenant's analysis corrections as a labelled set (JSON lines)."

    def add_arguments(self, parser):
        parser.add_argument("--tenant", required=True, help="The tenant's slug.")
        parser.add_argument("--output", default="-", help="A file path, or - for stdout.")

    def handle(self, *args, tenant, output, **options):
        found = Tenant.objects.filter(slug=tenant).first()
        if found is None:
            raise CommandError(f"No tenant with the slug {tenant!r}.")
        handle = self.stdout if output == "-" else open(output, "w", encoding="utf-8")  # noqa: SIM115
        count = 0
        try:
            with tenant_context(found):
                for correction in corrections_labelled_set(tenant=found).iterator():
                    row = {
                        "message": str(correction.message.public_id),
                        "text": prepare(correction.message.body_text),
                        "field": correction.field,
                        "predicted": correction.predicted,
                        "label": correction.corrected,
                        "model_version": correction.model_version,
                        "corrected_at": correction.created_at.isoformat(),
                    }
                    handle.write(json.dumps(row, ensure_ascii=False) + "\n")
                    count += 1
        finally:
            if handle is not self.stdout:
                handle.close()
        self.stderr.write(f"{count} corrections exported.")
