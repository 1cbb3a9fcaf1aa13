from django.db import migrations

from helpdesk.tenancy.rls import AddTenantForeignKey, EnableRowLevelSecurity


class Migration(migrations.Migration):
    dependencies = [("tickets", "0001_initial")]

    operations = [
        *(
            EnableRowLevelSecurity(model)
            for model in (
                "customer",
                "group",
                "groupmember",
                "tag",
                "ticket",
                "tickettag",
                "message",
                "ticketevent",
            )
        ),
        AddTenantForeignKey("groupmember", "group", "group"),
        AddTenantForeignKey("ticket", "customer", "customer"),
        AddTenantForeignKey("ticket", "group", "group"),
        AddTenantForeignKey("ticket", "merged_into", "ticket"),
        AddTenantForeignKey("tickettag", "ticket", "ticket"),
        AddTenantForeignKey("tickettag", "tag", "tag"),
        AddTenantForeignKey("message", "ticket", "ticket"),
        AddTenantForeignKey("message", "author_customer", "customer"),
        AddTenantForeignKey("ticketevent", "ticket", "ticket"),
        AddTenantForeignKey("ticketevent", "actor_customer", "customer"),
    ]
