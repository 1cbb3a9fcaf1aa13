"""The exact definition of every figure, as shown behind the info icons of the dashboard.

Keep these texts in step with ``facts.py``, ``tally.py`` and ``selectors/`` (the tests quote them).
"""

from __future__ import annotations

from empathy_metrics.selectors.direct import retention_min_start_active

COMMON = (
    "Days are the helpdesk's local days ({tz}). A period includes both its first and its last "
    "day; the change is against the period of the same length just before it. \u201cNo data\u201d "
    "means nothing was counted, which is not the same as 0."
)

DEFINITIONS: dict[str, tuple[str, str]] = {
    "csat": (
        "CSAT",
        "Answers of 4 or 5 divided by all answers to the satisfaction question (1\u20135) given "
        "in the period, as a percentage, with the number of answers. One answer per ticket "
        "resolution. Filters apply through the answer's ticket and agent.",
    ),
    "nps": (
        "NPS",
        "Percentage of promoters (9\u201310) minus percentage of detractors (0\u20136) among the "
        "answers to the \u201chow likely are you to recommend\u201d question (0\u201310) given in "
        "the period, from \u2212100 to 100, with the count of each group. NPS is about customers, "
        "not tickets: the channel, group, agent and tag filters do not apply to it.",
    ),
    "retention": (
        "Customer retention",
        "(Customers active at the end \u2212 new customers acquired during the period) \u00f7 "
        "customers active at the start, as a percentage. Active: a ticket, a message, a chat, a "
        "journey event or a survey answer within the last {active_days} local days. \u201cAt the "
        "start\u201d is the end of the day before the period. New customers acquired during the "
        "period are all customers first seen in it, also those acquired and lost within it (they "
        "lower the rate). A customer who comes back after being inactive at the start counts as "
        "retained. Fewer than {min_start_active} customers active at the start: too few for "
        "the rate to mean anything, so only the counts are shown. "
        "Not filtered by channel, group, agent or tag.",
    ),
    "frt": (
        "First response time",
        "Business hours from a ticket's creation to the first public reply by staff, for the "
        "tickets created in the period that have had a reply. Median and 90th percentile "
        "(nearest rank) in the helpdesk's opening hours (closed hours and holidays do not "
        "count). Durations are counted to the minute below 1 hour, in steps of 5 minutes below "
        "8 hours, of 15 minutes below 48 hours and of whole hours beyond (2 h 7 min counts as "
        "2 h 5 min).",
    ),
    "resolution": (
        "Resolution time",
        "Business hours from a ticket's creation to its latest solve (or close), for the "
        "tickets created in the period that are solved or closed now. Median and 90th "
        "percentile, as for the first response time.",
    ),
    "repeat_rate": (
        "Repeat-ticket rate",
        "Tickets created in the period that repeat an earlier ticket of the same customer on "
        "the same topic \u00f7 tickets created in the period.",
    ),
    "escalation_rate": (
        "Escalation rate",
        "Tickets created in the period that were escalated to tier 2 (at any time so far) "
        "\u00f7 tickets created in the period.",
    ),
    "reopen_rate": (
        "Reopen rate",
        "Tickets created in the period that were reopened at least once \u00f7 tickets created "
        "in the period that were solved at least once.",
    ),
    "sla": (
        "SLA attainment",
        "Among the tickets created in the period that have an SLA policy: solved or closed "
        "without any breached target \u00f7 (those + the ones with a breached target). Open "
        "tickets without a breach are still pending and not counted.",
    ),
    "backlog": (
        "Backlog",
        "Open tickets (new, open, pending or on hold) at the end of the period: live when the "
        "period ends today, otherwise the snapshot taken at the end of that day.",
    ),
    "tickets": (
        "Tickets created",
        "Tickets created in the period, without the ones merged into another ticket. Every "
        "ticket figure counts a ticket on the local day it was created.",
    ),
    "sentiment": (
        "Sentiment mix",
        "Analysed customer messages written in the period by sentiment (negative, neutral, "
        "positive); messages in a language the analyser does not support are left out. The "
        "card shows the negative share.",
    ),
    "signals": (
        "Support signals",
        "Customer messages in the period in which the analyser found confusion, frustration, "
        "urgency (and more) with a score of at least 0.5, with the latest examples.",
    ),
    "keywords": (
        "Top keywords",
        "The key phrases found most often in the period's customer messages (each message "
        "counts a phrase once).",
    ),
}


def definitions_for(*, time_zone: str, active_days: int) -> list[dict]:
    values = {
        "tz": time_zone,
        "active_days": active_days,
        "min_start_active": retention_min_start_active(),
    }
    return [
        {"key": key, "label": label, "text": text.format(**values)}
        for key, (label, text) in DEFINITIONS.items()
    ]


def common_note(*, time_zone: str) -> str:
    return COMMON.format(tz=time_zone)
