"""Re-analyse customer messages after a model change: one tenant or all, in batches.

    python manage.py analysis_reanalyse --tenant acme          # in this process, progress bar
    python manage.py analysis_reanalyse --all --enqueue        # batches on the "analysis" queue
    python manage.py analysis_reanalyse --all --outdated       # only rows of another model version

Results are replaced only where they differ (idempotent); triage rules never fire twice for a
message; corrections stay as they are (they keep the model version they corrected).
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from helpdesk.tenancy.context import system_context, tenant_context
from helpdesk.tenancy.models import Tenant
from tickets.models import AuthorType, Message, MessageAnalysis
from tickets.services.analysis import messages_analyse


class Command(BaseCommand):
    help = "Re-analyse the customer messages of a tenant (or of all tenants) in batches."

    def add_arguments(self, parser):
        target = parser.add_mutually_exclusive_group(required=True)
        target.add_argument("--tenant", help="The tenant's slug.")
        target.add_argument("--all", action="store_true", help="Every tenant.")
        parser.add_argument("--batch-size", type=int, default=64)
        parser.add_argument(
            "--outdated",
            action="store_true",
            help="Only messages not yet analysed by the current model version.",
        )
        parser.add_argument(
            "--enqueue",
            action="store_true",
            help="Send the batches to the analysis workers instead of running them here.",
        )
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args, tenant, all, batch_size, outdated, enqueue, no_progress, **options):
        if batch_size < 1 or batch_size > 1000:
            raise CommandError("--batch-size must be between 1 and 1000.")
        if tenant:
            tenants = list(Tenant.objects.filter(slug=tenant))
            if not tenants:
                raise CommandError(f"No tenant with the slug {tenant!r}.")
        else:
            with system_context(reason="analysis re-analysis: list tenants"):
                tenants = list(Tenant.objects.order_by("pk"))
        version = ""
        if outdated:
            from tickets.analysis import get_analyser

            version = get_analyser().model_version
        total_messages = 0
        for current in tenants:
            ids = self._message_ids(current, version)
            total_messages += len(ids)
            if enqueue:
                from tickets.tasks.analysis import messages_analyse_batch_task

                for start in range(0, len(ids), batch_size):
                    messages_analyse_batch_task.apply_async(
                        args=[current.pk, ids[start : start + batch_size]],
                        kwargs={"force": True},
                    )
                self.stdout.write(
                    f"{current.slug}: {len(ids)} messages queued in "
                    f"{-(-len(ids) // batch_size)} batches."
                )
                continue
            changed = 0
            with tqdm(total=len(ids), desc=current.slug, unit="msg", disable=no_progress) as bar:
                for start in range(0, len(ids), batch_size):
                    chunk = ids[start : start + batch_size]
                    outcome = messages_analyse(tenant=current, message_ids=chunk, force=True)
                    changed += outcome.changed
                    bar.update(len(chunk))
            self.stdout.write(f"{current.slug}: {len(ids)} messages analysed, {changed} changed.")
        self.stdout.write(f"Done: {total_messages} messages in {len(tenants)} tenant(s).")

    @staticmethod
    def _message_ids(tenant: Tenant, version: str) -> list[int]:
        with tenant_context(tenant):
            queryset = Message.objects.for_tenant(tenant).filter(
                author_type=AuthorType.CUSTOMER, is_internal=False
            )
            if version:
                current = MessageAnalysis.objects.for_tenant(tenant).filter(model_version=version)
                queryset = queryset.exclude(pk__in=current.values("message_id"))
            return list(queryset.order_by("pk").values_list("pk", flat=True))
