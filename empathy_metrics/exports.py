"""CSV exports of every metrics table, and the rows of the drill-down pages.

- ``table=cards|trend|channel|group|agent|tag|keywords|signals|questions|journeys``: the
  dashboard's tables (``questions``: the reports of the extra survey questions; ``journeys``:
  the breakdowns by journey stage);
- ``table=feedback``: every piece of help-page feedback of the period;
- ``table=tickets``: one row per ticket created in the period (channel, group, agent, first
  response and resolution time in business minutes, reopen count, escalated, CSAT, sentiment),
  streamed, so it works for hundreds of thousands of rows;
- ``table=drill&metric=...``: the rows behind a figure, as on its drill-down page.

Text that customers wrote is defused for spreadsheets (a leading ``= + - @`` gets a quote).
"""

from __future__ import annotations

import csv
from collections import defaultdict
from collections.abc import Iterable, Iterator
from datetime import datetime

from django.http import HttpResponse, StreamingHttpResponse

from empathy_metrics.facts import (
    ESCALATED_TO_TIER,
    analysis_as_corrected,
    comment_analysis,
    corrections_of,
    ticket_scope,
    whole_minutes,
)
from empathy_metrics.models import SurveyKind, SurveyResponse
from empathy_metrics.periods import Filters, Period, PeriodError
from empathy_metrics.selectors.dashboard import dashboard_data
from empathy_metrics.selectors.drilldown import DRILLS, Drill, drill_rows
from empathy_metrics.selectors.feedback import feedback_responses, feedback_sentiment
from empathy_metrics.selectors.names import dimension_labels
from helpdesk.tenancy.context import tenant_context
from helpdesk.tenancy.models import Tenant
from tickets.models import Ticket, TicketEvent, TicketTag
from tickets.services.sla import business_calendar_for

CHUNK = 2000
TABLES = (
    "cards",
    "trend",
    "channel",
    "group",
    "agent",
    "tag",
    "keywords",
    "signals",
    "questions",
    "journeys",
    "feedback",
)


def spreadsheet_safe(value) -> str:
    text = "" if value is None else str(value)
    if text[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + text
    return text


class _Echo:
    def write(self, value: str) -> str:
        return value


def _csv_lines(rows: Iterable[Iterable]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    for row in rows:
        yield writer.writerow([spreadsheet_safe(v) for v in row])


def _fmt(value, digits: int = 2):
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return value


def csv_response(rows: Iterable[Iterable], filename: str) -> StreamingHttpResponse:
    response = StreamingHttpResponse(_csv_lines(rows), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    return response


def _filename(tenant: Tenant, table: str, period: Period) -> str:
    return f"{tenant.slug}-{table}-{period.start.isoformat()}-{period.end.isoformat()}.csv"


# --- dashboard tables ------------------------------------------------------------------------


def _card_rows(data: dict) -> Iterator[list]:
    yield ["figure", "unit", "value", "previous", "detail"]
    for card in data["cards"]:
        previous = card["change"]["previous"] if card["change"] else None
        yield [card["label"], card["unit"], _fmt(card["value"]), _fmt(previous), card["detail"]]


def _trend_rows(data: dict) -> Iterator[list]:
    trend = data["trend"]
    columns = [
        ("csat", "csat_pct"),
        ("csat_count", "csat_responses"),
        ("nps", "nps"),
        ("nps_count", "nps_responses"),
        ("retention", "retention_pct"),
        ("tickets", "tickets_created"),
        ("backlog", "backlog"),
        ("frt_median", "first_response_median_business_hours"),
        ("frt_p90", "first_response_p90_business_hours"),
        ("resolution_median", "resolution_median_business_hours"),
        ("resolution_p90", "resolution_p90_business_hours"),
        ("repeat_rate", "repeat_rate_pct"),
        ("escalation_rate", "escalation_rate_pct"),
        ("reopen_rate", "reopen_rate_pct"),
        ("sla", "sla_attainment_pct"),
        ("negative", "messages_negative"),
        ("neutral", "messages_neutral"),
        ("positive", "messages_positive"),
    ]
    yield ["bucket_start", "bucket_end", *(title for _key, title in columns)]
    for index, start in enumerate(trend["starts"]):
        yield [start, trend["ends"][index], *(_fmt(trend[key][index]) for key, _t in columns)]


def _breakdown_rows(data: dict, dim: str) -> Iterator[list]:
    yield [
        dim,
        "key",
        "tickets",
        "csat_pct",
        "csat_responses",
        "first_response_median_minutes",
        "first_response_p90_minutes",
        "resolution_median_minutes",
        "resolution_p90_minutes",
        "escalation_rate_pct",
        "reopen_rate_pct",
        "sla_attainment_pct",
        "negative_share_pct",
    ]
    for row in data["breakdowns"].get(dim, []):
        yield [
            row["label"],
            row["value"],
            row["tickets"],
            _fmt(row["csat"]["value"]),
            row["csat"]["count"],
            _fmt(row["frt"]["median"]),
            _fmt(row["frt"]["p90"]),
            _fmt(row["resolution"]["median"]),
            _fmt(row["resolution"]["p90"]),
            _fmt(row["escalation_rate"]["value"]),
            _fmt(row["reopen_rate"]["value"]),
            _fmt(row["sla"]["value"]),
            _fmt(row["negative_share"]),
        ]


def _keyword_rows(data: dict) -> Iterator[list]:
    yield ["keyword", "messages"]
    yield from ([keyword, count] for keyword, count in data["keywords"])


def _signal_rows(data: dict) -> Iterator[list]:
    yield ["signal", "messages", "example", "ticket"]
    for signal in data["signals"]:
        examples = signal["examples"] or [None]
        for example in examples:
            yield [
                signal["name"],
                signal["count"],
                example["text"] if example else "",
                example["ticket_number"] if example else "",
            ]


def _question_rows(data: dict) -> Iterator[list]:
    yield ["question", "kind", "answers", "average", "satisfied_pct", *RATING_COLUMNS, "answer"]
    for q in data["questions"]:
        if q["kind"] == "rating":
            yield [
                q["text"],
                q["kind"],
                q["count"],
                _fmt(q["average"]),
                _fmt(q["satisfied"]),
                *(count for _rating, count, _share in q["spread"]),
                "",
            ]
        else:
            for example in q["examples"] or [None]:
                blanks = [""] * (2 + len(RATING_COLUMNS))
                yield [
                    q["text"],
                    q["kind"],
                    q["count"],
                    *blanks,
                    example["text"] if example else "",
                ]


RATING_COLUMNS = [f"rated_{n}" for n in range(1, 6)]


def _journey_rows(data: dict) -> Iterator[list]:
    yield [
        "journey",
        "stage",
        "tickets",
        "csat_pct",
        "csat_responses",
        "nps",
        "nps_responses",
        "messages",
        "negative_share_pct",
    ]
    for journey in data["journey_stages"]:
        for row in journey["rows"]:
            yield [
                journey["journey"],
                row["label"],
                row["tickets"],
                _fmt(row["csat"]["value"]),
                row["csat"]["count"],
                _fmt(row["nps"]["value"]),
                row["nps"]["count"],
                row["messages"],
                _fmt(row["negative_share"]),
            ]


def _feedback_rows(tenant: Tenant, period: Period) -> Iterator[list]:
    """Every piece of help-page feedback of the period (the ``feedback`` drill's rows)."""
    yield ["created_at", "feedback", "sentiment", "customer", "email", "page"]
    with tenant_context(tenant):
        for r in feedback_responses(tenant=tenant, period=period).iterator(chunk_size=CHUNK):
            yield [
                r.created_at.isoformat(),
                r.comment,
                feedback_sentiment(r.extra_answers),
                r.customer.name if r.customer_id else "",
                r.customer.email if r.customer_id else "",
                (r.extra_answers or {}).get("page", ""),
            ]


# --- one row per ticket ----------------------------------------------------------------------

TICKET_COLUMNS = [
    "reference",
    "number",
    "created_at",
    "channel",
    "group",
    "agent",
    "status",
    "first_response_business_minutes",
    "resolution_business_minutes",
    "reopen_count",
    "escalated",
    "csat",
    "sentiment",
    "sentiment_score",
    "tags",
]


def _dims_filter(queryset, filters: Filters):
    if filters.channel is not None:
        queryset = queryset.filter(channel=filters.channel)
    if filters.group is not None:
        queryset = (
            queryset.filter(group__isnull=True)
            if filters.group == 0
            else queryset.filter(group_id=filters.group)
        )
    if filters.agent is not None:
        queryset = (
            queryset.filter(assignee__isnull=True)
            if filters.agent == 0
            else queryset.filter(assignee_id=filters.agent)
        )
    if filters.tag is not None:
        queryset = queryset.filter(tags=filters.tag)
    return queryset


TICKET_FIELDS = (
    "id",
    "number",
    "created_at",
    "channel",
    "group_id",
    "assignee_id",
    "status",
    "first_response_at",
    "solved_at",
    "reopen_count",
    "mood_label",
    "mood_score",
)


def ticket_export_queryset(*, tenant: Tenant, period: Period, filters: Filters):
    """Tickets created in the period that pass the filters, as ``values()`` dicts."""
    return _dims_filter(
        Ticket.objects.for_tenant(tenant).filter(ticket_scope(period.start_at, period.end_at)),
        filters,
    ).values(*TICKET_FIELDS)


def ticket_records(*, tenant: Tenant, rows: list[dict], tz, labels=None) -> list[dict]:
    """The per-ticket figures of ``rows`` (``TICKET_FIELDS`` dicts), keyed by TICKET_COLUMNS."""
    labels = labels or dimension_labels(tenant=tenant)
    minutes = business_calendar_for(tenant).business_minutes_between
    ids = [row["id"] for row in rows]
    with tenant_context(tenant):
        escalated = set(
            TicketEvent.objects.for_tenant(tenant)
            .filter(ticket_id__in=ids, kind="ticket.escalated", to_value=ESCALATED_TO_TIER)
            .values_list("ticket_id", flat=True)
        )
        csat: dict[int, int] = {}
        for ticket_id, score in (
            SurveyResponse.objects.for_tenant(tenant)
            .filter(ticket_id__in=ids, kind=SurveyKind.CSAT, score__isnull=False)
            .order_by("created_at", "id")
            .values_list("ticket_id", "score")
        ):
            csat[ticket_id] = score  # the latest answer wins
        tags: dict[int, list[str]] = defaultdict(list)
        for ticket_id, tag_id in (
            TicketTag.objects.for_tenant(tenant)
            .filter(ticket_id__in=ids)
            .values_list("ticket_id", "tag_id")
        ):
            tags[ticket_id].append(labels["tag"].get(tag_id, str(tag_id)))
    records = []
    for row in rows:
        created_at = row["created_at"]
        group_id, assignee_id = row["group_id"], row["assignee_id"]
        records.append(
            {
                "reference": f"{tenant.reference_prefix}-{row['number']}",
                "number": row["number"],
                "created_at": created_at.astimezone(tz).isoformat(),
                "channel": row["channel"],
                "group": labels["group"].get(group_id, str(group_id)) if group_id else "",
                "agent": labels["agent"].get(assignee_id, str(assignee_id)) if assignee_id else "",
                "status": row["status"],
                "first_response_business_minutes": whole_minutes(
                    minutes(created_at, row["first_response_at"])
                )
                if row["first_response_at"]
                else None,
                "resolution_business_minutes": whole_minutes(minutes(created_at, row["solved_at"]))
                if row["solved_at"]
                else None,
                "reopen_count": row["reopen_count"],
                "escalated": row["id"] in escalated,
                "csat": csat.get(row["id"]),
                "sentiment": row["mood_label"] or "",
                "sentiment_score": row["mood_score"],
                "tags": sorted(tags.get(row["id"], [])),
            }
        )
    return records


def ticket_rows(*, tenant: Tenant, period: Period, filters: Filters) -> Iterator[list]:
    """The per-ticket export, computed in chunks inside the tenant's scope (a generator that
    runs after the view returned, so it enters the scope itself)."""
    yield TICKET_COLUMNS
    labels = dimension_labels(tenant=tenant)

    def as_row(record: dict) -> list:
        return [
            *(record[c] if record[c] is not None else "" for c in TICKET_COLUMNS[:10]),
            "yes" if record["escalated"] else "no",
            record["csat"] if record["csat"] is not None else "",
            record["sentiment"],
            _fmt(record["sentiment_score"], 3),
            ";".join(record["tags"]),
        ]

    with tenant_context(tenant):
        queryset = ticket_export_queryset(tenant=tenant, period=period, filters=filters)
        buffer: list[dict] = []
        for row in queryset.order_by("created_at", "id").iterator(chunk_size=CHUNK):
            buffer.append(row)
            if len(buffer) == CHUNK:
                records = ticket_records(tenant=tenant, rows=buffer, tz=period.tz, labels=labels)
                yield from (as_row(r) for r in records)
                buffer = []
        if buffer:
            records = ticket_records(tenant=tenant, rows=buffer, tz=period.tz, labels=labels)
            yield from (as_row(r) for r in records)


# --- drill-down rows ------------------------------------------------------------------------


def drill_display_rows(*, tenant: Tenant, drill: Drill, rows, question: str = "") -> list[dict]:
    """Rows of one page of a drill-down, with the figures of each row computed."""
    rows = list(rows)
    if drill.kind == "tickets":
        calendar = business_calendar_for(tenant)
        minutes = calendar.business_minutes_between
        with tenant_context(tenant):
            escalated = set(
                TicketEvent.objects.for_tenant(tenant)
                .filter(
                    ticket_id__in=[t.pk for t in rows],
                    kind="ticket.escalated",
                    to_value=ESCALATED_TO_TIER,
                )
                .values_list("ticket_id", flat=True)
            )
        return [
            {
                "ticket": t,
                "reference": f"{tenant.reference_prefix}-{t.number}",
                "frt": whole_minutes(minutes(t.created_at, t.first_response_at))
                if t.first_response_at
                else None,
                "resolution": whole_minutes(minutes(t.created_at, t.solved_at))
                if t.solved_at
                else None,
                "escalated": t.pk in escalated,
            }
            for t in rows
        ]
    if drill.kind == "responses":
        return [
            {
                "response": r,
                "answer": (r.extra_answers or {}).get(question) if question else None,
                "comment_analysis": comment_analysis(r.extra_answers) if r.comment else None,
            }
            for r in rows
        ]
    if drill.kind == "messages":
        return _message_rows(tenant, rows)
    return [{"customer": c} for c in rows]


def _message_rows(tenant: Tenant, rows: list) -> list[dict]:
    """Analysed messages with the agents' corrections applied (label, score, signals)."""
    with tenant_context(tenant):
        corrections = corrections_of(tenant, [a.message_id for a in rows])
    found = []
    for a in rows:
        corrected = corrections.get(a.message_id) if a.is_supported_language else None
        label, score, signals = analysis_as_corrected(a, corrections)
        found.append(
            {
                "analysis": a,
                "label": label,
                "score": score,
                "signals": signals,
                "corrected": bool(corrected),
            }
        )
    return found


def _drill_csv_rows(tenant: Tenant, drill: Drill, rows, question: str = "") -> Iterator[list]:
    prefix = tenant.reference_prefix
    with tenant_context(tenant):
        if drill.kind == "tickets":
            calendar = business_calendar_for(tenant)
            minutes = calendar.business_minutes_between
            yield [
                "reference",
                "subject",
                "created_at",
                "channel",
                "status",
                "first_response_business_minutes",
                "resolution_business_minutes",
            ]
            for t in rows.iterator(chunk_size=CHUNK) if hasattr(rows, "iterator") else rows:
                yield [
                    f"{prefix}-{t.number}",
                    t.subject,
                    t.created_at.isoformat(),
                    t.channel,
                    t.status,
                    whole_minutes(minutes(t.created_at, t.first_response_at))
                    if t.first_response_at
                    else "",
                    whole_minutes(minutes(t.created_at, t.solved_at)) if t.solved_at else "",
                ]
        elif drill.kind == "responses":
            head = ["kind", "score", "comment", "comment_sentiment", "created_at", "ticket"]
            head += ["customer", "agent"]
            yield [*head, "answer"] if question else head
            for r in rows.iterator(chunk_size=CHUNK):
                analysis = comment_analysis(r.extra_answers) if r.comment else None
                row = [
                    r.kind,
                    r.score,
                    r.comment,
                    analysis["label"] if analysis else "",
                    r.created_at.isoformat(),
                    f"{prefix}-{r.ticket.number}" if r.ticket_id else "",
                    (r.customer.email or r.customer.name) if r.customer_id else "",
                    str(r.agent) if r.agent_id else "",
                ]
                yield [*row, (r.extra_answers or {}).get(question, "")] if question else row
        elif drill.kind == "messages":
            yield [
                "written_at",
                "ticket",
                "sentiment",
                "score",
                "signals",
                "keywords",
                "text",
                "corrected",
            ]
            rows = list(rows)
            for start in range(0, len(rows), CHUNK):
                for row in _message_rows(tenant, rows[start : start + CHUNK]):
                    a = row["analysis"]
                    yield [
                        a.message_created_at.isoformat(),
                        f"{prefix}-{a.ticket.number}",
                        row["label"],
                        _fmt(row["score"], 3),
                        ";".join(row["signals"]),
                        ";".join(a.keywords) if isinstance(a.keywords, list) else "",
                        a.message.body_text,
                        "yes" if row["corrected"] else "",
                    ]
        else:
            yield ["customer", "email", "company", "created_at"]
            for c in rows.iterator(chunk_size=CHUNK):
                yield [c.name, c.email, c.company, c.created_at.isoformat()]


def _drill_generator(tenant, params, period, filters, now) -> Iterator[list]:
    with tenant_context(tenant):
        drill, rows = drill_rows(
            tenant=tenant,
            metric=params.get("metric", ""),
            period=period,
            filters=filters,
            signal=params.get("signal", "")[:40],
            keyword=params.get("keyword", "")[:100],
            question=params.get("question", "")[:10],
            rating=params.get("rating", "")[:2],
            now=now,
            journey=params.get("journey", "")[:40],
            stage=params.get("stage", "")[:2],
        )
        yield from _drill_csv_rows(tenant, drill, rows, question=params.get("question", "")[:10])


def export_response(
    *,
    tenant: Tenant,
    table: str,
    period: Period,
    filters: Filters,
    bucket: str,
    params,
    now: datetime,
):
    if table == "tickets":
        return csv_response(
            ticket_rows(tenant=tenant, period=period, filters=filters),
            _filename(tenant, "tickets", period),
        )
    if table == "drill":
        metric = params.get("metric", "")
        if metric not in DRILLS:
            raise PeriodError("Choose a figure to export.")
        return csv_response(
            _drill_generator(tenant, params, period, filters, now),
            _filename(tenant, metric, period),
        )
    if table == "feedback":
        return csv_response(_feedback_rows(tenant, period), _filename(tenant, table, period))
    if table not in TABLES:
        raise PeriodError(
            f"Unknown table {table!r}: use one of {', '.join((*TABLES, 'tickets', 'drill'))}."
        )
    data = dashboard_data(
        tenant=tenant, period=period, filters=filters, bucket_unit=bucket, now=now
    )
    producers = {
        "cards": lambda: _card_rows(data),
        "trend": lambda: _trend_rows(data),
        "keywords": lambda: _keyword_rows(data),
        "signals": lambda: _signal_rows(data),
        "questions": lambda: _question_rows(data),
        "journeys": lambda: _journey_rows(data),
    }
    rows = producers[table]() if table in producers else _breakdown_rows(data, table)
    body = "".join(_csv_lines(rows))
    response = HttpResponse(body, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{_filename(tenant, table, period)}"'
    response["Cache-Control"] = "no-store"
    return response
