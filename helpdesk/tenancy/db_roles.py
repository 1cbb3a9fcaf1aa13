"""The PostgreSQL application role: owns no tables, cannot bypass row-level security."""

from __future__ import annotations

from django.db import connection

APP_PRIVILEGES = "SELECT, INSERT, UPDATE, DELETE"


def app_role_ensure(
    *, role: str, password: str | None = None, extra_table_privileges: str = ""
) -> None:
    """Create ``role`` if missing and grant it data access to every table of the schema.

    Run by the migrating (owner) role after ``migrate``; ``ALTER DEFAULT PRIVILEGES`` covers
    tables that later migrations of the same owner create.
    """
    if connection.vendor != "postgresql":
        return
    privileges = APP_PRIVILEGES + (f", {extra_table_privileges}" if extra_table_privileges else "")
    q = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role])
        if cursor.fetchone() is None:
            login = "LOGIN" if password else "NOLOGIN"
            cursor.execute(
                f"CREATE ROLE {q(role)} {login} NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE"
            )
            if password:
                cursor.execute(f"ALTER ROLE {q(role)} PASSWORD %s", [password])
        cursor.execute("SELECT current_user")
        owner = cursor.fetchone()[0]
        cursor.execute(f"GRANT {q(role)} TO {q(owner)}")
        cursor.execute(f"GRANT USAGE ON SCHEMA public TO {q(role)}")
        cursor.execute(f"GRANT {privileges} ON ALL TABLES IN SCHEMA public TO {q(role)}")
        cursor.execute(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {q(role)}")
        cursor.execute(
            f"ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT {privileges} ON TABLES TO {q(role)}"
        )
        cursor.execute(
            f"ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES "
            f"TO {q(role)}"
        )
