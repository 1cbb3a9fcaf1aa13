"""The tenant's triage rules, authored by its admins: create, edit, reorder, delete.

A rule is data (``TriageRule.conditions`` / ``TriageRule.actions``) that the analysis pipeline
(``tickets.services.analysis.triage_rules_apply``) matches against each analysed message; it fires
at most once per (rule, message), keyed on the rule's id in the ``triage.applied`` event. Here the
rule is validated and stored, and every change is written to the tenant's audit log.

conditions: {"sentiment": "negative", "signals": ["urgency"], "min_score": 0.7}
    at least a sentiment or one signal; ``min_score`` (0.5-1, default 0.5 = "present") only
    with signals.
actions: {"set_priority": "high", "add_tags": ["needs-clarity"], "notify": "managers"}
    at least one; tags are normalised like ticket tags.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Max

from helpdesk.accounts.models import User
from helpdesk.tenancy.audit import audit_record
from helpdesk.tenancy.context import tenant_context
from helpdesk.tenancy.models import Tenant
from tickets.models import SIGNALS, Priority, TriageRule
from tickets.services.analysis import PRESENT_AT, SENTIMENT_LABELS
from tickets.services.fields import normalise_tag

NAME_MAX_LENGTH = 100
MAX_TAGS = 10
NOTIFY_CHOICES = ("managers", "admins")
CONDITION_KEYS = ("sentiment", "signals", "min_score")
ACTION_KEYS = ("set_priority", "add_tags", "notify")
POSITION_STEP = 10
_UNSET = object()


def _clean_name(name) -> str:
    name = " ".join(str(name or "").split())
    if not name:
        raise ValidationError({"name": "Give the rule a name."})
    if len(name) > NAME_MAX_LENGTH:
        raise ValidationError({"name": f"At most {NAME_MAX_LENGTH} characters."})
    return name


def triage_conditions_clean(conditions) -> dict:
    """The canonical form of a rule's conditions, or a ValidationError keyed by field."""
    if not isinstance(conditions, dict):
        raise ValidationError({"conditions": "Conditions are an object."})
    unknown = sorted(set(conditions) - set(CONDITION_KEYS))
    if unknown:
        raise ValidationError(
            {
                "conditions": f"Unknown condition {', '.join(unknown)}; use {', '.join(CONDITION_KEYS)}."
            }
        )
    errors: dict[str, str] = {}
    cleaned: dict = {}
    sentiment = conditions.get("sentiment") or ""
    if sentiment:
        if sentiment not in SENTIMENT_LABELS:
            errors["sentiment"] = f"Choose one of {', '.join(SENTIMENT_LABELS)}."
        else:
            cleaned["sentiment"] = sentiment
    signals = conditions.get("signals") or []
    if isinstance(signals, str) or not isinstance(signals, list | tuple):
        errors["signals"] = "Signals are a list."
    else:
        bad = [str(s) for s in signals if s not in SIGNALS]
        if bad:
            errors["signals"] = (
                f"Unknown signal {', '.join(bad)}; choose from {', '.join(SIGNALS)}."
            )
        elif signals:
            cleaned["signals"] = [name for name in SIGNALS if name in signals]
    min_score = conditions.get("min_score")
    if min_score not in (None, ""):
        try:
            value = float(min_score)
        except (TypeError, ValueError, OverflowError):
            value = None
        if value is None or isinstance(min_score, bool) or not PRESENT_AT <= value <= 1:
            errors["min_score"] = f"The minimum signal score is a number from {PRESENT_AT} to 1."
        elif not cleaned.get("signals") and "signals" not in errors:
            errors["min_score"] = "A minimum score needs at least one signal."
        elif value != PRESENT_AT:
            cleaned["min_score"] = round(value, 2)
    if errors:
        raise ValidationError(errors)
    if not cleaned.get("sentiment") and not cleaned.get("signals"):
        raise ValidationError(
            {"conditions": "A rule needs a condition: a sentiment, a signal, or both."}
        )
    return cleaned


def triage_actions_clean(actions) -> dict:
    """The canonical form of a rule's actions, or a ValidationError keyed by field."""
    if not isinstance(actions, dict):
        raise ValidationError({"actions": "Actions are an object."})
    unknown = sorted(set(actions) - set(ACTION_KEYS))
    if unknown:
        raise ValidationError(
            {"actions": f"Unknown action {', '.join(unknown)}; use {', '.join(ACTION_KEYS)}."}
        )
    errors: dict[str, str] = {}
    cleaned: dict = {}
    priority = actions.get("set_priority") or ""
    if priority:
        if priority not in (Priority.NORMAL, Priority.HIGH, Priority.URGENT):
            errors["set_priority"] = "Raise the priority to normal, high or urgent."
        else:
            cleaned["set_priority"] = str(priority)
    tags = actions.get("add_tags") or []
    if isinstance(tags, str) or not isinstance(tags, list | tuple):
        errors["add_tags"] = "Tags are a list."
    else:
        names: list[str] = []
        try:
            for raw in tags:
                if not isinstance(raw, str):
                    raise ValidationError({"tags": "Tags are text."})
                if raw.strip():
                    tag = normalise_tag(raw)
                    if not tag.isprintable():
                        raise ValidationError({"tags": "Tags are printable text."})
                    if tag not in names:
                        names.append(tag)
        except ValidationError as exc:
            errors["add_tags"] = " ".join(exc.messages)
        else:
            if len(names) > MAX_TAGS:
                errors["add_tags"] = f"At most {MAX_TAGS} tags."
            elif names:
                cleaned["add_tags"] = names
    notify = actions.get("notify") or ""
    if notify:
        if notify not in NOTIFY_CHOICES:
            errors["notify"] = f"Notify one of {', '.join(NOTIFY_CHOICES)}."
        else:
            cleaned["notify"] = notify
    if errors:
        raise ValidationError(errors)
    if not cleaned:
        raise ValidationError(
            {"actions": "A rule needs an action: raise the priority, add a tag or notify."}
        )
    return cleaned


def _snapshot(rule: TriageRule) -> dict:
    return {
        "name": rule.name,
        "conditions": rule.conditions,
        "actions": rule.actions,
        "is_active": rule.is_active,
        "position": rule.position,
    }


def _audit(*, tenant: Tenant, actor: User | None, rule: TriageRule, change: str, **data) -> None:
    audit_record(
        tenant=tenant,
        action="settings_changed",
        actor=actor,
        target=f"Triage rule “{rule.name}”",
        data={"setting": "triage_rule", "rule": rule.pk, "change": change, **data},
    )


def _name_taken(*, tenant: Tenant, name: str, exclude: int | None = None) -> bool:
    queryset = TriageRule.objects.for_tenant(tenant).filter(name__iexact=name)
    if exclude is not None:
        queryset = queryset.exclude(pk=exclude)
    return queryset.exists()


_NAME_TAKEN = "Another rule has this name."


def triage_rule_create(
    *,
    tenant: Tenant,
    actor: User | None,
    name: str,
    conditions: dict,
    actions: dict,
    is_active: bool = True,
) -> TriageRule:
    """A new rule, placed last. It applies to messages analysed from now on."""
    name = _clean_name(name)
    conditions = triage_conditions_clean(conditions)
    actions = triage_actions_clean(actions)
    with tenant_context(tenant):
        if _name_taken(tenant=tenant, name=name):
            raise ValidationError({"name": _NAME_TAKEN})
        last = TriageRule.objects.for_tenant(tenant).aggregate(last=Max("position"))["last"] or 0
        try:
            with transaction.atomic():
                rule = TriageRule.objects.create(
                    tenant=tenant,
                    name=name,
                    conditions=conditions,
                    actions=actions,
                    is_active=bool(is_active),
                    position=last + POSITION_STEP,
                )
        except IntegrityError as exc:  # the same name saved at the same moment
            raise ValidationError({"name": _NAME_TAKEN}) from exc
        _audit(tenant=tenant, actor=actor, rule=rule, change="created", after=_snapshot(rule))
    return rule


def triage_rule_update(
    *,
    tenant: Tenant,
    actor: User | None,
    rule: TriageRule,
    name=_UNSET,
    conditions=_UNSET,
    actions=_UNSET,
    is_active=_UNSET,
    position=_UNSET,
) -> TriageRule:
    """Change what was given (a partial update). Editing a rule keeps its id, so a message it has
    already acted on is not acted on again."""
    changes: dict = {}
    if name is not _UNSET:
        changes["name"] = _clean_name(name)
    if conditions is not _UNSET:
        changes["conditions"] = triage_conditions_clean(conditions)
    if actions is not _UNSET:
        changes["actions"] = triage_actions_clean(actions)
    if is_active is not _UNSET:
        changes["is_active"] = bool(is_active)
    if position is not _UNSET:
        if isinstance(position, bool) or not isinstance(position, int) or position < 0:
            raise ValidationError({"position": "The position is a whole number, 0 or more."})
        changes["position"] = position
    with tenant_context(tenant):
        if rule.tenant_id != tenant.pk:
            raise ValidationError("Rule belongs to another tenant.")
        rule = TriageRule.objects.for_tenant(tenant).select_for_update().get(pk=rule.pk)
        if "name" in changes and _name_taken(tenant=tenant, name=changes["name"], exclude=rule.pk):
            raise ValidationError({"name": _NAME_TAKEN})
        before = _snapshot(rule)
        changed = [field for field, value in changes.items() if before[field] != value]
        if not changed:
            return rule
        for field in changed:
            setattr(rule, field, changes[field])
        try:
            with transaction.atomic():
                rule.save(update_fields=changed)
        except IntegrityError as exc:
            raise ValidationError({"name": _NAME_TAKEN}) from exc
        _audit(
            tenant=tenant,
            actor=actor,
            rule=rule,
            change="updated",
            before={f: before[f] for f in changed},
            after={f: getattr(rule, f) for f in changed},
        )
    return rule


def triage_rule_delete(*, tenant: Tenant, actor: User | None, rule: TriageRule) -> None:
    """Delete a rule. What it already did stays on the tickets' timelines."""
    with tenant_context(tenant):
        if rule.tenant_id != tenant.pk:
            raise ValidationError("Rule belongs to another tenant.")
        rule = TriageRule.objects.for_tenant(tenant).get(pk=rule.pk)
        _audit(tenant=tenant, actor=actor, rule=rule, change="deleted", before=_snapshot(rule))
        rule.delete()


def triage_rules_reorder(*, tenant: Tenant, actor: User | None, rule_ids: list[int]) -> list[int]:
    """Put the tenant's rules in this order (every rule id once); positions become 10, 20, ...
    Rules run in this order, so an earlier rule's priority or tag is there for a later one."""
    with tenant_context(tenant):
        rules = list(
            TriageRule.objects.for_tenant(tenant).select_for_update().order_by("position", "id")
        )
        by_id = {rule.pk: rule for rule in rules}
        if len(rule_ids) != len(set(rule_ids)) or set(rule_ids) != set(by_id):
            raise ValidationError({"order": "List every one of the tenant's rule ids once."})
        before = [rule.pk for rule in rules]
        updated = []
        for index, rule_id in enumerate(rule_ids, start=1):
            rule = by_id[rule_id]
            if rule.position != index * POSITION_STEP:
                rule.position = index * POSITION_STEP
                updated.append(rule)
        if updated:
            TriageRule.objects.for_tenant(tenant).bulk_update(updated, ["position"])
        if before != list(rule_ids):
            audit_record(
                tenant=tenant,
                action="settings_changed",
                actor=actor,
                target="Triage rules order",
                data={
                    "setting": "triage_rule",
                    "change": "reordered",
                    "before": before,
                    "after": list(rule_ids),
                },
            )
    return list(rule_ids)


def triage_rule_move(
    *, tenant: Tenant, actor: User | None, rule: TriageRule, direction: str
) -> list[int]:
    """Move one rule a step ``up`` (runs earlier) or ``down``. At an end it stays put."""
    if direction not in ("up", "down"):
        raise ValidationError({"direction": "Move a rule up or down."})
    with tenant_context(tenant):
        if rule.tenant_id != tenant.pk:
            raise ValidationError("Rule belongs to another tenant.")
        order = list(
            TriageRule.objects.for_tenant(tenant)
            .order_by("position", "id")
            .values_list("pk", flat=True)
        )
        if rule.pk not in order:
            raise ValidationError("Rule not found.")
        index = order.index(rule.pk)
        other = index - 1 if direction == "up" else index + 1
        if 0 <= other < len(order):
            order[index], order[other] = order[other], order[index]
        return triage_rules_reorder(tenant=tenant, actor=actor, rule_ids=order)
