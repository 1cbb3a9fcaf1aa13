"""Reads of the message analysis pipeline: pending work, per-message results, trends, exports."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db.models import QuerySet
from django.utils import timezone

from helpdesk.tenancy.models import Tenant
from tickets.models import (
    SIGNALS,
    AnalysisCorrection,
    AnalysisSettings,
    AuthorType,
    Customer,
    Message,
    MessageAnalysis,
    TriageRule,
)

PRESENT_AT = 0.5


def message_ids_pending(*, tenant: Tenant, before: datetime, limit: int = 1000) -> list[int]:
    """Customer messages still waiting for analysis, created before ``before``, oldest first."""
    return list(
        Message.objects.for_tenant(tenant)
        .filter(analysis_state="pending", created_at__lte=before)
        .order_by("created_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )


def message_ids_for_batch(*, tenant: Tenant, message_id: int, limit: int) -> list[int]:
    """The message itself plus the oldest other pending messages of the tenant (one batch)."""
    others = list(
        Message.objects.for_tenant(tenant)
        .filter(analysis_state="pending")
        .exclude(pk=message_id)
        .order_by("created_at", "pk")
        .values_list("pk", flat=True)[: max(limit - 1, 0)]
    )
    return [message_id, *others]


def tenant_ids_with_pending_analysis(*, before: datetime) -> list[int]:
    """Inside ``system_context``: tenants with customer messages pending since before ``before``."""
    return list(
        Message.objects.filter(analysis_state="pending", created_at__lte=before)
        .order_by()
        .values_list("tenant_id", flat=True)
        .distinct()
    )


def analysis_settings_get(*, tenant: Tenant) -> AnalysisSettings | None:
    return AnalysisSettings.objects.for_tenant(tenant).first()


def triage_rule_list(*, tenant: Tenant) -> list[TriageRule]:
    return list(TriageRule.objects.for_tenant(tenant).order_by("position", "id"))


def triage_rule_get(*, tenant: Tenant, rule_id: int) -> TriageRule | None:
    return TriageRule.objects.for_tenant(tenant).filter(pk=rule_id).first()


def message_get(*, tenant: Tenant, public_id) -> Message | None:
    return (
        Message.objects.for_tenant(tenant)
        .filter(public_id=public_id)
        .select_related("ticket")
        .first()
    )


def message_analysis_get(*, tenant: Tenant, message: Message) -> MessageAnalysis | None:
    return MessageAnalysis.objects.for_tenant(tenant).filter(message=message).first()


def message_corrections(*, tenant: Tenant, message: Message) -> dict[str, AnalysisCorrection]:
    return {
        c.field: c
        for c in AnalysisCorrection.objects.for_tenant(tenant)
        .filter(message=message)
        .select_related("corrected_by")
    }


def analysis_reason(analysis: MessageAnalysis | None) -> str:
    """The hover text of a message's marker: label, score and the phrases behind each signal."""
    if analysis is None:
        return "Not analysed yet."
    if not analysis.is_supported_language:
        return f"Language {analysis.language or 'unknown'}: stored, not scored."
    parts = [f"{analysis.sentiment_label.capitalize()} ({analysis.sentiment_score:+.2f})"]
    for name in SIGNALS:
        signal = (analysis.signals or {}).get(name) or {}
        if signal.get("score", 0) >= PRESENT_AT:
            phrases = ", ".join(f"“{p}”" for p in signal.get("phrases", [])[:3])
            label = name.replace("_", " ")
            parts.append(f"{label}: {phrases}" if phrases else label)
    return "; ".join(parts)


def customer_sentiment_trend(*, tenant: Tenant, customer: Customer, days: int = 90) -> dict:
    """The customer's sentiment over time: one point per day (mean score), latest, first, worst.

    Read from ``MessageAnalysis`` (indexed on tenant, customer, message time), which every
    analysed message updates; there is no copy on the customer row to keep in sync. An agent's
    sentiment correction wins over the prediction, as on the ticket's mood (the corrected label's
    score, ``CORRECTED_SCORE``). Two queries.
    """
    from tickets.services.analysis import CORRECTED_SCORE

    since = timezone.now() - timedelta(days=days)
    rows = list(
        MessageAnalysis.objects.for_tenant(tenant)
        .filter(customer=customer, is_supported_language=True, message_created_at__gte=since)
        .exclude(sentiment_label="")
        .order_by("message_created_at", "id")
        .values_list("message_id", "message_created_at", "sentiment_label", "sentiment_score")
    )
    corrected = dict(
        AnalysisCorrection.objects.for_tenant(tenant)
        .filter(field="sentiment", message_id__in=[row[0] for row in rows])
        .values_list("message_id", "corrected")
    )
    scored = []
    for message_id, at, label, score in rows:
        correction = corrected.get(message_id)
        if correction and correction != label and correction in CORRECTED_SCORE:
            score = CORRECTED_SCORE[correction]
        scored.append((timezone.localtime(at).date(), score))
    per_day: dict = {}
    for day, score in scored:
        per_day.setdefault(day, []).append(score)
    ordered = [score for _day, score in scored]
    return {
        "points": [
            {"day": day.isoformat(), "score": round(sum(v) / len(v), 3), "messages": len(v)}
            for day, v in sorted(per_day.items())
        ],
        "latest": ordered[-1] if ordered else None,
        "first": ordered[0] if ordered else None,
        "trend": round(ordered[-1] - ordered[0], 4) if len(ordered) > 1 else 0.0,
        "worst": min(ordered) if ordered else None,
    }


def corrections_labelled_set(*, tenant: Tenant) -> QuerySet[AnalysisCorrection]:
    """Corrections with their message, for the labelled-set export (oldest first)."""
    return (
        AnalysisCorrection.objects.for_tenant(tenant)
        .filter(message__author_type=AuthorType.CUSTOMER)
        .select_related("message")
        .order_by("created_at", "id")
    )


def analysis_evaluation(*, tenant: Tenant, model_version: str = "") -> dict:
    """Precision and recall of the analyser against the tenant's corrections.

    A message counts as reviewed for a field once anyone corrected that field on it; for every
    other analysed message the prediction is taken as accepted (agents see the marker on every
    message). The figures are therefore an upper bound that tightens as agents correct more;
    ``corrections`` says how many judgements stand behind them.
    """
    analyses = MessageAnalysis.objects.for_tenant(tenant).filter(is_supported_language=True)
    if model_version:
        analyses = analyses.filter(model_version=model_version)
    rows = list(
        analyses.exclude(sentiment_label="").values("message_id", "sentiment_label", "signals")
    )
    corrections = {
        (c["message_id"], c["field"]): c["corrected"]
        for c in AnalysisCorrection.objects.for_tenant(tenant)
        .filter(message_id__in=[r["message_id"] for r in rows])
        .values("message_id", "field", "corrected")
    }

    def pr(pairs: list[tuple[bool, bool]]) -> dict:
        tp = sum(1 for p, t in pairs if p and t)
        fp = sum(1 for p, t in pairs if p and not t)
        fn = sum(1 for p, t in pairs if t and not p)
        return {
            "precision": tp / (tp + fp) if tp + fp else None,
            "recall": tp / (tp + fn) if tp + fn else None,
            "support": tp + fn,
        }

    report: dict = {"messages": len(rows), "sentiment": {}, "signals": {}}
    truth = [corrections.get((r["message_id"], "sentiment"), r["sentiment_label"]) for r in rows]
    for label in ("negative", "neutral", "positive"):
        report["sentiment"][label] = pr(
            [(r["sentiment_label"] == label, t == label) for r, t in zip(rows, truth, strict=True)]
        )
    report["sentiment"]["accuracy"] = (
        sum(1 for r, t in zip(rows, truth, strict=True) if r["sentiment_label"] == t) / len(rows)
        if rows
        else None
    )
    report["sentiment"]["corrections"] = sum(1 for (_m, f) in corrections if f == "sentiment")
    for name in SIGNALS:
        pairs = []
        for r in rows:
            predicted = (r["signals"] or {}).get(name, {}).get("score", 0) >= PRESENT_AT
            corrected = corrections.get((r["message_id"], name))
            actual = predicted if corrected is None else corrected == "present"
            pairs.append((predicted, actual))
        report["signals"][name] = {
            **pr(pairs),
            "corrections": sum(1 for (_m, f) in corrections if f == name),
        }
    return report
