from django.apps import AppConfig


class JourneysConfig(AppConfig):
    name = "journeys"

    def ready(self) -> None:
        from helpdesk.tenancy.navigation import NavEntry, register
        from helpdesk.tenancy.policy import Perm

        register(NavEntry("Journeys", "journeys:list", Perm.JOURNEYS_VIEW, "insight", "route"))

        from tickets.services.customers import register_customer_change_listener

        register_customer_change_listener(_customer_changed)


SEGMENT_FIELDS = frozenset({"company", "tags"})


def _customer_changed(*, tenant, customer, fields) -> None:
    """Runs carry the customer's company and tags for the funnel breakdowns: keep them current."""
    if fields & SEGMENT_FIELDS:
        from journeys.services import runs_segment_refresh

        runs_segment_refresh(tenant=tenant, customer_id=customer.pk)
