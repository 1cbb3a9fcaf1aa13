import os

from django.core.management.base import BaseCommand

from helpdesk.tenancy.db_roles import app_role_ensure


class Command(BaseCommand):
    help = (
        "PostgreSQL: create the application role (no table ownership, no BYPASSRLS) and grant it "
        "data access. Run as the owner role after migrate."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--role", default=os.environ.get("HELPDESK_DB_APP_ROLE", "helpdesk_app")
        )
        parser.add_argument(
            "--password-env",
            default="HELPDESK_DB_APP_PASSWORD",
            help="Environment variable holding the role's password (it gets LOGIN if set).",
        )

    def handle(self, *args, role, password_env, **options):
        app_role_ensure(role=role, password=os.environ.get(password_env) or None)
        self.stdout.write(self.style.SUCCESS(f"Application role {role} is ready."))
