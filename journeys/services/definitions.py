"""Writes of journey definitions: create, update (stages replaced), delete."""

from __future__ import annotations

from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import connection

from helpdesk.accounts.models import User
from helpdesk.tenancy.context import tenant_context
from helpdesk.tenancy.models import Tenant
from journeys.models import EVENT_NAME_MAX, MAX_STAGES, Journey, JourneyStage

MAX_EVENT_NAMES_PER_STAGE = 10
MAX_STUCK_HOURS = 24 * 365
MAX_DROPPED_DAYS = 365


@dataclass(frozen=True)
class StageSpec:
    name: str
    event_names: tuple[str, ...]
    stuck_after_hours: int | None = None


def _clean_stages(stages: list[StageSpec], *, stuck_default: int, dropped_days: int) -> list:
    errors: list[str] = []
    if len(stages) < 2:
        errors.append("A journey needs at least two stages.")
    if len(stages) > MAX_STAGES:
        errors.append(f"A journey has at most {MAX_STAGES} stages.")
    cleaned = []
    seen_names: set[str] = set()
    owner_of_event: dict[str, str] = {}
    for number, stage in enumerate(stages, start=1):
        name = stage.name.strip()
        label = f"Stage {number}"
        if not name:
            errors.append(f"{label} needs a name.")
        elif len(name) > 80:
            errors.append(f"{label}: the name is longer than 80 characters.")
        elif name.lower() in seen_names:
            errors.append(f"Two stages are called “{name}”; give each stage its own name.")
        seen_names.add(name.lower())
        events = []
        for raw in stage.event_names:
            event = raw.strip()
            if event and event not in events:
                events.append(event)
        if not events:
            errors.append(f"{label} ({name or 'unnamed'}) needs at least one event name.")
        if len(events) > MAX_EVENT_NAMES_PER_STAGE:
            errors.append(f"{label}: at most {MAX_EVENT_NAMES_PER_STAGE} event names.")
        for event in events:
            if len(event) > EVENT_NAME_MAX:
                errors.append(f"{label}: event names have at most {EVENT_NAME_MAX} characters.")
            elif event in owner_of_event:
                errors.append(
                    f"The event “{event}” is used by “{owner_of_event[event]}” and “{name}”; "
                    "an event can mark one stage only."
                )
            owner_of_event[event] = name
        stuck = stage.stuck_after_hours
        if stuck is not None and not 1 <= stuck <= MAX_STUCK_HOURS:
            errors.append(f"{label}: the stuck limit is between 1 and {MAX_STUCK_HOURS} hours.")
        elif (stuck or stuck_default) >= dropped_days * 24:
            errors.append(
                f"{label}: the stuck limit ({stuck or stuck_default} h) must be shorter than the "
                f"drop limit ({dropped_days} days)."
            )
        cleaned.append(StageSpec(name=name, event_names=tuple(events), stuck_after_hours=stuck))
    if errors:
        raise ValidationError({"stages": errors})
    return cleaned


def _clean_journey_fields(
    *, tenant: Tenant, name: str, stuck_after_hours: int, dropped_after_days: int, exclude=None
) -> str:
    errors: dict[str, list[str]] = {}
    name = name.strip()
    if not name:
        errors["name"] = ["Give the journey a name."]
    elif len(name) > 100:
        errors["name"] = ["At most 100 characters."]
    else:
        others = Journey.objects.for_tenant(tenant).filter(name__iexact=name)
        if exclude is not None:
            others = others.exclude(pk=exclude.pk)
        if others.exists():
            errors["name"] = ["Another journey has this name."]
    if not 1 <= stuck_after_hours <= MAX_STUCK_HOURS:
        errors["stuck_after_hours"] = [f"Between 1 and {MAX_STUCK_HOURS} hours."]
    if not 1 <= dropped_after_days <= MAX_DROPPED_DAYS:
        errors["dropped_after_days"] = [f"Between 1 and {MAX_DROPPED_DAYS} days."]
    if errors:
        raise ValidationError(errors)
    return name


def _create_stages(*, tenant: Tenant, journey: Journey, stages: list[StageSpec]) -> None:
    JourneyStage.objects.bulk_create(
        [
            JourneyStage(
                tenant=tenant,
                journey=journey,
                position=position,
                name=stage.name,
                event_names=list(stage.event_names),
                stuck_after_hours=stage.stuck_after_hours,
            )
            for position, stage in enumerate(stages)
        ]
    )


def _rebuild_on_commit(*, tenant: Tenant, journey: Journey) -> None:
    from journeys.tasks import journey_rebuild_task  # tasks import the services

    journey_rebuild_task.delay_on_commit(tenant.pk, journey.pk, journey.version)


def journey_create(
    *,
    tenant: Tenant,
    actor: User | None,
    name: str,
    stages: list[StageSpec],
    description: str = "",
    stuck_after_hours: int = 72,
    dropped_after_days: int = 14,
    is_active: bool = True,
) -> Journey:
    """Define a journey; customers' positions are then derived from the events already stored."""
    with tenant_context(tenant):
        name = _clean_journey_fields(
            tenant=tenant,
            name=name,
            stuck_after_hours=stuck_after_hours,
            dropped_after_days=dropped_after_days,
        )
        stages = _clean_stages(
            stages, stuck_default=stuck_after_hours, dropped_days=dropped_after_days
        )
        journey = Journey.objects.create(
            tenant=tenant,
            name=name,
            description=description.strip()[:300],
            stuck_after_hours=stuck_after_hours,
            dropped_after_days=dropped_after_days,
            is_active=is_active,
            created_by=actor,
        )
        _create_stages(tenant=tenant, journey=journey, stages=stages)
        _rebuild_on_commit(tenant=tenant, journey=journey)
    return journey


def journey_update(
    *,
    tenant: Tenant,
    actor: User | None,
    journey: Journey,
    name: str,
    stages: list[StageSpec],
    description: str = "",
    stuck_after_hours: int = 72,
    dropped_after_days: int = 14,
    is_active: bool = True,
) -> Journey:
    """Change a journey. New stages, events or drop limit: positions are recomputed in the
    background (the funnel page says so meanwhile); the stuck limits apply at once."""
    with tenant_context(tenant):
        journey = Journey.objects.for_tenant(tenant).select_for_update().get(pk=journey.pk)
        name = _clean_journey_fields(
            tenant=tenant,
            name=name,
            stuck_after_hours=stuck_after_hours,
            dropped_after_days=dropped_after_days,
            exclude=journey,
        )
        stages = _clean_stages(
            stages, stuck_default=stuck_after_hours, dropped_days=dropped_after_days
        )
        before = [
            (s.name, tuple(s.event_names))
            for s in JourneyStage.objects.for_tenant(tenant).filter(journey=journey)
        ]
        after = [(s.name, s.event_names) for s in stages]
        derivation_changed = (
            [events for _name, events in before] != [events for _name, events in after]
            or dropped_after_days != journey.dropped_after_days
            or (is_active and not journey.is_active)
        )
        journey.name = name
        journey.description = description.strip()[:300]
        journey.stuck_after_hours = stuck_after_hours
        journey.dropped_after_days = dropped_after_days
        journey.is_active = is_active
        if derivation_changed:
            journey.version += 1
        journey.save()
        JourneyStage.objects.for_tenant(tenant).filter(journey=journey).delete()
        _create_stages(tenant=tenant, journey=journey, stages=stages)
        if derivation_changed:
            _rebuild_on_commit(tenant=tenant, journey=journey)
    return journey


def journey_delete(*, tenant: Tenant, actor: User | None, journey: Journey) -> None:
    """Delete a journey with its derived positions (the events stay: they belong to customers)."""
    with tenant_context(tenant):
        journey = Journey.objects.for_tenant(tenant).select_for_update().get(pk=journey.pk)
        with connection.cursor() as cursor:
            for table in ("journeys_journeystep", "journeys_journeyrun"):
                cursor.execute(
                    f"DELETE FROM {table} WHERE tenant_id = %s AND journey_id = %s",  # noqa: S608
                    [tenant.pk, journey.pk],
                )
        JourneyStage.objects.for_tenant(tenant).filter(journey=journey).delete()
        journey.delete()
