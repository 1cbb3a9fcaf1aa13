"""Re-analyse customer messages after a model change: one tenant or all, in batches.

    python manage.py analysis_reanalyse --tenant acme          # in this process, progress bar
    python manage.py analysis_reanalyse --all --enqueue        # batches on the "analysis" queue,
                                                               # then a progress bar as they finish
    python manage.py analysis_reanalyse --all --outdated       # only rows of another model version

With ``--enqueue`` the command follows the queued batches (their task results) and shows how many
messages the workers have analysed; Ctrl-C stops following (the workers carry on), and
``--no-progress`` returns as soon as everything is queued.

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
        parser.add_argument(
            "--no-progress",
            action="store_true",
            help="No progress bars (with --enqueue: return once the batches are queued).",
        )

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
        queued: list[tuple[int, object]] = []  # (messages in the batch, its task result)
        for current in tenants:
            ids = self._message_ids(current, version)
            total_messages += len(ids)
            if enqueue:
                from tickets.tasks.analysis import messages_analyse_batch_task

                with tqdm(
                    total=len(ids), desc=f"{current.slug} queued", unit="msg", disable=no_progress
                ) as bar:
                    for start in range(0, len(ids), batch_size):
                        chunk = ids[start : start + batch_size]
                        result = messages_analyse_batch_task.apply_async(
                            args=[current.pk, chunk], kwargs={"force": True}
                        )
                        queued.append((len(chunk), result))
                        bar.update(len(chunk))
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
        if queued and not no_progress:
            self._follow(queued)
        self.stdout.write(f"Done: {total_messages} messages in {len(tenants)} tenant(s).")

    def _follow(self, queued: list[tuple[int, object]]) -> None:
        """A progress bar of the messages the workers have analysed, batch by batch (in the
        order they were queued, which is about the order the workers take them)."""
        changed = errors = 0
        total = sum(size for size, _result in queued)
        try:
            with tqdm(total=total, desc="analysed", unit="msg") as bar:
                for size, result in queued:
                    outcome = result.get(propagate=False)
                    if isinstance(outcome, dict) and not outcome.get("error"):
                        changed += outcome.get("changed", 0)
                    else:
                        errors += 1
                    bar.update(size)
        except KeyboardInterrupt:
            self.stdout.write("Stopped following; the queued batches are still analysed.")
            return
        self.stdout.write(
            f"Analysed by the workers: {total} messages, {changed} changed, "
            f"{errors} batch(es) with errors."
        )

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
