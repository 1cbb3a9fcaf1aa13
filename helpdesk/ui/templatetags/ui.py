"""Template tags shared by every page.

``{% icon name cls %}`` draws one of the product's icons. It replaces a template with a chain of
50 ``{% elif %}`` branches, which was the largest single cost of rendering a page (the queue draws
about 20 icons): a dictionary lookup and one string format instead.
"""

from __future__ import annotations

from django import template
from django.utils.html import conditional_escape
from django.utils.safestring import SafeString, mark_safe

from helpdesk.ui.icons import FALLBACK, ICONS

register = template.Library()

SVG = (
    '<svg class="icon {cls}" viewBox="0 0 24 24" aria-hidden="true" focusable="false">{paths}</svg>'
)


@register.simple_tag
def icon(name: str, cls: str = "") -> SafeString:
    paths = ICONS.get(str(name), FALLBACK)
    return mark_safe(SVG.format(cls=conditional_escape(cls or ""), paths=paths))  # noqa: S308
