"""Template tags shared by every page.

``{% icon name cls %}`` draws one of the product's icons. It replaces a template with a chain of
50 ``{% elif %}`` branches, which was the largest single cost of rendering a page (the queue draws
about 20 icons): a dictionary lookup and one string format instead.
"""

from __future__ import annotations

from django import template
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.text import capfirst

from helpdesk.ui.icons import FALLBACK, ICONS

register = template.Library()

SVG = (
    '<svg class="icon {cls}" viewBox="0 0 24 24" aria-hidden="true" focusable="false">{paths}</svg>'
)


@register.simple_tag
def icon(name: str, cls: str = "") -> SafeString:
    paths = ICONS.get(str(name), FALLBACK)
    return mark_safe(SVG.format(cls=conditional_escape(cls or ""), paths=paths))  # noqa: S308


AVATAR = '<span class="avatar{size}" data-tone="{tone}" aria-hidden="true">{initials}</span>\n'


@register.simple_tag
def avatar(name, size: str = "") -> SafeString:
    """Initials in a circle: ``{% avatar user.full_name|default:user.email "sm" %}``.

    A tag rather than an include: pages draw one per message and per person in a list."""
    name = "" if name is None else str(name)
    parts = name.split()
    initials = (parts[0][0] + (parts[-1][0] if len(parts) > 1 else "")) if parts else "?"
    return format_html(
        AVATAR,
        size=f" avatar--{size}" if size else "",
        tone=str(len(name))[-1:],
        initials=initials,
    )


@register.simple_tag
def member_options(members, selected="", me=None) -> SafeString:
    """The ``<option>`` of each member (value: the user id; label: the name, else the email),
    ``selected`` where the user id matches ``selected``, and " (me)" after the user ``me``.

    Replaces a template loop of three nodes per member on the workspace pages' assignee menus."""
    selected = "" if selected is None else str(selected)
    options = []
    for m in members:
        user_id = str(m.user_id)
        label = m.user.full_name or m.user.email
        if me is not None and m.user_id == me:
            label = f"{label} (me)"
        options.append(
            format_html(
                '<option value="{}"{}>{}</option>',
                user_id,
                mark_safe(" selected") if user_id == selected else "",
                label,
            )
        )
    return mark_safe("".join(options))  # noqa: S308 - each part built by format_html


# The workspace's status and priority badges, as tags: the same markup as
# tickets/includes/status_badge.html and priority.html, which lists and timelines include once per
# row. The fallback labels are those of the ticket statuses (no import of the tickets app).
STATUS_LABELS = {
    "new": "New",
    "open": "Open",
    "pending": "Pending",
    "on_hold": "On hold",
    "solved": "Solved",
    "closed": "Closed",
}
PRIORITY_URGENT = '<span class="priority-urgent-mark" aria-hidden="true">!</span>'
PRIORITY_BARS = '<span class="priority-bars" aria-hidden="true"><i></i><i></i><i></i></span>'


@register.simple_tag
def status_badge(status, label="", size="") -> SafeString:
    """``{% status_badge t.status t.get_status_display "lg" %}``."""
    status = "" if status is None else status
    text = label or STATUS_LABELS.get(status) or status or "—"
    return format_html(
        '<span class="badge badge--status-{}{}"><span class="badge-dot" aria-hidden="true">'
        "</span>{}</span>\n",
        status,
        f" badge--{size}" if size else "",
        text,
    )


@register.simple_tag
def priority_badge(priority, label="") -> SafeString:
    """``{% priority_badge t.priority t.get_priority_display %}``."""
    priority = "" if priority is None else priority
    return format_html(
        '<span class="priority priority--{}">{}<span>{}</span></span>\n',
        priority,
        mark_safe(PRIORITY_URGENT if priority == "urgent" else PRIORITY_BARS),  # noqa: S308
        capfirst(label or priority),
    )
