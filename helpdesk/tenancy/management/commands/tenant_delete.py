from django.core.management.base import BaseCommand, CommandError

from helpdesk.tenancy.lifecycle import tenant_delete
from helpdesk.tenancy.models import Tenant


class Command(BaseCommand):
    help = "Delete a tenant and everything it owns. Irreversible: export first (tenant_export)."

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("--yes-delete-everything", action="store_true", dest="confirmed")

    def handle(self, *args, slug, confirmed, **options):
        tenant = Tenant.objects.filter(slug=slug).first()
        if tenant is None:
            raise CommandError(f"No tenant {slug!r}.")
        if not confirmed:
            raise CommandError("Refusing without --yes-delete-everything.")
        deleted = tenant_delete(tenant=tenant)
        files = deleted.pop("files", 0)
        rows = sum(deleted.values())
        self.stdout.write(self.style.SUCCESS(f"Deleted {slug}: {rows} rows, {files} stored files."))
