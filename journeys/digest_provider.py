"""The weekly digest's "journey stages whose drop-off rose", computed from the funnels.

``empathy_metrics`` sits right of ``journeys`` in the dependency order: it registers
``stages_with_rising_dropoff`` with its digest from ``EmpathyMetricsConfig.ready()``, and this
module imports nothing of it. ``week`` and ``previous`` are the digest's periods; only their
``start``/``end`` (local dates, both included) and ``start_at``/``end_at`` (aware datetimes,
end excluded) are read.

Per journey, the funnel of the runs that entered in each week (``journey_funnel``; each cohort
observed up to the end of its own week, so two weeks compare), and every stage whose drop-off
rate (got there, not to the next stage) is higher than the week before. A stage nobody reached
in one of the two weeks has no rate and is not compared.
"""

from __future__ import annotations

from django.urls import reverse

from helpdesk.tenancy.context import tenant_context
from helpdesk.tenancy.models import Tenant
from journeys.selectors.funnels import Period, journey_funnel, journey_list, journey_stages


def _pct(rate: float | None) -> float | None:
    return None if rate is None else rate * 100


def stages_with_rising_dropoff(*, tenant: Tenant, week, previous) -> list[dict] | None:
    """``[{"journey", "stage", "next_stage", "dropoff", "previous_dropoff", "dropped",
    "reached", "previous_dropped", "previous_reached", "url"}]`` (rates in percent, the
    largest rise first), or None when the tenant tracks no journey."""
    with tenant_context(tenant):
        journeys = journey_list(tenant=tenant)
        if not journeys:
            return None
        found = []
        for journey in journeys:
            stages = journey_stages(tenant=tenant, journey=journey)
            if len(stages) < 2:
                continue
            now = journey_funnel(
                tenant=tenant,
                journey=journey,
                period=Period(week.start_at, week.end_at, "this week"),
                stages=stages,
                with_now=False,
            )
            before = journey_funnel(
                tenant=tenant,
                journey=journey,
                period=Period(previous.start_at, previous.end_at, "the week before"),
                stages=stages,
                with_now=False,
            )
            url = reverse(
                "journeys:funnel",
                kwargs={"tenant_slug": tenant.slug, "public_id": journey.public_id},
            )
            query = f"?start={week.start.isoformat()}&end={week.end.isoformat()}"
            for stage, earlier in zip(now.stages, before.stages, strict=True):
                if stage.drop_off_rate is None or earlier.drop_off_rate is None:
                    continue
                if stage.drop_off_rate <= earlier.drop_off_rate:
                    continue
                found.append(
                    {
                        "journey": journey.name,
                        "stage": stage.name,
                        "next_stage": stage.next_name,
                        "dropoff": _pct(stage.drop_off_rate),
                        "previous_dropoff": _pct(earlier.drop_off_rate),
                        "dropped": stage.drop_off,
                        "reached": stage.reached,
                        "previous_dropped": earlier.drop_off,
                        "previous_reached": earlier.reached,
                        "url": url + query,
                    }
                )
    found.sort(key=lambda d: (-(d["dropoff"] - d["previous_dropoff"]), d["journey"], d["stage"]))
    return found
