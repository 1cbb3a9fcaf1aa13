"""Writes of the message analysis pipeline: results, ticket mood, triage rules, corrections.

The analyser itself (``tickets.analysis``) is plain Python; these services store what it found.
Everything here is idempotent: analysing a message again with the same model changes nothing
(no row update, no mood event, no second triage action), and a triage rule fires at most once per
message (the ``triage.applied`` timeline event is the record of it).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from helpdesk.accounts.models import User
from helpdesk.realtime.publish import notify_member_on_commit
from helpdesk.tenancy.context import current_scope, tenant_context
from helpdesk.tenancy.models import Membership, Tenant
from helpdesk.tenancy.policy import Role
from tickets.events import event_record, ticket_analysed_notice_on_commit
from tickets.models import (
    SIGNALS,
    AnalysisCorrection,
    AnalysisSettings,
    AuthorType,
    Message,
    MessageAnalysis,
    Notification,
    Priority,
    Ticket,
    TicketEvent,
    TriageRule,
)
from tickets.services.fields import ticket_set_priority, ticket_tags_change

logger = logging.getLogger(__name__)

SENTIMENT_LABELS = ("negative", "neutral", "positive")
SIGNAL_VALUES = ("present", "absent")
PRESENT_AT = 0.5
MAX_ATTEMPTS = 5
BATCH_SIZE = 32
# Score used for a message whose sentiment an agent corrected (the model's score no longer fits).
CORRECTED_SCORE = {"negative": -0.6, "neutral": 0.0, "positive": 0.6}
PRIORITY_RANK = {Priority.LOW: 1, Priority.NORMAL: 2, Priority.HIGH: 3, Priority.URGENT: 4}

DEFAULT_TRIAGE_RULES = [
    {
        "name": "Negative and urgent: raise priority",
        "conditions": {"sentiment": "negative", "signals": ["urgency"]},
        "actions": {"set_priority": "high"},
        "position": 10,
    },
    {
        "name": "Churn risk: tell the managers",
        "conditions": {"signals": ["churn_risk"]},
        "actions": {"notify": "managers", "add_tags": ["churn-risk"]},
        "position": 20,
    },
    {
        "name": "Confused customer: needs clarity",
        "conditions": {"signals": ["confusion"]},
        "actions": {"add_tags": ["needs-clarity"]},
        "position": 30,
    },
]


_deferred: ContextVar[bool] = ContextVar("analysis_deferred", default=False)


@contextmanager
def analysis_deferred() -> Iterator[None]:
    """Store messages (and survey comments) as pending without enqueueing their analysis (bulk
    seeding, imports); analyse them afterwards with ``messages_analyse_pending`` and
    ``survey_comments_analyse`` (or let the sweepers do it)."""
    token = _deferred.set(True)
    try:
        yield
    finally:
        _deferred.reset(token)


def analysis_is_deferred() -> bool:
    """Inside ``analysis_deferred()``: enqueue no analysis."""
    return _deferred.get()


def message_analysis_enqueue(*, tenant: Tenant, message: Message) -> None:
    """After commit, queue the analysis of a new customer message (a broker outage only logs:
    the message stays pending and the sweeper picks it up)."""
    if _deferred.get():
        return
    from tickets.tasks.analysis import message_analyse_task  # the tasks module imports services

    message_analyse_task.delay_on_commit(tenant.pk, message.pk)


def _analyser():
    from tickets.analysis import get_analyser

    return get_analyser()


MAX_SETTINGS_WORDS = 200
MAX_WORD_LENGTH = 60
_SETTINGS_WORD = re.compile(r"^\w[\w .'&+/-]*$")


def _clean_words(words: list[str], *, field: str) -> list[str]:
    """Trimmed, de-duplicated (case-insensitively) words or phrases; a clear error otherwise."""
    cleaned: list[str] = []
    seen: set[str] = set()
    for raw in words:
        word = " ".join(str(raw).split())
        if not word:
            continue
        if len(word) > MAX_WORD_LENGTH:
            raise ValidationError(
                {field: f"“{word[:30]}…” is longer than {MAX_WORD_LENGTH} characters."}
            )
        if not _SETTINGS_WORD.match(word):
            raise ValidationError(
                {field: f"“{word}”: use letters, digits, spaces, hyphens and apostrophes only."}
            )
        if word.lower() not in seen:
            seen.add(word.lower())
            cleaned.append(word)
    if len(cleaned) > MAX_SETTINGS_WORDS:
        raise ValidationError({field: f"At most {MAX_SETTINGS_WORDS} entries."})
    return cleaned


def analysis_settings_update(
    *, tenant: Tenant, actor: User | None, stop_words: list[str], product_words: list[str]
) -> AnalysisSettings:
    """Set the tenant's extra stop words and product words (left out of keyphrases from the
    next analysis on; ``analysis_reanalyse`` applies them to older messages)."""
    stop_words = _clean_words(stop_words, field="stop_words")
    product_words = _clean_words(product_words, field="product_words")
    with tenant_context(tenant):
        settings = AnalysisSettings.objects.for_tenant(
            tenant
        ).select_for_update().first() or AnalysisSettings(tenant=tenant)
        settings.stop_words = stop_words
        settings.product_words = product_words
        settings.save()
    return settings


def triage_rule_set_active(
    *, tenant: Tenant, actor: User | None, rule: TriageRule, is_active: bool
) -> TriageRule:
    """Turn one of the tenant's triage rules on or off (it applies to messages analysed later)."""
    with tenant_context(tenant):
        if rule.tenant_id != tenant.pk:
            raise ValidationError("Rule belongs to another tenant.")
        TriageRule.objects.for_tenant(tenant).filter(pk=rule.pk).update(is_active=is_active)
        rule.is_active = is_active
    return rule


def analysis_settings_words(*, tenant: Tenant) -> tuple[list[str], list[str]]:
    """The tenant's extra stop words and product words (left out of keyphrases)."""
    with _in_tenant(tenant):
        settings = AnalysisSettings.objects.for_tenant(tenant).first()
    if settings is None:
        return [], []
    return list(settings.stop_words or []), list(settings.product_words or [])


def _present(signals: dict) -> set[str]:
    return {name for name in SIGNALS if (signals or {}).get(name, {}).get("score", 0) >= PRESENT_AT}


# --- Storing results ----------------------------------------------------------------------


@dataclass
class AnalyseOutcome:
    analysed: int = 0
    changed: int = 0
    skipped: int = 0


def _in_tenant(tenant: Tenant):
    """``tenant_context(tenant)``, or nothing when the caller is already inside that tenant's
    scope and transaction (a batch stores dozens of rows: no savepoint and no ``set_config``
    round trip per row)."""
    scope = current_scope()
    if (
        scope is not None
        and scope.tenant is not None
        and scope.tenant.pk == tenant.pk
        and transaction.get_connection().in_atomic_block
    ):
        return nullcontext(tenant)
    return tenant_context(tenant)


def _values(result) -> dict:
    return {
        "model_version": result.model_version,
        "language": result.language,
        "is_supported_language": result.is_supported_language,
        "sentiment_label": result.sentiment_label,
        "sentiment_score": result.sentiment_score,
        "signals": result.signals,
        "keywords": result.keywords,
    }


def messages_analyse(
    *,
    tenant: Tenant,
    message_ids: list[int],
    force: bool = False,
    analyser=None,
    at: datetime | None = None,
) -> AnalyseOutcome:
    """Analyse customer messages of ``tenant`` in one batch and store the results.

    Only messages still ``pending`` are taken unless ``force`` (re-analysis after a model
    change). On PostgreSQL the rows are locked with SKIP LOCKED, so two workers never analyse
    the same message at the same time. Storing is batched: one query for the existing rows, one
    insert for the new ones, one update per changed row, one to mark the messages done, then
    the mood of each touched ticket and the triage rules (loaded once).
    """
    now = at or timezone.now()
    outcome = AnalyseOutcome()
    if not message_ids:
        return outcome
    analyser = analyser or _analyser()
    stop_words, product_words = analysis_settings_words(tenant=tenant)
    with _in_tenant(tenant):
        queryset = Message.objects.for_tenant(tenant).filter(
            pk__in=list(message_ids), author_type=AuthorType.CUSTOMER, is_internal=False
        )
        if not force:
            queryset = queryset.filter(analysis_state="pending")
        if connection.vendor == "postgresql":
            queryset = queryset.select_for_update(skip_locked=True, of=("self",))
        messages = list(queryset.order_by("created_at", "pk"))
        outcome.skipped = len(set(message_ids)) - len(messages)
        if not messages:
            return outcome
        results = analyser.analyse_batch(
            [m.body_text for m in messages], stop_words=stop_words, product_words=product_words
        )
        existing = {
            row.message_id: row
            for row in MessageAnalysis.objects.for_tenant(tenant).filter(
                message_id__in=[m.pk for m in messages]
            )
        }
        created, changed_rows = [], []
        for message, result in zip(messages, results, strict=True):
            values = _values(result)
            row = existing.get(message.pk)
            outcome.analysed += 1
            if row is None:
                row = MessageAnalysis(
                    tenant=tenant,
                    message=message,
                    ticket_id=message.ticket_id,
                    customer_id=message.author_customer_id,
                    message_created_at=message.created_at,
                    analysed_at=now,
                    **values,
                )
                created.append(row)
            elif all(getattr(row, name) == value for name, value in values.items()):
                continue
            else:
                for name, value in values.items():
                    setattr(row, name, value)
                row.analysed_at = now
                row.save(update_fields=[*values, "analysed_at"])
            changed_rows.append((message, row))
        MessageAnalysis.objects.bulk_create(created)
        outcome.changed = len(changed_rows)
        _analysed_notices(
            tenant=tenant,
            messages=[m for m in messages if m.analysis_state != "done"]
            + [m for m, _row in changed_rows if m.analysis_state == "done"],
        )
        Message.objects.for_tenant(tenant).filter(
            pk__in=[m.pk for m in messages if m.analysis_state != "done"]
        ).update(analysis_state="done")
        tickets_mood_refresh(
            tenant=tenant, ticket_ids=sorted({m.ticket_id for m, _row in changed_rows}), at=now
        )
        rules = list(TriageRule.objects.for_tenant(tenant).filter(is_active=True))
        if rules:
            for message, row in changed_rows:
                triage_rules_apply(
                    tenant=tenant, message=message, analysis=row, at=now, rules=rules
                )
    return outcome


def _analysed_notices(*, tenant: Tenant, messages: list[Message]) -> None:
    """One notice per ticket, after commit, naming its messages whose marker changes (see
    ``ticket_analysed_notice_on_commit``)."""
    per_ticket: dict[int, list[str]] = {}
    for message in messages:
        ids = per_ticket.setdefault(message.ticket_id, [])
        if str(message.public_id) not in ids:
            ids.append(str(message.public_id))
    if not per_ticket:
        return
    tickets = Ticket.objects.for_tenant(tenant).only("pk", "number").filter(pk__in=list(per_ticket))
    for ticket in tickets:
        ticket_analysed_notice_on_commit(
            tenant_id=tenant.pk, ticket=ticket, message_ids=per_ticket[ticket.pk]
        )


def message_analysis_store(
    *,
    tenant: Tenant,
    message: Message,
    result,
    at: datetime | None = None,
) -> tuple[MessageAnalysis, bool]:
    """Store one analyser result (``tickets.analysis.Analysis``) beside its message, refresh
    the ticket's mood and apply the triage rules. Returns the row and whether anything changed.
    Marks the message ``done``."""
    now = at or timezone.now()
    values = _values(result)
    with _in_tenant(tenant):
        if message.tenant_id != tenant.pk:
            raise ValidationError("Message belongs to another tenant.")
        row = MessageAnalysis.objects.for_tenant(tenant).filter(message=message).first()
        changed = True
        if row is None:
            row = MessageAnalysis.objects.create(
                tenant=tenant,
                message=message,
                ticket_id=message.ticket_id,
                customer_id=message.author_customer_id,
                message_created_at=message.created_at,
                analysed_at=now,
                **values,
            )
        elif all(getattr(row, name) == value for name, value in values.items()):
            changed = False
        else:
            for name, value in values.items():
                setattr(row, name, value)
            row.analysed_at = now
            row.save(update_fields=[*values, "analysed_at"])
        if changed or message.analysis_state != "done":
            _analysed_notices(tenant=tenant, messages=[message])
        if message.analysis_state != "done":
            Message.objects.for_tenant(tenant).filter(pk=message.pk).update(analysis_state="done")
            message.analysis_state = "done"
        if changed:
            ticket_mood_refresh(tenant=tenant, ticket_id=message.ticket_id, at=now)
            triage_rules_apply(tenant=tenant, message=message, analysis=row, at=now)
    return row, changed


@dataclass
class IsolatedOutcome:
    analysed: int = 0
    changed: int = 0
    failed_ids: list[int] = field(default_factory=list)
    error: str | None = None


def messages_analyse_isolating(
    *,
    tenant: Tenant,
    message_ids: list[int],
    force: bool = False,
    analyser=None,
    at: datetime | None = None,
) -> IsolatedOutcome:
    """``messages_analyse`` in its own transaction; when a batch fails, its halves are tried
    again (down to single messages), so one message the analyser cannot read never costs its
    neighbours an attempt. Only a message that fails on its own has its attempt counted
    (``messages_analysis_failed``). A batch of n with one such message takes about 2 log2(n)
    extra tries."""
    outcome = IsolatedOutcome()
    chunks = [list(message_ids)] if message_ids else []
    while chunks:
        chunk = chunks.pop(0)
        try:
            with transaction.atomic():
                done = messages_analyse(
                    tenant=tenant, message_ids=chunk, force=force, analyser=analyser, at=at
                )
        except Exception as exc:
            if len(chunk) > 1:
                middle = len(chunk) // 2
                chunks[:0] = [chunk[:middle], chunk[middle:]]
                continue
            logger.exception("analysis failed for tenant %s, message %s", tenant.pk, chunk[0])
            messages_analysis_failed(tenant=tenant, message_ids=chunk, error=repr(exc))
            outcome.failed_ids.extend(chunk)
            outcome.error = repr(exc)
            continue
        outcome.analysed += done.analysed
        outcome.changed += done.changed
    return outcome


def messages_analysis_failed(*, tenant: Tenant, message_ids: list[int], error: str) -> int:
    """Count a failed attempt; after ``MAX_ATTEMPTS`` a message is ``failed`` (not swept again)."""
    with tenant_context(tenant):
        pending = Message.objects.for_tenant(tenant).filter(
            pk__in=list(message_ids), analysis_state="pending"
        )
        given_up = []
        for message in pending.select_for_update():
            message.analysis_attempts = min(message.analysis_attempts + 1, 32767)
            if message.analysis_attempts >= MAX_ATTEMPTS:
                message.analysis_state = "failed"
                given_up.append(message)
                logger.error("analysis of message %s failed for good: %s", message.pk, error)
            message.save(update_fields=["analysis_attempts", "analysis_state"])
        _analysed_notices(tenant=tenant, messages=given_up)  # the marker says "not analysed"
        return len(message_ids)


def messages_analyse_pending(
    *,
    tenant: Tenant,
    older_than: timedelta = timedelta(0),
    limit: int = 1000,
    batch_size: int = BATCH_SIZE,
    analyser=None,
    now: datetime | None = None,
) -> int:
    """The sweeper's work: analyse messages still pending after ``older_than``. Returns how many."""
    from tickets.selectors_analysis import message_ids_pending

    now = now or timezone.now()
    with tenant_context(tenant):
        ids = message_ids_pending(tenant=tenant, before=now - older_than, limit=limit)
    done = 0
    for start in range(0, len(ids), batch_size):
        chunk = ids[start : start + batch_size]
        # A bad message must not stop the sweep, nor cost the rest of its batch an attempt.
        done += messages_analyse_isolating(
            tenant=tenant, message_ids=chunk, analyser=analyser, at=now
        ).analysed
    return done


def messages_mark_for_reanalysis(*, tenant: Tenant, model_version: str = "") -> int:
    """Put analysed customer messages back to pending (all, or those of another model version)."""
    with tenant_context(tenant):
        queryset = Message.objects.for_tenant(tenant).filter(
            author_type=AuthorType.CUSTOMER, is_internal=False
        )
        if model_version:
            current = MessageAnalysis.objects.for_tenant(tenant).filter(model_version=model_version)
            queryset = queryset.exclude(pk__in=current.values("message_id"))
        return queryset.exclude(analysis_state="pending").update(
            analysis_state="pending", analysis_attempts=0
        )


# --- Ticket mood --------------------------------------------------------------------------


def _effective(rows: list[dict], corrections: dict[tuple[int, str], str]) -> list[dict]:
    """Predictions with the agents' corrections applied (corrections win, predictions stay)."""
    out = []
    for row in rows:
        label = row["sentiment_label"]
        score = row["sentiment_score"]
        corrected = corrections.get((row["message_id"], "sentiment"))
        if corrected and corrected != label:
            label, score = corrected, CORRECTED_SCORE[corrected]
        present = _present(row["signals"])
        for name in SIGNALS:
            value = corrections.get((row["message_id"], name))
            if value == "present":
                present.add(name)
            elif value == "absent":
                present.discard(name)
        out.append({**row, "label": label, "score": score, "present": present})
    return out


def ticket_mood_refresh(*, tenant: Tenant, ticket_id: int, at: datetime | None = None) -> Ticket:
    """Recompute one ticket's mood (see ``tickets_mood_refresh``) and return the ticket."""
    tickets_mood_refresh(tenant=tenant, ticket_ids=[ticket_id], at=at)
    with _in_tenant(tenant):
        return Ticket.objects.for_tenant(tenant).get(pk=ticket_id)


def tickets_mood_refresh(
    *, tenant: Tenant, ticket_ids: list[int], at: datetime | None = None
) -> int:
    """Recompute the tickets' mood from their customer messages' analyses. Returns how many
    tickets changed.

    mood_label/mood_score: the latest scored customer message; mood_worst_score: the lowest;
    mood_trend: latest minus first; mood_signals: the signals of the latest message, plus churn
    risk once any message showed it. Corrections win over predictions. A change of label or
    signals is a ``ticket.mood_changed`` timeline event (internal), so open ticket pages and the
    queue update live. Three queries for all the tickets, then one update (and one event row)
    per changed ticket.
    """
    now = at or timezone.now()
    if not ticket_ids:
        return 0
    changed = 0
    with _in_tenant(tenant):
        per_ticket: dict[int, list[dict]] = {}
        for row in (
            MessageAnalysis.objects.for_tenant(tenant)
            .filter(ticket_id__in=ticket_ids, is_supported_language=True)
            .exclude(sentiment_label="")
            .order_by("message_created_at", "id")
            .values("ticket_id", "message_id", "sentiment_label", "sentiment_score", "signals")
        ):
            per_ticket.setdefault(row["ticket_id"], []).append(row)
        corrections = {
            (c.message_id, c.field): c.corrected
            for c in AnalysisCorrection.objects.for_tenant(tenant).filter(
                message__ticket_id__in=list(per_ticket)
            )
        }
        tickets = (
            Ticket.objects.for_tenant(tenant).select_for_update().filter(pk__in=list(per_ticket))
        )
        for ticket in tickets.order_by("pk"):
            effective = _effective(per_ticket[ticket.pk], corrections)
            latest, first = effective[-1], effective[0]
            signals = set(latest["present"])
            if any("churn_risk" in row["present"] for row in effective):
                signals.add("churn_risk")
            mood = {
                "mood_label": latest["label"],
                "mood_score": round(latest["score"], 4),
                "mood_worst_score": round(min(row["score"] for row in effective), 4),
                "mood_trend": round(latest["score"] - first["score"], 4),
                "mood_signals": [name for name in SIGNALS if name in signals],
            }
            previous = {name: getattr(ticket, name) for name in mood}
            if previous == mood:
                continue
            changed += 1
            for name, value in mood.items():
                setattr(ticket, name, value)
            ticket.save(update_fields=list(mood))
            if (previous["mood_label"], previous["mood_signals"]) != (
                mood["mood_label"],
                mood["mood_signals"],
            ):
                event_record(
                    tenant=tenant,
                    ticket=ticket,
                    kind="ticket.mood_changed",
                    from_value=previous["mood_label"] or "",
                    to_value=mood["mood_label"],
                    data={
                        "score": mood["mood_score"],
                        "worst": mood["mood_worst_score"],
                        "trend": mood["mood_trend"],
                        "signals": mood["mood_signals"],
                    },
                    is_public=False,
                    at=now,
                )
    return changed


# --- Triage rules -------------------------------------------------------------------------


def triage_rule_matches(*, rule: TriageRule, label: str, signals: dict) -> bool:
    conditions = rule.conditions or {}
    wanted_label = conditions.get("sentiment")
    if wanted_label and wanted_label != label:
        return False
    min_score = float(conditions.get("min_score", PRESENT_AT))
    for name in conditions.get("signals") or []:
        if (signals or {}).get(name, {}).get("score", 0) < min_score:
            return False
    return bool(wanted_label or conditions.get("signals"))


def triage_rules_apply(
    *,
    tenant: Tenant,
    message: Message,
    analysis: MessageAnalysis,
    at: datetime | None = None,
    rules: list[TriageRule] | None = None,
) -> list[str]:
    """Apply the tenant's active rules matching this analysis, each at most once per message.

    Actions are ordinary timeline changes made by the existing services (priority, tags) and
    notifications to managers. Priority is only ever raised by a rule, never lowered.
    Returns the names of the rules that fired now.
    """
    now = at or timezone.now()
    if not analysis.is_supported_language or not analysis.sentiment_label:
        return []
    fired = []
    with _in_tenant(tenant):
        if rules is None:
            rules = list(TriageRule.objects.for_tenant(tenant).filter(is_active=True))
        matching = [
            rule
            for rule in rules
            if rule.is_active
            and rule.tenant_id == tenant.pk
            and triage_rule_matches(
                rule=rule, label=analysis.sentiment_label, signals=analysis.signals
            )
        ]
        if not matching:
            return []
        done = set(
            TicketEvent.objects.for_tenant(tenant)
            .filter(
                ticket_id=message.ticket_id,
                kind="triage.applied",
                to_value=str(message.public_id),
            )
            .values_list("from_value", flat=True)
        )
        for rule in matching:
            if str(rule.pk) in done:
                continue
            ticket = Ticket.objects.for_tenant(tenant).get(pk=message.ticket_id)
            applied = _triage_actions(tenant=tenant, rule=rule, ticket=ticket, at=now)
            event_record(
                tenant=tenant,
                ticket=ticket,
                kind="triage.applied",
                from_value=str(rule.pk),
                to_value=str(message.public_id),
                data={"rule": rule.name, "actions": applied},
                is_public=False,
                at=now,
            )
            fired.append(rule.name)
    return fired


def _triage_actions(*, tenant: Tenant, rule: TriageRule, ticket: Ticket, at: datetime) -> dict:
    actions = rule.actions or {}
    applied: dict = {}
    priority = actions.get("set_priority")
    if priority in PRIORITY_RANK and PRIORITY_RANK[priority] > PRIORITY_RANK.get(
        ticket.priority, 0
    ):
        ticket_set_priority(tenant=tenant, actor=None, ticket=ticket, priority=priority, at=at)
        applied["set_priority"] = priority
    tags = [t for t in actions.get("add_tags") or [] if isinstance(t, str) and t.strip()]
    if tags:
        ticket_tags_change(tenant=tenant, actor=None, ticket=ticket, add=tags, at=at)
        applied["add_tags"] = tags
    if actions.get("notify") in ("managers", "admins"):
        applied["notified"] = _notify_managers(
            tenant=tenant, ticket=ticket, rule=rule, roles=actions["notify"]
        )
    return applied


def _notify_managers(*, tenant: Tenant, ticket: Ticket, rule: TriageRule, roles: str) -> int:
    wanted = [Role.MANAGER] if roles == "managers" else [Role.ADMIN]
    user_ids = list(
        Membership.objects.filter(tenant=tenant, role__in=wanted).values_list("user_id", flat=True)
    )
    if not user_ids and roles == "managers":
        user_ids = list(
            Membership.objects.filter(tenant=tenant, role=Role.ADMIN).values_list(
                "user_id", flat=True
            )
        )
    reference = ticket.reference_with(tenant.reference_prefix)
    created = Notification.objects.bulk_create(
        [
            Notification(
                tenant=tenant,
                user_id=user_id,
                kind="triage",
                title=f"{rule.name}: {reference}",
                body=ticket.subject,
                data={"ticket": ticket.number, "reference": reference, "rule": rule.name},
            )
            for user_id in sorted(set(user_ids))
        ]
    )
    for notification in created:
        notify_member_on_commit(
            tenant_id=tenant.pk,
            user_id=notification.user_id,
            payload={
                "id": notification.pk,
                "kind": notification.kind,
                "title": notification.title,
                "body": notification.body,
                "data": notification.data,
                "created_at": notification.created_at.isoformat(),
            },
        )
    return len(created)


def triage_rules_install_defaults(*, tenant: Tenant) -> int:
    """Create the default rules (negative + urgency -> high; churn -> managers; confusion ->
    "needs-clarity") where the tenant has no rule of that name. Returns how many were created."""
    created = 0
    with tenant_context(tenant):
        existing = set(TriageRule.objects.for_tenant(tenant).values_list("name", flat=True))
        for spec in DEFAULT_TRIAGE_RULES:
            if spec["name"] in existing:
                continue
            try:
                with transaction.atomic():  # another process may install them at the same time
                    TriageRule.objects.create(tenant=tenant, **spec)
            except IntegrityError:
                continue
            created += 1
    return created


# --- Corrections --------------------------------------------------------------------------


def _predicted_value(analysis: MessageAnalysis | None, field: str) -> str:
    if analysis is None:
        return ""
    if field == "sentiment":
        return analysis.sentiment_label
    return "present" if field in _present(analysis.signals) else "absent"


def analysis_correct(
    *,
    tenant: Tenant,
    actor: User | None,
    message: Message,
    field: str,
    corrected: str,
    at: datetime | None = None,
) -> AnalysisCorrection | None:
    """Correct a message's sentiment (``field="sentiment"``) or one signal (present/absent).

    The correction is stored beside the prediction, which is never changed. Correcting back to
    what the model predicted removes the correction (one click undoes one click). Returns the
    correction, or None when it was removed.
    """
    now = at or timezone.now()
    field = (field or "").strip()
    corrected = (corrected or "").strip().lower()
    if field == "sentiment":
        if corrected not in SENTIMENT_LABELS:
            raise ValidationError({"value": f"Choose one of {', '.join(SENTIMENT_LABELS)}."})
    elif field in SIGNALS:
        if corrected not in SIGNAL_VALUES:
            raise ValidationError({"value": "Choose present or absent."})
    else:
        raise ValidationError({"field": f"Choose sentiment or one of {', '.join(SIGNALS)}."})
    with tenant_context(tenant):
        if message.tenant_id != tenant.pk:
            raise ValidationError("Message belongs to another tenant.")
        if message.author_type != AuthorType.CUSTOMER:
            raise ValidationError("Only customer messages are analysed.")
        analysis = MessageAnalysis.objects.for_tenant(tenant).filter(message=message).first()
        if analysis is None or not analysis.is_supported_language:
            raise ValidationError("This message has no analysis to correct yet.")
        predicted = _predicted_value(analysis, field)
        existing = (
            AnalysisCorrection.objects.for_tenant(tenant)
            .filter(message=message, field=field)
            .first()
        )
        ticket = Ticket.objects.for_tenant(tenant).get(pk=message.ticket_id)
        if corrected == predicted:
            if existing is None:
                return None
            existing.delete()
            correction = None
        else:
            if existing is not None and existing.corrected == corrected:
                return existing
            if existing is None:
                correction = AnalysisCorrection.objects.create(
                    tenant=tenant,
                    message=message,
                    field=field,
                    predicted=predicted,
                    corrected=corrected,
                    model_version=analysis.model_version,
                    corrected_by=actor,
                )
            else:
                existing.predicted = predicted
                existing.corrected = corrected
                existing.model_version = analysis.model_version
                existing.corrected_by = actor
                existing.save(
                    update_fields=["predicted", "corrected", "model_version", "corrected_by"]
                )
                correction = existing
        event_record(
            tenant=tenant,
            ticket=ticket,
            kind="analysis.corrected",
            actor=actor,
            from_value=predicted,
            to_value=corrected if correction else predicted,
            data={
                "message": str(message.public_id),
                "field": field,
                "removed": correction is None,
            },
            is_public=False,
            at=now,
        )
        ticket_mood_refresh(tenant=tenant, ticket_id=ticket.pk, at=now)
    return correction
