"""Formatting for the metrics pages: figures, changes, sparklines and drill-down links.

``{% load metrics_tags %}``; the survey form's tags are in ``empathy_tags`` (another module).
"""

from __future__ import annotations

from urllib.parse import urlencode

from django import template
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from empathy_metrics.selectors.dashboard import format_minutes

register = template.Library()

NO_DATA = "No data"


@register.filter
def metric(value, unit: str = "count") -> str:
    """A figure for people: ``61.3%``, ``+12``, ``3 h 5 min``, ``1,204`` or ``No data``."""
    if value is None or value == "":
        return NO_DATA
    if unit == "pct":
        return f"{value:.1f}%"
    if unit == "nps":
        rounded = round(value)
        return f"+{rounded}" if rounded > 0 else f"{rounded}".replace("-", "\u2212")
    if unit == "minutes":
        return format_minutes(value)
    if unit == "hours":
        return format_minutes(round(value * 60))
    if isinstance(value, float):
        return f"{value:,.1f}"
    return f"{value:,}"


@register.filter
def metric_change(change: dict | None, unit: str = "count") -> str:
    """The change against the previous period: ``+3.2 pts``, ``-12 min`` (with a minus sign), ``+40``."""
    if not change:
        return ""
    delta = change["delta"]
    sign = "+" if delta > 0 else ("\u2212" if delta < 0 else "\u00b1")
    size = abs(delta)
    if unit == "pct":
        text = f"{size:.1f} pts"
    elif unit == "nps":
        text = f"{round(size)} pts"
    elif unit == "minutes":
        text = format_minutes(round(size))
    else:
        text = f"{round(size):,}"
    return f"{sign}{text}"


@register.filter
def change_words(change: dict | None, unit: str = "count") -> str:
    """Words for screen readers: "up 3.2 pts from 58.1%"."""
    if not change:
        return "no earlier figure to compare with"
    direction = {"up": "up", "down": "down", "flat": "unchanged"}[change["direction"]]
    amount = metric_change(change, unit).lstrip("+\u2212\u00b1")
    previous = metric(change["previous"], unit)
    if change["direction"] == "flat":
        return f"unchanged from {previous}"
    return f"{direction} {amount} from {previous}"


@register.simple_tag
def sparkline(series, label: str = "") -> str:
    """An inline SVG line of ``series`` (gaps where a value is None); empty without 2 points."""
    points = [(i, v) for i, v in enumerate(series or []) if v is not None]
    if len(points) < 2:
        return mark_safe(
            '<svg class="sparkline sparkline--empty" viewBox="0 0 120 32" aria-hidden="true"></svg>'
        )
    width, height, pad = 120.0, 32.0, 3.0
    count = max(len(series) - 1, 1)
    low = min(v for _i, v in points)
    high = max(v for _i, v in points)
    span = (high - low) or 1.0
    segments, current = [], []
    for index, value in enumerate(series):
        if value is None:
            if current:
                segments.append(current)
            current = []
            continue
        x = pad + (width - 2 * pad) * index / count
        y = height - pad - (height - 2 * pad) * (value - low) / span
        current.append(f"{x:.1f},{y:.1f}")
    if current:
        segments.append(current)
    lines = "".join(
        format_html('<polyline points="{}"/>', " ".join(segment))
        if len(segment) > 1
        else format_html('<circle cx="{}" cy="{}" r="1.5"/>', *segment[0].split(","))
        for segment in segments
    )
    last_x, last_y = current[-1].split(",") if current else segments[-1][-1].split(",")
    return format_html(
        '<svg class="sparkline" viewBox="0 0 120 32" role="img" aria-label="{}">{}'
        '<circle class="sparkline-end" cx="{}" cy="{}" r="2.5"/></svg>',
        label or "Trend",
        mark_safe(lines),  # noqa: S308 (built with format_html above)
        last_x,
        last_y,
    )


@register.simple_tag(takes_context=True)
def drill_url(context, metric_name: str, **overrides) -> str:
    """The drill-down page of ``metric_name`` for the current period and filters.

    ``overrides``: ``start``/``end`` (a bucket), a dimension (``channel=email``, or
    ``dim="channel" value="email"``), ``signal`` or ``keyword``. None removes a parameter.
    """
    base_query = dict(context.get("query_params") or {})
    dim, dim_value = overrides.pop("dim", None), overrides.pop("value", None)
    if dim in ("channel", "group", "agent", "tag"):
        overrides[dim] = dim_value
    start, end = overrides.pop("start", None), overrides.pop("end", None)
    if start and end:
        base_query.update({"period": "custom", "from": str(start), "to": str(end)})
    base_query["metric"] = metric_name
    for key, value in overrides.items():
        if value is None:
            base_query.pop(key, None)
        else:
            base_query[key] = str(value)
    tenant = context["current_tenant"]
    url = reverse("metrics:drill", kwargs={"tenant_slug": tenant.slug})
    return f"{url}?{urlencode(base_query)}"


@register.simple_tag(takes_context=True)
def export_url(context, table: str, **extra) -> str:
    query = dict(context.get("query_params") or {})
    query["table"] = table
    query.update({k: str(v) for k, v in extra.items() if v is not None})
    tenant = context["current_tenant"]
    return f"{reverse('metrics:export', kwargs={'tenant_slug': tenant.slug})}?{urlencode(query)}"


@register.simple_tag(takes_context=True)
def page_url(context, **changes) -> str:
    """The current page with some query parameters changed (None removes one)."""
    query = dict(context.get("query_params") or {})
    for key, value in changes.items():
        if value is None or value == "":
            query.pop(key, None)
        else:
            query[key] = str(value)
    return "?" + urlencode(query)


@register.filter
def get_item(mapping, key):
    if mapping is None:
        return None
    return mapping.get(key)


@register.filter
def excerpt(text: str, length: int = 180) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= length else text[: length - 1].rstrip() + "\u2026"


@register.filter
def slice_at(values, index: int):
    """``values[index]`` (None when out of range): for per-bucket series in tables."""
    try:
        return values[int(index)]
    except (IndexError, TypeError, ValueError):
        return None
