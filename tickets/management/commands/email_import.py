"""Import email history (a migration from another helpdesk): an mbox file or a folder of .eml.

    python manage.py email_import --tenant acme export.mbox
    python manage.py email_import --tenant acme exported-mails/ --queue

Each message goes through the same path as live mail (stored first, de-duplicated by Message-ID,
threaded into tickets), except that imports are not rate-limited, never acknowledged to the
customer, and keep their original dates. Running the same import twice stores nothing twice.
By default the messages are processed here, in order (so replies find their tickets); with
``--queue`` they are handed to the task workers instead.
"""

from __future__ import annotations

from collections import Counter

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from helpdesk.tenancy.selectors import tenant_get_by_slug
from tickets import services
from tickets.email.sources import SourceError, iter_messages
from tickets.models import InboundEmail


class Command(BaseCommand):
    help = "Import an mbox file, one .eml file or a folder of .eml files into a tenant's tickets."

    def add_arguments(self, parser):
        parser.add_argument("path", help="An mbox file, an .eml file or a folder of .eml files.")
        parser.add_argument("--tenant", required=True, help="The tenant's slug, e.g. acme.")
        parser.add_argument(
            "--queue",
            action="store_true",
            help="Queue processing for the task workers instead of processing here.",
        )

    def handle(self, *args, path: str, tenant: str, queue: bool, **options):
        target = tenant_get_by_slug(slug=tenant)
        if target is None:
            raise CommandError(f"No tenant with the slug {tenant!r}.")
        counts: Counter[str] = Counter()
        try:
            for label, raw in iter_messages(path):
                counts["read"] += 1
                try:
                    inbound, created = services.inbound_email_receive(
                        tenant=target, raw=raw, source="import", enqueue=queue
                    )
                except ValidationError:
                    counts["empty"] += 1
                    continue
                if not created:
                    counts["already imported"] += 1
                    continue
                if inbound.state == InboundEmail.State.RECEIVED and not queue:
                    inbound = services.inbound_email_process(tenant=target, inbound=inbound)
                counts[inbound.state] += 1
                if options["verbosity"] > 1:
                    self.stdout.write(f"{label}: {inbound.state} {inbound.reason}".rstrip())
        except SourceError as exc:
            raise CommandError(str(exc)) from exc
        summary = ", ".join(f"{count} {name}" for name, count in counts.items() if name != "read")
        self.stdout.write(
            self.style.SUCCESS(f"Read {counts['read']} messages: {summary or 'nothing new'}.")
        )
