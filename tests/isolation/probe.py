"""The cross-tenant probe: discovers every tenant route and attacks it with another tenant's ids.

Routes are discovered from the URL conf, never listed by hand, so a new route is probed the day it
is added. For each route the attacker (a member of tenant A) requests:
- the route under A's own slug with B's object ids, references and tokens;
- the route under B's slug (where the attacker is not a member).
Any 2xx/3xx-to-content answer, any response body containing B's sentinel text, or any change to
B's data is a leak. Customer-facing pages (views marked ``customer_facing``, such as the portal's
sign-in) are public by design: they may answer, but never with B's data and never changing it.
"""

from __future__ import annotations

import hashlib
import itertools
import re
from collections.abc import Iterable
from dataclasses import dataclass

from django.urls import URLPattern, URLResolver, get_resolver

from helpdesk.tenancy.context import system_context

PARAM = re.compile(r"<(?:(?P<converter>[^>:]+):)?(?P<name>\w+)>")
ALLOWED_STATUSES = {401, 403, 404, 405}
# What a public, customer-facing page may answer anyone (its form, a form error, a redirect).
PUBLIC_STATUSES = {200, 302, 400}


@dataclass(frozen=True)
class Route:
    pattern: str
    params: tuple[str, ...]
    customer_facing: bool = False


@dataclass(frozen=True)
class Leak:
    method: str
    url: str
    status: int
    reason: str


def discover_tenant_routes(urlconf: str | None = None) -> list[Route]:
    routes: list[Route] = []

    def walk(patterns: Iterable, prefix: str) -> None:
        for entry in patterns:
            text = prefix + str(entry.pattern)
            if isinstance(entry, URLResolver):
                walk(entry.url_patterns, text)
            elif isinstance(entry, URLPattern) and "<slug:tenant_slug>" in text:
                params = tuple(m["name"] for m in PARAM.finditer(text))
                public = bool(getattr(entry.callback, "customer_facing", False))
                routes.append(Route(text, params, public))

    walk(get_resolver(urlconf).url_patterns, "/")
    return routes


def fill(route: Route, values: dict[str, str]) -> str:
    return PARAM.sub(lambda m: str(values[m["name"]]), route.pattern)


def snapshot_of_tenant(tenant) -> str:
    """A digest of every row of ``tenant`` in every tenant-owned table."""
    from tests.isolation.test_model_invariants import tenant_owned_models

    digest = hashlib.sha256()
    with system_context(reason="isolation probe snapshot"):
        for model in sorted(tenant_owned_models(), key=lambda m: m._meta.label):
            rows = model._default_manager.filter(tenant_id=tenant.pk).order_by("pk").values()
            digest.update(repr(list(rows)).encode())
    return digest.hexdigest()


def probe(
    client,
    *,
    own_slug: str,
    foreign_slug: str,
    foreign_ids: dict[str, list[str]],
    sentinel: str,
    routes: list[Route],
) -> list[Leak]:
    leaks: list[Leak] = []
    for route in routes:
        object_params = [p for p in route.params if p != "tenant_slug"]
        choices = [foreign_ids.get(name, []) for name in object_params]
        if any(not values for values in choices):
            raise AssertionError(
                f"probe has no foreign value for {route.pattern}: add one to foreign_ids"
            )
        combos = list(itertools.product(*choices)) or [()]
        for slug in (own_slug, foreign_slug):
            if slug == own_slug and not object_params:
                continue  # the attacker's own tenant without foreign ids: nothing to probe
            for combo in combos:
                url = fill(
                    route, {"tenant_slug": slug, **dict(zip(object_params, combo, strict=True))}
                )
                for method in ("get", "post", "patch", "delete"):
                    response = getattr(client, method)(url)
                    body = response.content.decode(errors="replace")
                    if sentinel in body:
                        leaks.append(
                            Leak(method.upper(), url, response.status_code, "sentinel in body")
                        )
                    elif response.status_code not in ALLOWED_STATUSES and not (
                        route.customer_facing and response.status_code in PUBLIC_STATUSES
                    ):
                        leaks.append(Leak(method.upper(), url, response.status_code, "not refused"))
    return leaks


def discover_ws_routes() -> list[Route]:
    """Every WebSocket route the ASGI application serves (``helpdesk.realtime.routing``)."""
    from helpdesk.realtime.routing import websocket_urlpatterns

    routes: list[Route] = []

    def walk(patterns: Iterable, prefix: str) -> None:
        for entry in patterns:
            text = prefix + str(entry.pattern)
            if isinstance(entry, URLResolver):
                walk(entry.url_patterns, text)
            else:
                params = tuple(m["name"] for m in PARAM.finditer(text))
                routes.append(Route(text, params))

    walk(websocket_urlpatterns, "/")
    return routes
