"""Event ingestion: validate a batch, match customers, store new events, move positions on.

Built for throughput: one pass of plain-Python validation, a handful of set-based queries per
batch (customers by external id and by email, one multi-row ``INSERT ... ON CONFLICT DO NOTHING
RETURNING``), then the incremental position update of the customers whose new events mark a stage.
Good events are stored even when others in the batch are refused; each refused event is reported
with its index and a message. Events are idempotent by ``id``: a repeat is counted, not stored.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from helpdesk.tenancy.context import tenant_context
from helpdesk.tenancy.models import Tenant
from journeys.models import EVENT_ID_MAX, EVENT_NAME_MAX, CustomerKey
from journeys.services.progress import progress_apply_events
from journeys.sql import bulk_cursor
from tickets.models import Customer

MAX_BATCH = 1000
MAX_PROPERTIES_BYTES = 4096
MAX_FUTURE = timedelta(hours=1)
OLDEST = datetime(2000, 1, 1, tzinfo=UTC)
EXTERNAL_ID_MAX = 100  # tickets.Customer.external_id
# Control characters, and lone surrogates ("\ud800" is valid JSON but not storable text): one scan.
_UNSTORABLE = re.compile("[\x00-\x1f\x7f\ud800-\udfff]")
_SURROGATE = re.compile("[\ud800-\udfff]")


def _not_json(value: Any) -> Any:
    raise ValueError(f"properties hold a {type(value).__name__}, which is not JSON.")


def _json_encoder():
    """Compact JSON text of a parsed JSON value. ``json.dumps`` sets up its C encoder on every
    call, which costs more than encoding a small object; this one is set up once. No circular
    check: parsed JSON has no cycles. NaN and infinities are refused (jsonb cannot hold them)."""
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:  # no C accelerator: the standard encoder
        return json.JSONEncoder(
            separators=(",", ":"), ensure_ascii=False, allow_nan=False, check_circular=False
        ).encode
    encoder = make(
        None, _not_json, json.encoder.encode_basestring, None, ":", ",", False, False, False
    )
    return lambda value: "".join(encoder(value, 0))


_encode_json = _json_encoder()


@dataclass(frozen=True)
class EventError:
    index: int
    id: str | None
    message: str


@dataclass
class IngestResult:
    received: int = 0
    accepted: int = 0
    duplicates: int = 0
    errors: list[EventError] = field(default_factory=list)
    customers_created: int = 0

    @property
    def rejected(self) -> int:
        return len(self.errors)


class _Clean(NamedTuple):
    index: int
    event_id: str
    name: str
    occurred_at: datetime
    properties: str  # JSON text
    external_id: str
    email: str


class BatchError(ValueError):
    """The batch as a whole is unusable (not a list, empty, too large)."""


def _text(value: Any, label: str, limit: int) -> str:
    if not isinstance(value, str):
        raise ValueError(f"{label} must be a string.")
    value = value.strip()
    if not value:
        raise ValueError(f"{label} must not be empty.")
    if len(value) > limit:
        raise ValueError(f"{label} is longer than {limit} characters.")
    bad = _UNSTORABLE.search(value)
    if bad is not None:
        if bad.group() >= "\ud800":
            raise ValueError(f"{label} is not valid Unicode text.")
        raise ValueError(f"{label} contains control characters.")
    return value


def _timestamp(value: Any, now: datetime, latest: datetime) -> datetime:
    if value is None:
        return now
    if not isinstance(value, str):
        raise ValueError("timestamp must be an ISO 8601 string, e.g. 2025-05-01T09:30:00Z.")
    value = value.strip()
    try:
        parsed = datetime.fromisoformat(value)  # C-fast; 3.11 reads "Z" and offsets
    except ValueError:
        try:
            parsed = parse_datetime(value)  # what fromisoformat refuses, e.g. a comma
        except ValueError:
            parsed = None
    if parsed is None:
        raise ValueError(f"timestamp {value[:40]!r} is not an ISO 8601 date and time.")
    if parsed.tzinfo is None:
        raise ValueError("timestamp needs a time zone, e.g. 2025-05-01T09:30:00Z or +02:00.")
    if parsed > latest:
        raise ValueError("timestamp is in the future (more than an hour ahead of our clock).")
    if parsed < OLDEST:
        raise ValueError("timestamp is before the year 2000.")
    return parsed if parsed.tzinfo is UTC else parsed.astimezone(UTC)


def _has_nul(value: Any) -> bool:
    """PostgreSQL's jsonb cannot hold NUL characters."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False


def _properties(properties: Any) -> str:
    """The properties as compact JSON text, checked to be storable and small enough."""
    if not properties:
        if properties is None or isinstance(properties, dict):
            return "{}"
        raise ValueError("properties must be a JSON object.")
    if not isinstance(properties, dict):
        raise ValueError("properties must be a JSON object.")
    try:
        text = _encode_json(properties)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"properties cannot be stored as JSON ({exc}).") from None
    if "\\u0000" in text and _has_nul(properties):
        raise ValueError("properties contain text that cannot be stored (NUL or invalid Unicode).")
    if len(text) * 4 <= MAX_PROPERTIES_BYTES:  # small enough whatever the encoding
        if _SURROGATE.search(text) is not None:
            raise ValueError(
                "properties contain text that cannot be stored (NUL or invalid Unicode)."
            )
        return text
    try:
        size = len(text.encode())
    except UnicodeEncodeError:
        raise ValueError(
            "properties contain text that cannot be stored (NUL or invalid Unicode)."
        ) from None
    if size > MAX_PROPERTIES_BYTES:
        raise ValueError(f"properties are larger than {MAX_PROPERTIES_BYTES} bytes.")
    return text


def _clean_event(index: int, raw: Any, now: datetime, latest: datetime) -> _Clean:
    if not isinstance(raw, dict):
        raise ValueError("Each event must be a JSON object.")
    name = _text(raw.get("name"), "name", EVENT_NAME_MAX)
    external_id = raw.get("customer_id")
    email = raw.get("email")
    if external_id is None or external_id == "":
        if email is None or email == "":
            raise ValueError("Give customer_id (your id for the customer) or email.")
        external_id = ""
    else:
        if isinstance(external_id, int) and not isinstance(external_id, bool):
            external_id = str(external_id)
        external_id = _text(external_id, "customer_id", EXTERNAL_ID_MAX)
    if email is None or email == "":
        email = ""
    else:
        email = _text(email, "email", 254).lower()
        try:
            validate_email(email)
        except ValidationError:
            raise ValueError(f"email {email[:60]!r} is not a valid address.") from None
    occurred_at = _timestamp(raw.get("timestamp"), now, latest)
    properties_text = _properties(raw.get("properties"))
    event_id = raw.get("id")
    if event_id is None or event_id == "":
        # No id: identical content is the same event (a retry without an id is still harmless).
        basis = "\x1f".join(
            [name, external_id, email, occurred_at.isoformat(), properties_text]
        ).encode()
        event_id = "h:" + hashlib.sha256(basis).hexdigest()[:40]
    else:
        if isinstance(event_id, int) and not isinstance(event_id, bool):
            event_id = str(event_id)
        event_id = _text(event_id, "id", EVENT_ID_MAX)
    return _Clean(index, event_id, name, occurred_at, properties_text, external_id, email)


def validate_batch(events: Any, *, now: datetime) -> tuple[list[_Clean], list[EventError], int]:
    """Clean every event; returns (good, errors, duplicates within the batch)."""
    if not isinstance(events, list):
        raise BatchError('Send a JSON object {"events": [...]} or a JSON list of events.')
    if not events:
        raise BatchError("The batch has no events.")
    if len(events) > MAX_BATCH:
        raise BatchError(f"At most {MAX_BATCH:,} events per request; this one has {len(events):,}.")
    good: list[_Clean] = []
    errors: list[EventError] = []
    seen: set[str] = set()
    duplicates = 0
    latest = now + MAX_FUTURE
    for index, raw in enumerate(events):
        try:
            clean = _clean_event(index, raw, now, latest)
        except ValueError as exc:
            raw_id = raw.get("id") if isinstance(raw, dict) else None
            shown = str(raw_id)[:EVENT_ID_MAX] if raw_id not in (None, "") else None
            errors.append(EventError(index=index, id=shown, message=str(exc)))
            continue
        if clean.event_id in seen:
            duplicates += 1
            continue
        seen.add(clean.event_id)
        good.append(clean)
    return good, errors, duplicates


# --- Customers ------------------------------------------------------------------------------


def _advisory_lock(keys: list[str], *, tenant: Tenant) -> None:
    """Serialise the creation of the same unknown customer by two batches (PostgreSQL)."""
    if connection.vendor != "postgresql" or not keys:
        return
    with bulk_cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_xact_lock(hashtext('journeys.customer'), hashtext(k)) "
            "FROM unnest(%b::text[]) AS k ORDER BY k",
            [sorted({f"{tenant.pk}:{key}" for key in keys})],
        )


_KEYS_POSTGRES = """
    SELECT external_id, customer_id FROM journeys_customerkey
    WHERE tenant_id = %s AND external_id = ANY(%b::text[])
"""


def _keys(tenant: Tenant, external_ids: set[str]) -> dict[str, int]:
    """The customers of these external ids, from the key map (on PostgreSQL one prepared
    statement with an array: the ORM spends ~10 µs per id building and quoting an IN list)."""
    if connection.vendor != "postgresql":
        return dict(
            CustomerKey.objects.for_tenant(tenant)
            .filter(external_id__in=external_ids)
            .values_list("external_id", "customer_id")
        )
    with bulk_cursor() as cursor:
        cursor.execute(_KEYS_POSTGRES, [tenant.pk, list(external_ids)])
        return dict(cursor.fetchall())


def _lookup(tenant: Tenant, external_ids: set[str], emails: set[str]):
    """Known customers by external id (through the key map, then the customers) and by email."""
    by_external: dict[str, int] = {}
    by_email: dict[str, int] = {}
    blank_external: set[int] = set()
    if external_ids:
        by_external = _keys(tenant, external_ids)
        unmapped = external_ids - set(by_external)
        if unmapped:
            # First sight of these ids: match them once against the customers (the oldest wins).
            found = dict(
                Customer.objects.for_tenant(tenant)
                .filter(external_id__in=unmapped)
                .order_by("-id")
                .values_list("external_id", "id")
            )
            if found:
                CustomerKey.objects.bulk_create(
                    [
                        CustomerKey(tenant=tenant, external_id=key, customer_id=pk)
                        for key, pk in found.items()
                    ],
                    ignore_conflicts=True,
                )
                by_external.update(found)
    if emails:
        for email, pk, external in (
            Customer.objects.for_tenant(tenant)
            .filter(email__in=emails)
            .exclude(email="")  # lets PostgreSQL use the partial unique index on (tenant, email)
            .values_list("email", "id", "external_id")
        ):
            by_email[email] = pk
            if not external:
                blank_external.add(pk)
    return by_external, by_email, blank_external


def _resolve_customers(*, tenant: Tenant, events: list[_Clean], result: IngestResult) -> dict:
    """Map each event to a customer id: by external id, else by email; create the unknown."""
    external_ids = {e.external_id for e in events if e.external_id}
    emails = {e.email for e in events if e.email}
    by_external, by_email, blank_external = _lookup(tenant, external_ids, emails)

    def match(event: _Clean) -> int | None:
        if event.external_id and event.external_id in by_external:
            return by_external[event.external_id]
        if event.email and event.email in by_email:
            return by_email[event.email]
        return None

    matched = {e.event_id: match(e) for e in events}
    if None in matched.values():
        # Two batches may meet the same new customer: the second waits, then finds it.
        _advisory_lock(
            [e.external_id or e.email for e in events if match(e) is None], tenant=tenant
        )
        by_external, by_email, blank_external = _lookup(tenant, external_ids, emails)
        for _attempt in range(2):
            missing = [e for e in events if match(e) is None]
            if not missing:
                break
            result.customers_created += _create_customers(
                tenant=tenant, missing=missing, known=by_email
            )
            by_external, by_email, blank_external = _lookup(tenant, external_ids, emails)
        matched = {e.event_id: match(e) for e in events}
    # A customer found by email learns the external id the site uses for them.
    learn: dict[int, str] = {}
    for event in events:
        if event.external_id and event.external_id not in by_external and event.email:
            pk = by_email.get(event.email)
            if pk in blank_external:
                learn.setdefault(pk, event.external_id)
    if learn:
        for pk, external_id in learn.items():
            Customer.objects.for_tenant(tenant).filter(pk=pk, external_id="").update(
                external_id=external_id
            )
        CustomerKey.objects.bulk_create(
            [
                CustomerKey(tenant=tenant, external_id=key, customer_id=pk)
                for pk, key in learn.items()
            ],
            ignore_conflicts=True,
        )
    return matched


def _create_customers(*, tenant: Tenant, missing: list[_Clean], known: dict[str, int]) -> int:
    """One new customer per unknown external id (or per email when there is none), dated from
    their first event. Returns how many were created."""
    wanted: dict[str, list] = {}
    for event in missing:
        key = event.external_id or event.email
        entry = wanted.setdefault(key, [event.external_id, event.email, event.occurred_at])
        entry[1] = entry[1] or event.email
        entry[2] = min(entry[2], event.occurred_at)
    used_emails = set(known)
    new: list[Customer] = []
    first_seen: list[datetime] = []
    for external_id, email, at in wanted.values():
        if email in used_emails:
            email = ""  # the email is another customer's already
        used_emails.add(email)
        new.append(Customer(tenant=tenant, external_id=external_id, email=email))
        first_seen.append(at)
    try:
        with transaction.atomic():
            Customer.objects.bulk_create(new)
    except IntegrityError:
        # Another path (a ticket by email) created one of these emails meanwhile: the caller
        # looks up again; those events then match the existing customer.
        return 0
    # created_at is set on insert; date the new customers from their first event instead.
    for customer, at in zip(new, first_seen, strict=True):
        customer.created_at = min(customer.created_at, at)
    Customer.objects.bulk_update(new, ["created_at"])
    CustomerKey.objects.bulk_create(
        [
            CustomerKey(tenant=tenant, external_id=c.external_id, customer_id=c.pk)
            for c in new
            if c.external_id
        ],
        ignore_conflicts=True,
    )
    return len(new)


# --- Events ---------------------------------------------------------------------------------

_COLUMNS = "(tenant_id, customer_id, event_id, name, occurred_at, received_at, properties)"
_CHUNK = 1000


# On PostgreSQL the rows travel as arrays: one statement text for every batch size, which psycopg
# prepares once per connection (no re-parse of thousands of placeholders on every request).
_INSERT_POSTGRES = f"""
    INSERT INTO journeys_journeyevent {_COLUMNS}
    SELECT %s, u.customer_id, u.event_id, u.name, u.occurred_at, %s, u.properties::jsonb
    FROM unnest(%b::bigint[], %b::text[], %b::text[], %b::timestamptz[], %b::text[])
         AS u(customer_id, event_id, name, occurred_at, properties)
    ON CONFLICT (tenant_id, event_id) DO NOTHING
    RETURNING event_id
"""  # noqa: S608 (constants only)


def _insert_events(
    *, tenant: Tenant, events: list[_Clean], customers: dict, received_at: datetime
) -> set[str]:
    """Insert, skipping ids already stored; returns the ids that were new."""
    inserted: set[str] = set()
    with bulk_cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                _INSERT_POSTGRES,
                [
                    tenant.pk,
                    received_at,
                    [customers[e.event_id] for e in events],
                    [e.event_id for e in events],
                    [e.name for e in events],
                    [e.occurred_at for e in events],
                    [e.properties for e in events],
                ],
            )
            return {row[0] for row in cursor.fetchall()}
        ops = connection.ops
        received = ops.adapt_datetimefield_value(received_at)
        row = "(%s, %s, %s, %s, %s, %s, %s)"
        for start in range(0, len(events), _CHUNK):
            chunk = events[start : start + _CHUNK]
            params: list = []
            for event in chunk:
                params += [
                    tenant.pk,
                    customers[event.event_id],
                    event.event_id,
                    event.name,
                    ops.adapt_datetimefield_value(event.occurred_at),
                    received,
                    event.properties,
                ]
            cursor.execute(
                f"INSERT INTO journeys_journeyevent {_COLUMNS} VALUES "  # noqa: S608
                + ", ".join([row] * len(chunk))
                + " ON CONFLICT (tenant_id, event_id) DO NOTHING RETURNING event_id",
                params,
            )
            inserted.update(r[0] for r in cursor.fetchall())
    return inserted


def events_ingest(
    *, tenant: Tenant, events: Any, received_at: datetime | None = None
) -> IngestResult:
    """Store a batch of events (up to 1,000) and update the journey positions they move.

    Raises ``BatchError`` when the batch as a whole is unusable; per-event problems are reported
    in the result and do not stop the good events.
    """
    now = received_at or timezone.now()
    good, errors, duplicates = validate_batch(events, now=now)
    result = IngestResult(received=len(events), errors=errors, duplicates=duplicates)
    if not good:
        return result
    with tenant_context(tenant):
        customers = _resolve_customers(tenant=tenant, events=good, result=result)
        unmatched = [e for e in good if customers.get(e.event_id) is None]
        if unmatched:  # a customer created elsewhere at the same moment: the client retries
            result.errors += [
                EventError(e.index, e.event_id, "The customer could not be matched; send again.")
                for e in unmatched
            ]
            result.errors.sort(key=lambda error: error.index)
            good = [e for e in good if customers.get(e.event_id) is not None]
        inserted = _insert_events(tenant=tenant, events=good, customers=customers, received_at=now)
        result.accepted = len(inserted)
        result.duplicates += len(good) - len(inserted)
        progress_apply_events(
            tenant=tenant,
            events=[
                (customers[e.event_id], e.occurred_at, e.name)
                for e in good
                if e.event_id in inserted
            ],
        )
    return result
