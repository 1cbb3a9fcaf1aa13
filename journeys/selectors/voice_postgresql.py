"""The voice panel's tickets and analysed messages, placed and counted by PostgreSQL.

The panel places every ticket and analysed message of the period at the stage its customer had
reached when it was written. Done in Python, that meant reading up to 100,000 items (with their
analyses' JSON) and every run and step of their customers; here the database finds each item's
position with two index probes (the customer's latest run entered by then, that run's furthest
stage reached by then) and sends back counts: per stage and state for the tickets (with the
newest few in full, the examples), per stage and sentiment, signal and keyword for the messages.
The survey answers, fewer and provided by a higher app, are placed with ``positions_at``.

Same results as the Python path of ``voice.journey_voice`` (SQLite); ``test_selectors_voice``
runs on both.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime

from helpdesk.tenancy.models import Tenant
from journeys.models import Journey
from journeys.selectors.funnels import Period
from journeys.selectors.positions import POSITION_JOINS, StageInfo
from journeys.sql import bulk_cursor

# Each item with its stage then and the customer's ``state`` at that stage then (as
# journeys.derive.position_of).
_PLACED_HEAD = """
placed AS (
    SELECT items.*, step.stage, step.reached_at,
           CASE
               WHEN step.stage IS NULL THEN NULL
               WHEN step.stage = %(last)s THEN 'completed'
               WHEN items.at - step.reached_at > %(dropped)s THEN 'dropped'
               WHEN items.at - step.reached_at > (%(stuck)s::interval[])[step.stage + 1]
                   THEN 'stuck'
               ELSE 'in_progress'
           END AS state
    FROM items"""
_PLACED = _PLACED_HEAD + POSITION_JOINS + ")\n"

# One row per ticket (up to the cap, newest first): its stage, state and whether it is a chat;
# the newest EXAMPLES of each stage also in full (id, number, subject, channel, created_at,
# mood, seconds at the stage).
_TICKETS_ITEMS = """
WITH items AS (
    SELECT t.id, t.number, t.subject, t.channel, t.customer_id, t.created_at AS at, t.mood_label
    FROM tickets_ticket t
    WHERE t.tenant_id = %(tenant)s AND t.created_at >= %(start)s AND t.created_at < %(end)s
      AND t.merged_into_id IS NULL
    ORDER BY t.created_at DESC, t.id DESC
    LIMIT %(cap)s
),"""
_TICKETS_TAIL = """
SELECT stage, state, channel = %(chat)s, rn <= %(examples)s AS example,
       CASE WHEN rn <= %(examples)s THEN id END,
       CASE WHEN rn <= %(examples)s THEN number END,
       CASE WHEN rn <= %(examples)s THEN subject END,
       CASE WHEN rn <= %(examples)s THEN channel END,
       CASE WHEN rn <= %(examples)s THEN extract(epoch FROM at)::float8 END,
       CASE WHEN rn <= %(examples)s THEN mood_label END,
       CASE WHEN rn <= %(examples)s
            THEN GREATEST(0, floor(extract(epoch FROM at - reached_at)))::bigint END
FROM (
    SELECT placed.*, row_number() OVER (PARTITION BY stage ORDER BY at DESC, id DESC) AS rn
    FROM placed
) ranked
"""
_TICKETS_SQL = _TICKETS_ITEMS + _PLACED + _TICKETS_TAIL

# The analysed messages (up to the cap, newest first), counted: how many were read, how many
# were placed outside the journey, and per stage the messages, their sentiments, the signals
# present (a score of at least SIGNAL_PRESENT_AT, or a name in a list) and their keywords.
_MESSAGES_ITEMS = """
WITH items AS (
    SELECT a.customer_id, a.message_created_at AS at, a.sentiment_label, a.signals, a.keywords
    FROM tickets_messageanalysis a
    WHERE a.tenant_id = %(tenant)s AND a.message_created_at >= %(start)s
      AND a.message_created_at < %(end)s AND a.customer_id IS NOT NULL
    ORDER BY a.message_created_at DESC
    LIMIT %(cap)s
),"""
_MESSAGES_TAIL = """,
inside AS (SELECT * FROM placed WHERE stage IS NOT NULL AND stage < %(stages)s)
SELECT 'read', NULL::int, NULL::text, count(*) FROM items
UNION ALL
SELECT 'outside', NULL, NULL, count(*) FROM placed WHERE stage IS NULL OR stage >= %(stages)s
UNION ALL
SELECT 'messages', stage, NULL, count(*) FROM inside GROUP BY stage
UNION ALL
SELECT 'sentiment', stage, sentiment_label, count(*) FROM inside GROUP BY stage, sentiment_label
UNION ALL
SELECT 'signal', inside.stage, present.name, count(*)
FROM inside
CROSS JOIN LATERAL (
    SELECT e.key AS name
    FROM jsonb_each(CASE WHEN jsonb_typeof(inside.signals) = 'object'
                         THEN inside.signals ELSE '{}'::jsonb END) e
    WHERE CASE jsonb_typeof(e.value)
              WHEN 'number' THEN (e.value #>> '{}')::float8
              WHEN 'object' THEN CASE WHEN jsonb_typeof(e.value -> 'score') = 'number'
                                      THEN (e.value ->> 'score')::float8 END
          END >= %(present_at)s
    UNION ALL
    SELECT x #>> '{}'
    FROM jsonb_array_elements(CASE WHEN jsonb_typeof(inside.signals) = 'array'
                                   THEN inside.signals ELSE '[]'::jsonb END) x
    WHERE jsonb_typeof(x) = 'string'
) present
GROUP BY inside.stage, present.name
UNION ALL
SELECT 'keyword', inside.stage, words.word, count(*)
FROM inside
CROSS JOIN LATERAL (
    SELECT lower(regexp_replace(k #>> '{}', '^\\s+|\\s+$', '', 'g')) AS word
    FROM jsonb_array_elements(CASE WHEN jsonb_typeof(inside.keywords) = 'array'
                                   THEN inside.keywords ELSE '[]'::jsonb END) k
    WHERE jsonb_typeof(k) = 'string'
) words
WHERE words.word <> ''
GROUP BY inside.stage, words.word
"""
_MESSAGES_SQL = _MESSAGES_ITEMS + _PLACED + _MESSAGES_TAIL


@dataclass
class StageCounts:
    tickets: int = 0
    chats: int = 0
    states: Counter = field(default_factory=Counter)
    # The newest tickets: (id, number, subject, channel, created_at, mood, state, seconds there)
    examples: list[tuple] = field(default_factory=list)
    messages: int = 0
    sentiment: Counter = field(default_factory=Counter)
    signals: Counter = field(default_factory=Counter)
    keywords: Counter = field(default_factory=Counter)


@dataclass
class ItemCounts:
    stages: list[StageCounts]
    tickets_read: int = 0
    messages_read: int = 0
    outside: int = 0


def voice_item_counts(
    *,
    tenant: Tenant,
    journey: Journey,
    info: StageInfo,
    period: Period,
    max_tickets: int,
    max_messages: int,
    examples: int,
    signal_present_at: float,
    chat_channel: str,
) -> ItemCounts:
    """The period's tickets and analysed messages, placed and counted (inside the tenant's
    scope; row-level security applies)."""
    stage_count = len(info.names)
    counts = ItemCounts(stages=[StageCounts() for _ in range(stage_count)])
    params = {
        "tenant": tenant.pk,
        "journey": journey.pk,
        "start": period.start,
        "end": period.end,
        "last": info.last,
        "dropped": info.dropped_after,
        "stuck": list(info.stuck_after),
        "stages": stage_count,
    }
    epoch = datetime.fromtimestamp
    with bulk_cursor(binary=True) as cursor:
        cursor.execute(
            _TICKETS_SQL,
            {**params, "cap": max_tickets, "examples": examples, "chat": chat_channel},
        )
        rows = cursor.fetchall()
        counts.tickets_read = len(rows)
        for stage, state, is_chat, example, *detail in rows:
            if stage is None or stage >= stage_count:
                counts.outside += 1
                continue
            here = counts.stages[stage]
            here.tickets += 1
            here.states[state] += 1
            here.chats += bool(is_chat)
            if example:
                pk, number, subject, channel, at, mood, waited = detail
                here.examples.append(
                    (pk, number, subject, channel, epoch(at, UTC), mood, state, waited)
                )
        cursor.execute(
            _MESSAGES_SQL, {**params, "cap": max_messages, "present_at": signal_present_at}
        )
        for kind, stage, name, number in cursor.fetchall():
            if kind == "read":
                counts.messages_read = number
            elif kind == "outside":
                counts.outside += number
            elif kind == "messages":
                counts.stages[stage].messages = number
            elif kind == "sentiment":
                counts.stages[stage].sentiment[name] = number
            elif kind == "signal":
                counts.stages[stage].signals[name] = number
            else:
                counts.stages[stage].keywords[name] = number
    for here in counts.stages:  # newest first, as the examples are read
        here.examples.sort(key=lambda e: (e[4], e[0]), reverse=True)
    return counts
