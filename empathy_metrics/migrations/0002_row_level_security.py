from django.db import migrations

from helpdesk.tenancy.rls import AddTenantForeignKey, EnableRowLevelSecurity


class Migration(migrations.Migration):
    dependencies = [("empathy_metrics", "0001_initial")]

    operations = [
        EnableRowLevelSecurity("surveysettings"),
        EnableRowLevelSecurity("surveyrequest"),
        EnableRowLevelSecurity("surveyresponse"),
        AddTenantForeignKey("surveyrequest", "customer", "tickets.customer"),
        AddTenantForeignKey("surveyrequest", "ticket", "tickets.ticket"),
        AddTenantForeignKey("surveyresponse", "ticket", "tickets.ticket"),
        AddTenantForeignKey("surveyresponse", "customer", "tickets.customer"),
    ]
