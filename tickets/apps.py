from django.apps import AppConfig


class TicketsConfig(AppConfig):
    name = "tickets"

    def ready(self) -> None:
        from helpdesk.tenancy.navigation import NavEntry, register
        from helpdesk.tenancy.policy import Perm
        from tickets.directory import connect_signals

        connect_signals()  # the workspace pages' cached directory follows every change

        register(
            NavEntry(
                "Queue",
                "tickets:queue",
                Perm.TICKETS_VIEW,
                "work",
                "inbox",
                also_active_under=("tickets/",),
            )
        )
        register(
            NavEntry(
                "Customers", "tickets:customer-list-page", Perm.CUSTOMERS_VIEW, "work", "people"
            )
        )
        register(NavEntry("Webhooks", "tickets:webhooks", Perm.WEBHOOKS_MANAGE, "admin", "send"))
        register(NavEntry("Chat", "tickets:chat", Perm.TICKETS_VIEW, "work", "messages"))
        register(
            NavEntry(
                "Analysis", "tickets:analysis-settings", Perm.SETTINGS_MANAGE, "admin", "activity"
            )
        )
        from helpdesk.tenancy.setup import register_tenant_setup
        from tickets.services.analysis import triage_rules_install_defaults

        register_tenant_setup(triage_rules_install_defaults)
        register(
            NavEntry(
                "Help centre",
                "tickets:article-admin",
                Perm.WORKSPACE_MANAGE,
                "admin",
                "book",
                also_active_under=("admin/articles/",),
            )
        )
