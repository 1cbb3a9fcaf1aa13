"""Writes of the journeys app (CONVENTIONS.md section 2), one module per area.

Callers use ``from journeys import services`` and ``services.<name>``.
"""

from journeys.services.definitions import StageSpec, journey_create, journey_delete, journey_update
from journeys.services.ingest import BatchError, IngestResult, events_ingest
from journeys.services.progress import (
    journey_rebuild,
    progress_apply_events,
    runs_segment_refresh,
)

__all__ = [
    "BatchError",
    "IngestResult",
    "StageSpec",
    "events_ingest",
    "journey_create",
    "journey_delete",
    "journey_rebuild",
    "journey_update",
    "progress_apply_events",
    "runs_segment_refresh",
]
