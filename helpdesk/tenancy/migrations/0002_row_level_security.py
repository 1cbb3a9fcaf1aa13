from django.db import migrations

from helpdesk.tenancy.rls import EnableRowLevelSecurity


class Migration(migrations.Migration):
    dependencies = [("tenancy", "0001_initial")]

    operations = [
        EnableRowLevelSecurity("apikey"),
        EnableRowLevelSecurity("tenantcounter"),
    ]
