"""The analyser alone (plain Python, no Django): signals, negation, intensity, stripping,
language, keyphrases and sentiment on crafted sentences. The model is loaded once per session."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tickets.analysis import get_analyser
from tickets.analysis.keywords import extract_keywords, normalise_words
from tickets.analysis.language import detect_language
from tickets.analysis.lexicon import SupportVader
from tickets.analysis.signals import detect_signals, present
from tickets.analysis.text import prepare, strip_quoted


@pytest.fixture(scope="session")
def analyser():
    return get_analyser()


def signals_of(text: str) -> list[str]:
    return present(detect_signals(prepare(text)))


@pytest.mark.parametrize(
    ("text", "signal"),
    [
        ("This is ridiculous, I've been on hold for 45 minutes.", "frustration"),
        ("I'm so fed up with this app.", "frustration"),
        ("Thanks for nothing.", "frustration"),
        ("I'm confused, the two plans look the same.", "confusion"),
        ("The setup guide is unclear.", "confusion"),
        ("I don't know what to click to get the export.", "confusion"),
        ("Where do I change my billing address?", "confusion"),
        ("Please fix this asap, customers are waiting.", "urgency"),
        ("URGENT: the checkout is down", "urgency"),
        ("Still waiting for an answer, our deadline is Friday.", "urgency"),
        ("Our site has been down for 3 hours, there is an outage.", "urgency"),
        ("Thank you so much, that fixed it!", "gratitude"),
        ("Really appreciate your help, you saved my day.", "gratitude"),
        ("Please cancel my subscription.", "churn_risk"),
        ("We're switching to a competitor next month.", "churn_risk"),
        ("I'll be taking my business elsewhere.", "churn_risk"),
    ],
)
def test_each_signal_is_found_in_crafted_sentences(text, signal):
    assert signal in signals_of(text)


@pytest.mark.parametrize(
    ("text", "signal"),
    [
        ("The instructions were not unclear at all.", "confusion"),
        ("Not confused anymore, all good.", "confusion"),
        ("No rush on this one, it's not urgent.", "urgency"),
        ("I'm not cancelling, I just want to pause my plan.", "churn_risk"),
        ("We are not planning to switch providers.", "churn_risk"),
        ("Thanks in advance for looking into it.", "gratitude"),
        ("I'm not angry about it.", "frustration"),
    ],
)
def test_negation_removes_the_signal(text, signal):
    assert signal not in signals_of(text)


def test_intensity_raises_the_score():
    plain = detect_signals(prepare("I am confused."))["confusion"]["score"]
    loud = detect_signals(prepare("I am VERY confused!!!"))["confusion"]["score"]
    assert 0.5 <= plain < loud
    caps = detect_signals(prepare("WHERE IS MY ORDER? I have waited for weeks"))["frustration"]
    assert caps["score"] >= 0.5 and "(capitals)" in caps["phrases"]


def test_signals_carry_their_phrases():
    signals = detect_signals(prepare("Please help ASAP, this is ridiculous"))
    assert "asap" in signals["urgency"]["phrases"]
    assert "ridiculous" in signals["frustration"]["phrases"]
    assert signals["gratitude"] == {"score": 0.0, "phrases": []}


def test_quoted_history_and_signature_are_not_analysed():
    text = (
        "Hi,\n\nThe export is still broken.\n\nBest regards,\nPaul Becker\nFinance | Northwind\n\n"
        "On Mon, 3 Mar 2026 at 10:12, Support <support@example.com> wrote:\n"
        "> Thanks so much for your patience, this is urgent for us too!\n"
    )
    stripped = strip_quoted(text)
    assert stripped == "Hi,\n\nThe export is still broken."
    assert signals_of(text) == []
    outlook = "It works now.\n\n-----Original Message-----\nFrom: Dana\nPlease cancel asap"
    assert strip_quoted(outlook) == "It works now."
    assert strip_quoted("Fixed, thanks!\n--\nSent from my iPhone") == "Fixed, thanks!"


def test_a_closing_thanks_on_a_request_is_politeness_not_gratitude():
    assert "gratitude" not in signals_of("Could you send me the invoice? Thanks, Maria")
    assert "gratitude" in signals_of("Thanks, Maria, the invoice arrived.")


def test_support_lexicon_fixes_vaders_blind_spots():
    vader = SupportVader()
    assert vader.scores("URGENT: I'm locked out, please help")["compound"] < 0
    assert vader.scores("the app keeps crashing")["compound"] < 0
    assert vader.scores("it does not work")["compound"] < 0
    assert vader.scores("Thanks, that fixed it!")["compound"] > 0


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("The app keeps crashing when I open the reports tab.", "en"),
        ("ok", "en"),
        ("order 55812", "en"),
        ("Bonjour, je n'arrive pas à me connecter à mon compte depuis hier.", "fr"),
        ("Hallo, meine Bestellung ist immer noch nicht angekommen.", "de"),
        ("Hola, necesito cambiar la dirección de envío de mi pedido, por favor.", "es"),
        ("Здравствуйте, не могу войти в личный кабинет.", "ru"),
        ("注文した商品がまだ届いていません。", "ja"),
    ],
)
def test_language_detection(text, language):
    assert detect_language(text) == language


def test_keyphrases_are_normalised_so_a_theme_counts_once():
    first = extract_keywords("There is a hidden fee on the checkout page.")
    second = extract_keywords("Hidden fees at checkout pages!!! Again.")
    assert "hidden fee" in first and "hidden fee" in second
    assert "checkout page" in first and "checkout page" in second
    assert extract_keywords("The password resets never arrive")[0] == "password reset"


def test_tenant_stop_words_and_product_words_are_left_out():
    text = "The Acme Cloud dashboard keeps crashing on the billing page."
    plain = extract_keywords(text)
    assert any("acme" in phrase for phrase in plain)
    filtered = extract_keywords(text, extra_stop_words=normalise_words(["Acme", "cloud"]))
    assert not any("acme" in phrase or "cloud" in phrase for phrase in filtered)
    assert "billing page" in filtered


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("URGENT: I'm locked out, please help", "negative"),
        ("The app keeps crashing every time I open it.", "negative"),
        ("It does not work.", "negative"),
        ("I was charged twice for the same order and nobody answers.", "negative"),
        ("Thank you so much, the replacement arrived and works perfectly!", "positive"),
        ("Could you send me a copy of last month's invoice?", "neutral"),
        ("What are your opening hours on Saturday?", "neutral"),
    ],
)
def test_sentiment_on_clear_cases(analyser, text, label):
    result = analyser.analyse(text)
    assert result.sentiment_label == label
    assert -1.0 <= result.sentiment_score <= 1.0
    assert (result.sentiment_score < 0) == (label == "negative") or label == "neutral"


def test_non_english_is_marked_not_scored(analyser):
    result = analyser.analyse("Bonjour, je n'arrive pas à me connecter à mon compte.")
    assert (result.language, result.is_supported_language) == ("fr", False)
    assert result.sentiment_label == "" and result.sentiment_score is None
    assert result.signals == {} and result.keywords == []


def test_a_message_of_only_quoted_history_is_neutral(analyser):
    result = analyser.analyse("> On Monday you wrote: this is ridiculous")
    assert (result.sentiment_label, result.sentiment_score, result.signals) == ("neutral", 0.0, {})


def test_batch_gives_the_same_results_as_one_by_one(analyser):
    texts = [
        "The app keeps crashing.",
        "Thanks a lot, all good now!",
        "Where do I find the invoices? I'm confused.",
        "Hallo, meine Bestellung ist immer noch nicht angekommen.",
        "",
    ]
    batch = analyser.analyse_batch(texts)
    single = [analyser.analyse(t) for t in texts]
    for one, other in zip(batch, single, strict=True):
        assert one.sentiment_label == other.sentiment_label
        assert one.signals == other.signals
        assert one.keywords == other.keywords
        if one.sentiment_score is not None:
            assert abs(one.sentiment_score - other.sentiment_score) < 1e-3


def test_analysis_is_deterministic_and_loaded_once(analyser):
    assert get_analyser() is analyser
    text = "Still waiting for my refund!!! This is ridiculous."
    assert analyser.analyse(text).as_dict() == analyser.analyse(text).as_dict()
    assert analyser.model_version


def test_the_analyser_package_imports_no_django():
    package = Path(__file__).resolve().parents[2] / "tickets" / "analysis"
    for path in package.glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            for name in names:
                assert not name.startswith(("django", "helpdesk", "rest_framework")), path.name
                if name.startswith("tickets"):
                    assert name.startswith("tickets.analysis"), (path.name, name)
