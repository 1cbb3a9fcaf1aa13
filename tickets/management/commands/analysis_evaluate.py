"""How far to trust the analyser: precision and recall against a tenant's corrections.

python manage.py analysis_evaluate --tenant acme [--model-version minilm-vader-head-1] [--json]
"""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError

from helpdesk.tenancy.context import tenant_context
from helpdesk.tenancy.models import Tenant
from tickets.selectors_analysis import analysis_evaluation


def _fmt(value) -> str:
    return "   —" if value is None else f"{value:.2f}"


class Command(BaseCommand):
    help = "Precision/recall of the message analyser against the corrections of one tenant."

    def add_arguments(self, parser):
        parser.add_argument("--tenant", required=True, help="The tenant's slug.")
        parser.add_argument("--model-version", default="")
        parser.add_argument("--json", action="store_true")

    def handle(self, *args, tenant, model_version, json: bool, **options):
        found = Tenant.objects.filter(slug=tenant).first()
        if found is None:
            raise CommandError(f"No tenant with the slug {tenant!r}.")
        with tenant_context(found):
            report = analysis_evaluation(tenant=found, model_version=model_version)
        if json:
            self.stdout.write(_dumps(report))
            return
        out = self.stdout.write
        out(f"Tenant {found.slug}: {report['messages']} analysed messages")
        out(
            "A field that nobody corrected counts as accepted: the figures are upper bounds that "
            "tighten as agents correct more."
        )
        sentiment = report["sentiment"]
        out(
            f"\nSentiment ({sentiment['corrections']} corrections), "
            f"accuracy {_fmt(sentiment['accuracy'])}"
        )
        out(f"  {'label':12} {'precision':>9} {'recall':>7} {'support':>8}")
        for label in ("negative", "neutral", "positive"):
            row = sentiment[label]
            out(
                f"  {label:12} {_fmt(row['precision']):>9} {_fmt(row['recall']):>7} "
                f"{row['support']:>8}"
            )
        out(
            f"\nSignals\n  {'signal':12} {'precision':>9} {'recall':>7} {'support':>8} {'corr.':>6}"
        )
        for name, row in report["signals"].items():
            out(
                f"  {name:12} {_fmt(row['precision']):>9} {_fmt(row['recall']):>7} "
                f"{row['support']:>8} {row['corrections']:>6}"
            )


def _dumps(report: dict) -> str:
    return json.dumps(report, indent=2)
