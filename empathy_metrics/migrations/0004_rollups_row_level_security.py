from django.db import migrations

from helpdesk.tenancy.rls import AddTenantForeignKey, EnableRowLevelSecurity


class Migration(migrations.Migration):
    dependencies = [("empathy_metrics", "0003_rollups")]

    operations = [
        EnableRowLevelSecurity("metricsrollup"),
        EnableRowLevelSecurity("backlogsnapshot"),
        EnableRowLevelSecurity("customeractivityspan"),
        EnableRowLevelSecurity("retentiondaily"),
        EnableRowLevelSecurity("rollupstate"),
        EnableRowLevelSecurity("digestsubscription"),
        AddTenantForeignKey("customeractivityspan", "customer", "tickets.customer"),
    ]
