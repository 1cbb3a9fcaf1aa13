from django.apps import AppConfig


class JourneysConfig(AppConfig):
    name = "journeys"

    def ready(self) -> None:
        from helpdesk.tenancy.navigation import NavEntry, register
        from helpdesk.tenancy.policy import Perm

        register(NavEntry("Journeys", "journeys:list", Perm.JOURNEYS_VIEW, "insight", "route"))
