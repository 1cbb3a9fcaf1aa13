"""The sidebar navigation of the staff pages: sections by role, the current page marked."""

from __future__ import annotations

import re

import pytest

from helpdesk.tenancy.navigation import NavEntry, register
from helpdesk.tenancy.policy import Perm, Role


def _sidebar(html: str) -> tuple[list[str], list[str]]:
    """The section headings and the labels of the entries marked as the current page."""
    nav = html[
        html.index('<nav class="nav"') : html.index("</nav>", html.index('<nav class="nav"'))
    ]
    headings = re.findall(r'<div class="nav-heading"[^>]*>([^<]+)</div>', nav)
    current = re.findall(r'aria-current="page">.*?<span>([^<]+)</span>', nav)
    return headings, current


def test_an_admin_sees_work_insight_and_admin_in_that_order(client, admin_user):
    client.force_login(admin_user)
    headings, current = _sidebar(client.get("/t/acme/queue/").content.decode())
    assert headings == ["Work", "Insight", "Admin"]
    assert current == ["Queue"]


def test_an_agent_sees_no_admin_section_and_no_admin_pages(client, agent):
    client.force_login(agent)
    html = client.get("/t/acme/queue/").content.decode()
    headings, _current = _sidebar(html)
    assert "Admin" not in headings and "Work" in headings
    assert "/t/acme/members/" not in html and "/t/acme/api-keys/" not in html


@pytest.mark.parametrize("role", [Role.MANAGER, Role.ADMIN])
def test_the_entry_of_the_page_is_the_current_one(client, tenant, member_factory, role):
    client.force_login(member_factory(tenant, role, f"{role}@acme.test"))
    _headings, current = _sidebar(client.get("/t/acme/dashboards/").content.decode())
    assert current == ["Dashboard"]


def test_a_page_outside_the_helpdesks_offers_the_list_of_them(client, agent):
    client.force_login(agent)
    response = client.get("/t/no-such-helpdesk/queue/")
    assert response.status_code == 404
    html = response.content.decode()
    headings, _current = _sidebar(html)
    assert headings == []
    assert 'href="/home/"><svg' in html and "<span>Your helpdesks</span>" in html


def test_an_entry_in_an_unknown_section_is_refused():
    with pytest.raises(ValueError, match="no navigation section"):
        register(NavEntry("Nowhere", "tickets:queue", Perm.TICKETS_VIEW, "elsewhere"))
