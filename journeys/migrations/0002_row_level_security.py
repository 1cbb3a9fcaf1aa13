from django.db import migrations

from helpdesk.tenancy.rls import AddTenantForeignKey, EnableRowLevelSecurity


class Migration(migrations.Migration):
    dependencies = [("journeys", "0001_initial")]

    operations = [
        *(
            EnableRowLevelSecurity(model)
            for model in (
                "journey",
                "journeystage",
                "journeyevent",
                "customerkey",
                "journeyrun",
                "journeystep",
            )
        ),
        AddTenantForeignKey("journeystage", "journey", "journey"),
        AddTenantForeignKey("journeyevent", "customer", "tickets.customer"),
        AddTenantForeignKey("customerkey", "customer", "tickets.customer"),
        AddTenantForeignKey("journeyrun", "journey", "journey"),
        AddTenantForeignKey("journeyrun", "customer", "tickets.customer"),
        AddTenantForeignKey("journeystep", "run", "journeyrun"),
        AddTenantForeignKey("journeystep", "journey", "journey"),
        AddTenantForeignKey("journeystep", "customer", "tickets.customer"),
    ]
