from django.db import migrations

from helpdesk.tenancy.rls import EnableRowLevelSecurity


class Migration(migrations.Migration):
    dependencies = [("tenancy", "0004_audit_entry")]

    operations = [EnableRowLevelSecurity("auditentry")]
