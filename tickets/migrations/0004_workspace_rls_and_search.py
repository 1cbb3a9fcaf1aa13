from django.db import migrations

from helpdesk.tenancy.rls import AddTenantForeignKey, EnableRowLevelSecurity, RunPostgresSQL

# Full-text search (PostgreSQL): the expressions match what tickets/search.py queries, so the
# planner uses these indexes.
SEARCH_INDEXES = [
    (
        "ticket_subject_fts_idx",
        "tickets_ticket",
        "to_tsvector('english'::regconfig, COALESCE(subject, ''))",
    ),
    (
        "message_body_fts_idx",
        "tickets_message",
        "to_tsvector('english'::regconfig, COALESCE(body_text, ''))",
    ),
    (
        "customer_fts_idx",
        "tickets_customer",
        "to_tsvector('simple'::regconfig, COALESCE(name, '') || ' ' || COALESCE(email, '') || ' ' "
        "|| COALESCE(company, ''))",
    ),
]


class Migration(migrations.Migration):
    dependencies = [("tickets", "0003_workspace")]

    operations = [
        *(
            EnableRowLevelSecurity(model)
            for model in (
                "slapolicy",
                "macro",
                "savedview",
                "customfielddefinition",
                "notification",
                "webhookendpoint",
                "webhookdelivery",
                "idempotencykey",
            )
        ),
        AddTenantForeignKey("ticket", "repeat_of", "ticket"),
        AddTenantForeignKey("ticket", "sla_policy", "slapolicy"),
        AddTenantForeignKey("webhookdelivery", "endpoint", "webhookendpoint"),
        *(
            RunPostgresSQL(
                f"CREATE INDEX {name} ON {table} USING gin ({expression})",
                f"DROP INDEX IF EXISTS {name}",
            )
            for name, table, expression in SEARCH_INDEXES
        ),
    ]
