"""Migration operations for PostgreSQL's second line of defence. They do nothing on SQLite.

- ``EnableRowLevelSecurity("ticket")``: ENABLE + FORCE row-level security with a policy that only
  shows rows of the tenant in ``app.tenant_id`` (set by ``tenant_context``), or every row inside
  ``system_context`` (``app.bypass_rls = on``). With no scope set, no row is visible.
- ``AddTenantForeignKey("ticket", "customer", "customer")``: a composite foreign key
  ``(tenant_id, customer_id) -> customer (tenant_id, id)``, so a row can never point to another
  tenant's row.
"""

from __future__ import annotations

from django.db.migrations.operations.base import Operation

POLICY = "tenant_isolation"
# The settings are read in sub-selects so PostgreSQL evaluates them once per query (an InitPlan),
# not once per row: a count over 30,000 rows went from 6.5 ms to about 2 ms.
PREDICATE = (
    "(tenant_id = (SELECT NULLIF(current_setting('app.tenant_id', true), '')::bigint) OR "
    "(SELECT current_setting('app.bypass_rls', true)) = 'on')"
)


def _is_postgres(schema_editor) -> bool:
    return schema_editor.connection.vendor == "postgresql"


class EnableRowLevelSecurity(Operation):
    reversible = True
    reduces_to_sql = True

    def __init__(self, model_name: str):
        self.model_name = model_name

    def state_forwards(self, app_label, state):
        pass

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if not _is_postgres(schema_editor):
            return
        table = schema_editor.quote_name(
            to_state.apps.get_model(app_label, self.model_name)._meta.db_table
        )
        schema_editor.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        schema_editor.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
        schema_editor.execute(f"DROP POLICY IF EXISTS {POLICY} ON {table}")
        schema_editor.execute(
            f"CREATE POLICY {POLICY} ON {table} USING {PREDICATE} WITH CHECK {PREDICATE}"
        )

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if not _is_postgres(schema_editor):
            return
        table = schema_editor.quote_name(
            from_state.apps.get_model(app_label, self.model_name)._meta.db_table
        )
        schema_editor.execute(f"DROP POLICY IF EXISTS {POLICY} ON {table}")
        schema_editor.execute(f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY")
        schema_editor.execute(f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY")

    def describe(self):
        return f"Enable row-level security on {self.model_name}"

    @property
    def migration_name_fragment(self):
        return f"rls_{self.model_name.lower()}"

    def deconstruct(self):
        return (f"{__name__}.{type(self).__name__}", [self.model_name], {})


class AddTenantForeignKey(Operation):
    reversible = True
    reduces_to_sql = True

    def __init__(self, model_name: str, field_name: str, to_model: str):
        self.model_name = model_name
        self.field_name = field_name
        self.to_model = to_model  # "app_label.Model" or a model of the same app

    def state_forwards(self, app_label, state):
        pass

    def _names(self, app_label, apps):
        model = apps.get_model(app_label, self.model_name)
        target_label = self.to_model if "." in self.to_model else f"{app_label}.{self.to_model}"
        target = apps.get_model(target_label)
        column = model._meta.get_field(self.field_name).column
        name = f"{model._meta.db_table}_{column}_tenant_fk"[:63]
        return model._meta.db_table, column, target._meta.db_table, name

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if not _is_postgres(schema_editor):
            return
        table, column, target, name = self._names(app_label, to_state.apps)
        q = schema_editor.quote_name
        schema_editor.execute(
            f"ALTER TABLE {q(table)} ADD CONSTRAINT {q(name)} "
            f"FOREIGN KEY (tenant_id, {q(column)}) REFERENCES {q(target)} (tenant_id, id) "
            "DEFERRABLE INITIALLY DEFERRED"
        )

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if not _is_postgres(schema_editor):
            return
        table, _column, _target, name = self._names(app_label, from_state.apps)
        q = schema_editor.quote_name
        schema_editor.execute(f"ALTER TABLE {q(table)} DROP CONSTRAINT IF EXISTS {q(name)}")

    def describe(self):
        return f"Tenant-safe foreign key {self.model_name}.{self.field_name} -> {self.to_model}"

    def deconstruct(self):
        return (
            f"{__name__}.{type(self).__name__}",
            [self.model_name, self.field_name, self.to_model],
            {},
        )


class RunPostgresSQL(Operation):
    """Raw SQL that only PostgreSQL runs (e.g. GIN indexes for full-text search)."""

    reversible = True
    reduces_to_sql = True

    def __init__(self, sql: str, reverse_sql: str):
        self.sql = sql
        self.reverse_sql = reverse_sql

    def state_forwards(self, app_label, state):
        pass

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if _is_postgres(schema_editor):
            schema_editor.execute(self.sql)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if _is_postgres(schema_editor):
            schema_editor.execute(self.reverse_sql)

    def describe(self):
        return "PostgreSQL-only SQL"

    def deconstruct(self):
        return (f"{__name__}.{type(self).__name__}", [self.sql, self.reverse_sql], {})
