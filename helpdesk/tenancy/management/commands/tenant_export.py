import shutil
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from helpdesk.tenancy.lifecycle import tenant_export
from helpdesk.tenancy.models import Tenant


class Command(BaseCommand):
    help = (
        "Export all of one tenant's data: one JSON or CSV file per model (secrets left out) and the "
        "content of its stored files (attachments, raw emails) under files/; --zip packs it all."
    )

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("directory")
        parser.add_argument("--format", choices=["json", "csv"], default="json")
        parser.add_argument(
            "--zip", action="store_true", help="Also write <directory>.zip with everything in it."
        )

    def handle(self, *args, slug, directory, format, zip=False, **options):
        tenant = Tenant.objects.filter(slug=slug).first()
        if tenant is None:
            raise CommandError(f"No tenant {slug!r}.")
        counts = tenant_export(tenant=tenant, directory=Path(directory), fmt=format)
        for label, count in counts.items():
            self.stdout.write(f"{label:40} {count}")
        if zip:
            archive = shutil.make_archive(str(Path(directory)), "zip", root_dir=directory)
            self.stdout.write(f"Archive: {archive}")
