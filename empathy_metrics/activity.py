"""Customer activity for retention: the pluggable list of "contact" sources.

A customer is active on a day when they had a contact within the tenant's last N days
(``SurveySettings.active_days``, default 90): a ticket, a message they wrote, a chat, a survey
answer, or a journey event (registered automatically when the journeys app has its event model).
Another app adds a source with ``register_activity_source(ActivitySource(...))``.

Each source is a tenant-owned model with a customer foreign key and a timestamp; new rows are
found by id (the rollup keeps the last id seen per source).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime

from django.apps import apps
from django.db.models import Model, Q, QuerySet

from helpdesk.tenancy.models import Tenant


@dataclass(frozen=True)
class ActivitySource:
    name: str
    model_label: str  # "app_label.ModelName"
    customer_field: str
    time_field: str
    condition: dict = field(default_factory=dict)

    @property
    def model(self) -> type[Model]:
        return apps.get_model(self.model_label)

    def queryset(self, tenant: Tenant) -> QuerySet:
        return (
            self.model.objects.for_tenant(tenant)
            .filter(**self.condition)
            .filter(**{f"{self.customer_field}__isnull": False})
        )

    def customers_between(self, tenant: Tenant, start_at: datetime, end_at: datetime) -> QuerySet:
        """Ids of customers with a contact in ``[start_at, end_at)``."""
        return (
            self.queryset(tenant)
            .filter(**{f"{self.time_field}__gte": start_at, f"{self.time_field}__lt": end_at})
            .values_list(self.customer_field, flat=True)
            .order_by()
            .distinct()
        )

    def contacts_of(self, tenant: Tenant, customer_ids) -> Iterator[tuple[int, datetime]]:
        rows = (
            self.queryset(tenant)
            .filter(**{f"{self.customer_field}__in": customer_ids})
            .values_list(self.customer_field, self.time_field)
            .order_by()
        )
        yield from rows.iterator(chunk_size=5000)

    def new_since(self, tenant: Tenant, last_id: int, limit: int) -> list[tuple[int, int]]:
        """``(id, customer_id)`` of rows added after ``last_id``, oldest first, at most ``limit``."""
        return list(
            self.queryset(tenant)
            .filter(pk__gt=last_id)
            .order_by("pk")
            .values_list("pk", self.customer_field)[:limit]
        )

    def last_id(self, tenant: Tenant) -> int:
        value = self.model.objects.for_tenant(tenant).order_by("-pk").values_list("pk", flat=True)
        return value.first() or 0

    def all_contacts(self, tenant: Tenant, condition: Q | None = None) -> QuerySet:
        queryset = self.queryset(tenant)
        if condition is not None:
            queryset = queryset.filter(condition)
        return queryset.values_list(self.customer_field, self.time_field).order_by()


_SOURCES: dict[str, ActivitySource] = {}


def register_activity_source(source: ActivitySource) -> None:
    _SOURCES[source.name] = source


def activity_sources() -> list[ActivitySource]:
    if "journey_event" not in _SOURCES:
        _register_journeys()
    return [source for _name, source in sorted(_SOURCES.items())]


def _register_journeys() -> None:
    """The journeys app's events count as contacts once its model exists (hook, see module doc)."""
    try:
        model = apps.get_model("journeys", "JourneyEvent")
    except LookupError:
        return
    names = {f.name for f in model._meta.get_fields()}
    if {"customer", "occurred_at"} <= names:
        register_activity_source(
            ActivitySource("journey_event", "journeys.JourneyEvent", "customer", "occurred_at")
        )


register_activity_source(ActivitySource("ticket", "tickets.Ticket", "customer", "created_at"))
register_activity_source(
    ActivitySource(
        "message",
        "tickets.Message",
        "author_customer",
        "created_at",
        condition={"author_type": "customer"},
    )
)
register_activity_source(ActivitySource("chat", "tickets.ChatSession", "customer", "started_at"))
register_activity_source(
    ActivitySource(
        "survey", "empathy_metrics.SurveyResponse", "customer", "created_at", condition={}
    )
)
