"""Property tests (Hypothesis) for the event ingestion validator and the ingestion itself.

Any JSON a client can send either refuses the batch as a whole (``BatchError``) or accounts for
every event exactly once (stored, duplicate or refused with its index); whatever is accepted is
storable; the same batch twice stores nothing new.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from helpdesk.tenancy.context import tenant_context
from journeys.models import EVENT_ID_MAX, EVENT_NAME_MAX, JourneyEvent
from journeys.services import BatchError, events_ingest
from journeys.services.ingest import (
    EXTERNAL_ID_MAX,
    MAX_BATCH,
    MAX_FUTURE,
    MAX_PROPERTIES_BYTES,
    OLDEST,
    validate_batch,
)

NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
PROPERTY = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

JSON_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=40),
)
JSON = st.recursive(
    JSON_SCALARS,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)
TIMESTAMPS = st.one_of(
    st.none(),
    st.datetimes(
        min_value=datetime(1990, 1, 1), max_value=datetime(2030, 1, 1), timezones=st.just(UTC)
    ).map(lambda d: d.isoformat()),
    st.datetimes().map(lambda d: d.isoformat()),  # naive: refused
    st.text(max_size=30),
    st.integers(),
)
# Events that look right, with every field sometimes wrong.
EVENTS = st.fixed_dictionaries(
    {},
    optional={
        "id": st.one_of(st.text(max_size=120), st.integers(), st.none(), JSON_SCALARS),
        "name": st.one_of(st.text(max_size=120), JSON_SCALARS),
        "customer_id": st.one_of(st.text(max_size=120), st.integers(), JSON_SCALARS),
        "email": st.one_of(st.emails(), st.text(max_size=40), JSON_SCALARS),
        "timestamp": TIMESTAMPS,
        "properties": st.one_of(st.dictionaries(st.text(max_size=10), JSON, max_size=5), JSON),
    },
)
BATCHES = st.one_of(st.lists(st.one_of(EVENTS, JSON), max_size=20), JSON)


def has_nul(value) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(has_nul(k) or has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(has_nul(v) for v in value)
    return False


def assert_storable(clean) -> None:
    assert clean.name and len(clean.name) <= EVENT_NAME_MAX
    assert clean.name == clean.name.strip()
    assert not any(ord(ch) < 32 or ord(ch) == 127 for ch in clean.name)
    assert clean.event_id and len(clean.event_id) <= EVENT_ID_MAX
    assert len(clean.external_id) <= EXTERNAL_ID_MAX
    assert clean.external_id or clean.email
    assert clean.occurred_at.tzinfo is not None
    assert OLDEST <= clean.occurred_at <= NOW + MAX_FUTURE
    properties = json.loads(clean.properties)
    assert isinstance(properties, dict)
    assert len(clean.properties.encode()) <= MAX_PROPERTIES_BYTES
    assert not has_nul(properties)  # PostgreSQL's jsonb cannot hold NUL
    for text in (clean.name, clean.event_id, clean.external_id, clean.email, clean.properties):
        text.encode()  # valid Unicode: no lone surrogates


@PROPERTY
@given(BATCHES)
@example([{"name": "a", "customer_id": "c", "properties": {"k": "\x00"}}])
@example([{"name": "a", "customer_id": "\ud800"}])
@example([{"name": " ", "email": "x@y.z"}])
@example([{"name": "a", "customer_id": True}])
def test_every_event_is_accounted_for_once_and_accepted_ones_are_storable(batch):
    try:
        good, errors, duplicates = validate_batch(batch, now=NOW)
    except BatchError as exc:
        assert str(exc)  # a message the client can read
        assert not isinstance(batch, list) or not batch or len(batch) > MAX_BATCH
        return
    assert isinstance(batch, list)
    assert len(good) + len(errors) + duplicates == len(batch)
    indexes = [c.index for c in good] + [e.index for e in errors]
    assert len(set(indexes)) == len(indexes)
    assert all(0 <= i < len(batch) for i in indexes)
    assert len({c.event_id for c in good}) == len(good)
    for error in errors:
        assert error.message
        assert error.id is None or len(error.id) <= EVENT_ID_MAX
    for clean in good:
        assert_storable(clean)


@PROPERTY
@given(BATCHES)
def test_validation_is_deterministic(batch):
    try:
        first = validate_batch(batch, now=NOW)
    except BatchError:
        with pytest.raises(BatchError):
            validate_batch(batch, now=NOW)
        return
    second = validate_batch(batch, now=NOW)
    assert [c.event_id for c in first[0]] == [c.event_id for c in second[0]]
    assert first[1] == second[1] and first[2] == second[2]


GOOD_EVENTS = st.lists(
    st.fixed_dictionaries(
        {
            "id": st.uuids().map(str),
            "name": st.sampled_from(["Signed up", "Checkout started", "Café visité"]),
            "customer_id": st.from_regex(r"c[0-9]{1,4}", fullmatch=True),
            "timestamp": st.datetimes(
                min_value=datetime(2020, 1, 1),
                max_value=datetime(2026, 4, 30),
                timezones=st.just(UTC),
            ).map(lambda d: d.isoformat()),
            "properties": st.dictionaries(
                st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=8),
                st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=30),
                max_size=3,
            ),
        }
    ),
    min_size=1,
    max_size=10,
)


@PROPERTY
@given(GOOD_EVENTS)
def test_well_formed_events_are_all_accepted(events):
    good, errors, duplicates = validate_batch(events, now=NOW)
    assert errors == [] and duplicates == 0 and len(good) == len(events)
    for event, clean in zip(events, good, strict=True):
        assert clean.event_id == event["id"]
        assert clean.occurred_at == datetime.fromisoformat(event["timestamp"])
        assert json.loads(clean.properties) == event["properties"]


@pytest.mark.django_db
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(batch=st.lists(st.one_of(EVENTS, GOOD_EVENTS.map(lambda e: e[0])), min_size=1, max_size=8))
def test_ingesting_any_batch_stores_what_it_accepts_and_a_repeat_stores_nothing(tenant, batch):
    with tenant_context(tenant):
        before = JourneyEvent.objects.for_tenant(tenant).count()
    # The same moment for the repeat: an event without id or timestamp is "now" (a later
    # retry of it is a new event by design).
    received = NOW + timedelta(seconds=1)
    first = events_ingest(tenant=tenant, events=batch, received_at=received)
    with tenant_context(tenant):
        after = JourneyEvent.objects.for_tenant(tenant).count()
    assert after - before == first.accepted
    assert first.accepted + first.duplicates + first.rejected == len(batch)
    again = events_ingest(tenant=tenant, events=batch, received_at=received)
    assert again.accepted == 0
    assert again.duplicates == first.accepted + first.duplicates
    with tenant_context(tenant):
        assert JourneyEvent.objects.for_tenant(tenant).count() == after
