from django.db import migrations

from helpdesk.tenancy.rls import AddTenantForeignKey, EnableRowLevelSecurity


class Migration(migrations.Migration):
    dependencies = [("tickets", "0006_analysis_status_intake")]

    operations = [
        *(
            EnableRowLevelSecurity(model)
            for model in (
                "messageanalysis",
                "analysiscorrection",
                "triagerule",
                "analysissettings",
                "intakesettings",
                "mailbox",
                "inboundemail",
                "outboundemail",
                "attachment",
                "article",
                "chatsession",
            )
        ),
        AddTenantForeignKey("messageanalysis", "message", "message"),
        AddTenantForeignKey("messageanalysis", "ticket", "ticket"),
        AddTenantForeignKey("analysiscorrection", "message", "message"),
        AddTenantForeignKey("attachment", "message", "message"),
        AddTenantForeignKey("outboundemail", "ticket", "ticket"),
        AddTenantForeignKey("chatsession", "ticket", "ticket"),
    ]
