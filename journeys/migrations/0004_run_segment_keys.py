"""The customer's segment keys on each run, so that the funnel's breakdowns by company, signup month
and tag no longer join the customers (see ``JourneyRun.company``). Existing runs are filled from
their customers here; new ones are written with them."""

from django.db import migrations, models

_BACKFILL_POSTGRES = """
    UPDATE journeys_journeyrun AS r
    SET company = c.company, customer_since = c.created_at, tags = c.tags
    FROM tickets_customer AS c
    WHERE c.id = r.customer_id AND c.tenant_id = r.tenant_id
"""
_BACKFILL_GENERIC = """
    UPDATE journeys_journeyrun
    SET company = (SELECT c.company FROM tickets_customer c
                   WHERE c.id = journeys_journeyrun.customer_id),
        customer_since = (SELECT c.created_at FROM tickets_customer c
                          WHERE c.id = journeys_journeyrun.customer_id),
        tags = (SELECT c.tags FROM tickets_customer c WHERE c.id = journeys_journeyrun.customer_id)
"""


def backfill(apps, schema_editor):
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # Every tenant's runs: the tables force row-level security, even for their owner.
            cursor.execute("SELECT set_config('app.bypass_rls', 'on', true)")
            cursor.execute(_BACKFILL_POSTGRES)
            cursor.execute("SELECT set_config('app.bypass_rls', '', true)")
        else:
            cursor.execute(_BACKFILL_GENERIC)


class Migration(migrations.Migration):
    dependencies = [
        ("journeys", "0003_ingest_fewer_checks"),
        ("tickets", "0007_analysis_status_intake_rls"),
    ]

    operations = [
        migrations.AddField(
            model_name="journeyrun",
            name="company",
            field=models.CharField(blank=True, default="", max_length=200),
        ),
        migrations.AddField(
            model_name="journeyrun",
            name="customer_since",
            field=models.DateTimeField(
                blank=True,
                help_text="The customer's created_at (signup month breakdown).",
                null=True,
            ),
        ),
        migrations.AddField(
            model_name="journeyrun",
            name="tags",
            field=models.JSONField(blank=True, default=list),
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop, elidable=True),
    ]
