"""The status page in the customer's language: LocaleMiddleware picks it from Accept-Language
(English, the site's language, unless the browser prefers one we ship: German, locale/de). The
page, its stage labels and "what happens next", the strings of its script, the polling answer
and the CSAT block are translated; the socket's shared text stays in the site's language whatever
the language of the request that made the change."""

from __future__ import annotations

import json
import re

import pytest
from django.core.cache import cache
from django.utils import translation

from helpdesk.realtime.groups import status_group
from tests.factories.tickets import GroupFactory
from tests.tickets.test_status_services import link_of, make_ticket
from tickets import services
from tickets.rendering import _fragment_key, queue_row_keys
from tickets.services import status as status_service
from tickets.services.escalation import ticket_escalate_and_route
from tickets.services.status import STAGES, status_stage_label, status_watch_key

GERMAN = "de-DE,de;q=0.9,en;q=0.5"


@pytest.fixture(autouse=True)
def _site_language_afterwards():
    """LocaleMiddleware leaves the request's language active in the thread (the test's): the
    next test starts in the site's language again."""
    yield
    translation.deactivate()


def page_url(ticket) -> str:
    return f"/status/{link_of(ticket).token}/"


def strings_of(html: str) -> dict:
    block = re.search(r'<script id="status-strings" type="application/json">(.*?)</script>', html)
    return json.loads(block.group(1))


def test_a_german_browser_gets_the_status_page_in_german(client, tenant, agent):
    agent.full_name = "Dana Scully"
    agent.save(update_fields=["full_name"])
    ticket = make_ticket(tenant)
    services.ticket_assign(tenant=tenant, actor=agent, ticket=ticket, assignee=agent)
    response = client.get(page_url(ticket), HTTP_ACCEPT_LANGUAGE=GERMAN)
    assert response.status_code == 200
    assert response["Content-Language"] == "de"
    html = response.content.decode()
    assert 'lang="de"' in html
    for label in ("Eingegangen", "Zugewiesen an Dana", "In Bearbeitung", "Gelöst"):
        assert f'<span class="status-step-label">{label}</span>' in html
    assert "Dana hat Ihre Anfrage übernommen." in html  # the headline
    assert "Wir antworten so bald wie möglich." in html  # what happens next (no SLA policy)
    assert "Neuigkeiten und Nachrichten" in html and "Schreiben Sie uns" in html
    assert "Dana kümmert sich jetzt um Ihre Anfrage." in html  # the timeline
    assert "Received" not in html and "In progress" not in html
    strings = strings_of(html)
    assert strings["connecting"] == "Verbindung wird aufgebaut…"
    assert strings["newReply"] == "Neue Antwort von %(name)s"


def test_english_stays_the_default(client, tenant):
    ticket = make_ticket(tenant)
    for header in ({}, {"HTTP_ACCEPT_LANGUAGE": "fr-FR,fr;q=0.9"}, {"HTTP_ACCEPT_LANGUAGE": "en"}):
        response = client.get(page_url(ticket), **header)
        html = response.content.decode()
        assert response["Content-Language"] == "en"
        assert '<span class="status-step-label">Received</span>' in html
        assert "We have received your request." in html
        assert strings_of(html)["connecting"] == "Connecting…"
        assert "Eingegangen" not in html


def test_every_stage_label_has_its_german_words():
    with translation.override("de"):
        german = {key: status_stage_label(key, "Dana") for key in STAGES}
    english = {key: status_stage_label(key, "Dana") for key in STAGES}
    assert german == {
        "received": "Eingegangen",
        "assigned": "Zugewiesen an Dana",
        "in_progress": "In Bearbeitung",
        "specialist": "Bei einer Fachkraft",
        "waiting": "Wartet auf Sie",
        "resolved": "Gelöst",
    }
    assert english["received"] == "Received"  # nothing stays switched on afterwards


def test_the_polling_answer_and_the_csat_block_follow_the_browser_too(client, tenant, agent):
    ticket = make_ticket(tenant)
    specialists = GroupFactory(tenant=tenant, name="Billing tier 2", tier=2)
    ticket_escalate_and_route(
        tenant=tenant, actor=agent, ticket=ticket, group=specialists, reason="Chargeback"
    )
    polled = client.get(
        page_url(ticket) + "events/",
        HTTP_ACCEPT="application/json",
        HTTP_ACCEPT_LANGUAGE=GERMAN,
    ).json()
    assert polled["summary"]["headline"] == "Eine Fachkraft sieht sich das an."
    assert "Eine Fachkraft sieht sich Ihre Anfrage jetzt an." in [
        e["text"] for e in polled["events"]
    ]
    services.ticket_set_status(tenant=tenant, actor=agent, ticket=ticket, status="solved")
    html = client.get(page_url(ticket), HTTP_ACCEPT_LANGUAGE=GERMAN).content.decode()
    assert 'data-csat-state="ask"' in html
    assert "Feedback senden" in html and "sehr zufrieden" in html
    assert "Ihre Anfrage ist gelöst." in html


@pytest.fixture
def sent(monkeypatch):
    """What the publisher hands to the channel layer (the process boundary)."""
    messages: list[dict] = []
    monkeypatch.setattr(status_service, "group_send_now", lambda group, m: messages.append(m))
    return messages


def test_the_shared_socket_text_stays_in_the_sites_language(
    tenant, agent, sent, django_capture_on_commit_callbacks
):
    """An agent whose browser asks for German changes the ticket: every open page gets the same
    text, in English; a German page fetches its own words (static/js/status_page.js)."""
    ticket = make_ticket(tenant)
    cache.set(status_watch_key(status_group(tenant.pk, ticket.pk)), 1, 60)  # a page is open
    with translation.override("de"), django_capture_on_commit_callbacks(execute=True):
        services.ticket_set_status(tenant=tenant, actor=agent, ticket=ticket, status="pending")
    (message,) = sent
    assert [e["text"] for e in message["events"]] == ["We are waiting for your reply."]
    assert message["summary"]["headline"] == "We are waiting for your reply."
    assert "Wir warten" not in message["text"]


def test_the_page_tells_its_script_the_language_of_the_socket(client, tenant):
    ticket = make_ticket(tenant)
    html = client.get(page_url(ticket), HTTP_ACCEPT_LANGUAGE=GERMAN).content.decode()
    config = json.loads(
        re.search(r'<script id="status-config" type="application/json">(.*?)</script>', html).group(
            1
        )
    )
    assert config["liveLanguage"] == "en"
    assert re.search(r'<div class="status-page" lang="de"[^>]*data-status-page>', html)


def test_cached_html_is_kept_apart_per_language(tenant, agent):
    """Cached rows and fragments carry the active language in their key (Django's month names in
    dates): should staff pages follow the browser's language one day, a row rendered in German
    is never served to an English page."""
    ticket = make_ticket(tenant)
    keys = {}
    for language in ("en", "de"):
        with translation.override(language):
            keys[language] = (
                queue_row_keys(tenant=tenant, user=agent, tickets=[ticket], can_work=True),
                _fragment_key("ticket-timeline", tenant, ticket, 1),
            )
    assert keys["en"][0] != keys["de"][0] and keys["en"][1] != keys["de"][1]


def test_staff_pages_stay_in_the_sites_language_whatever_the_browser_asks(client):
    """The staff interface has no German catalogue: a German browser gets the sign-in page's
    errors in English, not Django's own German ones inside an English page."""
    response = client.post("/accounts/login/", {}, HTTP_ACCEPT_LANGUAGE=GERMAN)
    html = response.content.decode()
    assert response.status_code == 200 and "This field is required." in html
    assert "Dieses Feld" not in html and response.get("Content-Language") != "de"
